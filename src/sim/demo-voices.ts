import { resampleTo8k } from '../audio/resample.js';
import { parseWav } from '../audio/wav.js';

export type DemoMood = 'calm' | 'frustrated' | 'abusive';

interface VoiceScript {
  /** espeak-ng prosody: words per minute, pitch (0-99), amplitude (0-200). */
  speed: number;
  pitch: number;
  amplitude: number;
  lines: string[];
}

const SCRIPTS: Record<DemoMood, VoiceScript> = {
  calm: {
    speed: 150,
    pitch: 40,
    amplitude: 70,
    lines: [
      'Hello, I would like to check the status of my order, please.',
      'It was placed last Tuesday, and the reference is four five two one.',
      'Thank you, I can wait a moment while you look it up.',
    ],
  },
  frustrated: {
    speed: 185,
    pitch: 65,
    amplitude: 130,
    lines: [
      'I have called three times about this already and nobody has fixed it.',
      'Why does it take so long? I have been waiting for more than an hour!',
      'I need this sorted out today, not next week.',
    ],
  },
  abusive: {
    speed: 215,
    pitch: 85,
    amplitude: 190,
    lines: [
      'This is absolutely ridiculous! You people are completely useless!',
      'Stop reading me your script and listen to me! Are you deaf?',
      'I am sick of this! Get me someone who can actually do their job!',
    ],
  },
};

/**
 * A demo caller's speech, synthesised in-process by espeak-ng (WebAssembly, loaded only in demo mode),
 * as 8 kHz audio: calm, frustrated or abusive prosody and wording. Synthetic speech is not acted
 * emotion; for a realistic demo point `ser-ari run --audio` at recorded speech (see README).
 */
export async function synthesizeCaller(mood: DemoMood): Promise<Float32Array> {
  const { default: ESpeakNg } = await import('espeak-ng');
  const s = SCRIPTS[mood];
  // One run for the whole script: espeak pauses between sentences itself.
  const espeak = await ESpeakNg({
    arguments: ['-w', 'out.wav', '-v', 'en-us', '-s', String(s.speed), '-p', String(s.pitch), '-a', String(s.amplitude), s.lines.join(' ')],
  });
  const wav = parseWav(espeak.FS.readFile('out.wav'));
  const speech = resampleTo8k(wav.channels[0]!, wav.sampleRate);
  // half a second of silence before the script starts again (the demo loops it)
  const out = new Float32Array(speech.length + 4000);
  // espeak's loudest setting clips, and the resampler's filter overshoots a clipped edge a little
  for (let i = 0; i < speech.length; i++) out[i] = Math.max(-1, Math.min(1, speech[i]!));
  return out;
}
