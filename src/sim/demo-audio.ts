import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { resampleTo8k } from '../audio/resample.js';
import { readWavFile } from '../audio/wav-file.js';
import { PACKAGE_ROOT } from '../config/paths.js';

/** Where CREMA-D lives in this workplace: beside the repository, never inside it. */
export const CREMA_D_CLIPS = resolve(PACKAGE_ROOT, '../shared/data/crema-d-8k/clips');

export interface DemoClip {
  name: string;
  audio: Float32Array;
}

/**
 * Reads WAV files (first channel, resampled to 8 kHz) from a folder, optionally only names matching
 * `pattern`: the first `limit` in name order, or with `spread` `limit` of them evenly spaced over the
 * whole list (in CREMA-D: several actors rather than one). A file that cannot be read throws
 * AudioFileError.
 */
export function loadClips(folder: string, pattern?: RegExp, limit = Infinity, spread = false): DemoClip[] {
  if (!existsSync(folder)) return [];
  const all = readdirSync(folder)
    .filter((n) => /\.wav$/i.test(n) && (!pattern || pattern.test(n)))
    .sort();
  const names =
    spread && all.length > limit ? Array.from({ length: limit }, (_, i) => all[Math.floor((i * all.length) / limit)]!) : all.slice(0, limit);
  return names.map((name) => {
    const wav = readWavFile(join(folder, name));
    return { name, audio: resampleTo8k(wav.channels[0]!, wav.sampleRate) };
  });
}

/** Clips joined with short pauses, as one caller talking for a while. */
export function concatenate(clips: DemoClip[], pauseSeconds = 0.4): Float32Array {
  const pause = Math.round(pauseSeconds * 8000);
  const total = clips.reduce((n, c) => n + c.audio.length + pause, 0);
  const out = new Float32Array(total);
  let at = 0;
  for (const c of clips) {
    out.set(c.audio, at);
    at += c.audio.length + pause;
  }
  return out;
}
