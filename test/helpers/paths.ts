import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const MODEL = resolve(REPO, 'models/ser-cnn.onnx');
/** CREMA-D is read from beside the repository, never copied into it. */
export const CREMA_D = resolve(REPO, '../shared/data/crema-d-8k');
export const CLIPS = resolve(CREMA_D, 'clips');
export const HAVE_CREMA_D = existsSync(CLIPS);
export const ASTERISK = resolve(REPO, '../shared/asterisk');

import { readFileSync } from 'node:fs';
import { concatenate, loadClips } from '../../src/sim/demo-audio.js';

/** The held-out test actors named in the shipped model's card: voices the model never heard. */
export function testActors(): string[] {
  const card = JSON.parse(readFileSync(MODEL.replace(/\.onnx$/, '.json'), 'utf8')) as { split: { test: string[] } };
  return card.split.test;
}

/**
 * One caller's speech: one `emotion` clip of intensity `level` (XX: unspecified, HI: high; HI exists
 * for one sentence per actor) from each of `count` different test actors, starting at actor number
 * `first`, joined with short pauses. Several voices, so that a test does not hinge on how the model
 * hears one speaker.
 */
export function testActorSpeech(emotion: string, count: number, first = 0, level: 'XX' | 'HI' = 'XX'): Float32Array {
  const actors = testActors();
  const picked = Array.from({ length: count }, (_, i) => actors[(first + i) % actors.length]!).map((actor, i) => {
    const clips = loadClips(CLIPS, new RegExp(`^${actor}_[A-Z]{3}_${emotion}_${level}\\.wav$`));
    if (clips.length === 0) throw new Error(`no ${emotion} clip at level ${level} from actor ${actor}`);
    return clips[(first + i) % Math.min(3, clips.length)]!;
  });
  return concatenate(picked);
}
