/**
 * Writes dialplan/sounds/ser-abuse-warning.wav, the warning ser-ari plays before an automated hang-up: espeak-ng
 * (WebAssembly, from npm) at 8 kHz, 16-bit mono PCM, which Asterisk plays without transcoding on a
 * G.711 call. Run with `npx tsx scripts/make-warning-prompt.ts`. A recorded human voice is better:
 * see README "The warning prompt".
 */
import { writeFileSync } from 'node:fs';
import { encodeWav, parseWav } from '../src/audio/wav.js';
import { resampleTo8k } from '../src/audio/resample.js';

const TEXT =
  'Please note: this call is monitored. Abusive language is not accepted. ' +
  'If it continues, this call will be ended.';

const { default: ESpeakNg } = await import('espeak-ng');
const espeak = await ESpeakNg({ arguments: ['-w', 'out.wav', '-v', 'en-us', '-s', '150', '-p', '45', '-a', '110', TEXT] });
const wav = parseWav(espeak.FS.readFile('out.wav'));
const speech = resampleTo8k(wav.channels[0]!, wav.sampleRate);
const out = new Float32Array(speech.length + 2400); // 0.3 s of silence after it
for (let i = 0; i < speech.length; i++) out[i] = Math.max(-1, Math.min(1, speech[i]!));
writeFileSync(new URL('../dialplan/sounds/ser-abuse-warning.wav', import.meta.url), encodeWav([out], 8000, 'pcm16'));
process.stdout.write(`dialplan/sounds/ser-abuse-warning.wav: ${(out.length / 8000).toFixed(2)} s\n`);
