import { existsSync, readdirSync, statSync } from 'node:fs';
import type { Logger } from 'pino';
import { AudioFileError } from '../audio/wav-file.js';
import type { AriSimulator, SimAgentSpec } from '../sim/ari/index.js';
import type { FsSimulator } from '../sim/freeswitch/index.js';
import { CREMA_D_CLIPS, concatenate, loadClips } from '../sim/demo-audio.js';
import { synthesizeCaller, type DemoMood } from '../sim/demo-voices.js';

/** One demo persona: who calls, how they sound, and where the dialplan sends them. */
interface Persona {
  mood: DemoMood;
  number: string;
  name: string;
  /** Stasis(ser,<args>): monitor keeps the caller in the IVR phase, queue,support queues them. */
  stasisArgs: string[];
  /** CREMA-D file names for this persona when the demo reads recorded speech. */
  pattern: RegExp;
  /** The call ends (caller hangs up) after this long, unless the PBX ends it first. */
  seconds: number;
}

// In calling order: the abusive caller gets the one agent; the frustrated caller waits behind it.
const PERSONAS: Persona[] = [
  { mood: 'abusive', number: '+15550102', name: 'Abusive caller', stasisArgs: ['queue', 'support'], pattern: /_ANG_HI\.wav$/, seconds: 240 },
  { mood: 'frustrated', number: '+15550101', name: 'Frustrated caller', stasisArgs: ['queue', 'support'], pattern: /_(SAD|FEA)_(HI|XX)\.wav$/, seconds: 300 },
  { mood: 'calm', number: '+15550100', name: 'Calm caller', stasisArgs: ['monitor'], pattern: /_NEU_XX\.wav$/, seconds: 60 },
];

/** The demo queue's one agent, who answers after six seconds: a second caller has to wait. */
export const DEMO_AGENTS = ['PJSIP/1001'];
/** The demo supervisor's phone (targets.supervisors): listen-in from the console rings it; it answers at once. */
export const DEMO_SUPERVISORS = ['PJSIP/2001'];
export const DEMO_SIM_AGENTS: SimAgentSpec[] = [
  ...DEMO_AGENTS.map((endpoint): SimAgentSpec => ({ endpoint, behaviour: 'answer', answerAfterMs: 6000 })),
  ...DEMO_SUPERVISORS.map((endpoint): SimAgentSpec => ({ endpoint, behaviour: 'answer', answerAfterMs: 500 })),
];

/** Each persona's speech and where it came from, loaded before anything starts. */
export interface DemoVoices {
  /** A folder of WAV files, or "espeak-ng". */
  readonly source: string;
  readonly byMood: ReadonlyMap<DemoMood, Float32Array>;
}

export interface DemoCallers {
  /** Where the callers' speech comes from: a folder of WAV files, or "espeak-ng". */
  readonly source: string;
  stop(): void;
}

/**
 * The demo callers' speech: read from `audioFolder` (WAV files; CREMA-D names pick clips per persona),
 * else from CREMA-D beside the repository when it is there, else synthesised in-process. A folder that
 * is missing, holds no WAV file or a WAV file that cannot be read throws AudioFileError: the demo never
 * falls back to synthetic voices behind the user's back.
 */
export async function loadDemoVoices(audioFolder: string | null): Promise<DemoVoices> {
  if (audioFolder !== null) checkFolder(audioFolder);
  const folder = audioFolder ?? (existsSync(CREMA_D_CLIPS) ? CREMA_D_CLIPS : null);
  const byMood = new Map<DemoMood, Float32Array>();
  const sources = new Set<string>();
  for (const p of PERSONAS) {
    const voice = await voiceOf(p, folder);
    byMood.set(p.mood, voice.audio);
    sources.add(voice.source);
  }
  return { source: [...sources].join(', '), byMood };
}

function checkFolder(folder: string): void {
  const st = statSync(folder, { throwIfNoEntry: false });
  if (!st) throw new AudioFileError(folder, 'no such folder');
  if (!st.isDirectory()) throw new AudioFileError(folder, 'not a folder: name a folder of WAV files');
  if (!readdirSync(folder).some((n) => /\.wav$/i.test(n))) throw new AudioFileError(folder, 'holds no .wav file');
}

/**
 * Demo callers on the simulated Asterisk: an abusive caller who reaches the one agent, a frustrated
 * caller who waits in the queue behind them, and a calm caller in the IVR, each calling again a few
 * seconds after their call ends.
 */
export function startDemoCallers(sim: AriSimulator, logger: Logger, voices: DemoVoices): DemoCallers {
  return runDemoCallers(logger, voices, async (p, audio) => {
    const id = await sim.placeCall({ number: p.number, name: p.name, audio, loop: true, stasisArgs: p.stasisArgs });
    return { id, up: () => !(sim.channel(id)?.hungUp ?? true), hangup: () => void sim.hangup(id) };
  });
}

/**
 * Demo callers on the simulated FreeSWITCH (`run --pbx freeswitch`): the same three voices, each a
 * call that fires the ser::monitor hook (FreeSWITCH has no built-in queue of ours: mod_callcenter and
 * mod_fifo queue there) and hangs up when its speech ends, calling again a few seconds later.
 */
export function startFsDemoCallers(sim: FsSimulator, logger: Logger, voices: DemoVoices): DemoCallers {
  return runDemoCallers(logger, voices, async (p, audio) => {
    const id = sim.placeCall({ number: p.number.replace(/^\+/, ''), name: p.name, audio, hangupAfterAudio: true });
    return { id, up: () => sim.channel(id)?.hungUp === false, hangup: () => void sim.hangup(id) };
  });
}

interface DemoCall {
  id: string;
  up(): boolean;
  hangup(): void;
}

function runDemoCallers(logger: Logger, voices: DemoVoices, dial: (p: Persona, audio: Float32Array) => Promise<DemoCall>): DemoCallers {
  const { source } = voices;
  logger.info({ source, personas: PERSONAS.map((p) => p.mood) }, 'demo callers ready');

  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!stopped) fn();
    }, ms);
    timers.add(t);
  };
  const call = (p: Persona): void => {
    dial(p, voices.byMood.get(p.mood)!)
      .then((c) => {
        logger.info({ callId: c.id, persona: p.mood }, 'demo caller dialled in');
        const check = (): void => {
          if (!c.up()) return later(5000, () => call(p));
          later(1000, check);
        };
        later(1000, check);
        later(p.seconds * 1000, () => c.hangup());
      })
      .catch((err: Error) => {
        logger.warn({ persona: p.mood, err: err.message }, 'demo call failed; retrying');
        later(5000, () => call(p));
      });
  };
  PERSONAS.forEach((p, i) => later(500 + i * 2500, () => call(p)));
  return {
    source,
    stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}

async function voiceOf(p: Persona, folder: string | null): Promise<{ audio: Float32Array; source: string }> {
  if (folder) {
    const byName = loadClips(folder, p.pattern, 12, true);
    const clips = byName.length > 0 ? byName : loadClips(folder, undefined, 12, true);
    if (clips.length > 0) return { audio: concatenate(clips), source: folder };
  }
  return { audio: await synthesizeCaller(p.mood), source: 'espeak-ng' };
}
