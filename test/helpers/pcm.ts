import { existsSync, readFileSync } from 'node:fs';
import { parseWav } from '../../src/audio/wav.js';

/**
 * The 16-bit PCM samples of a WAV file after its 44-byte header, read even while the switch is still
 * writing it (the header's sizes are not final then); empty when there is no file yet.
 */
export function readPcm(file: string): Float32Array {
  if (!existsSync(file)) return new Float32Array(0);
  const buf = readFileSync(file);
  const data = buf.subarray(44, 44 + ((buf.length - 44) & ~1));
  const out = new Float32Array(data.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = data.readInt16LE(i * 2) / 32768;
  return out;
}

/** The first channel of a WAV file. */
export function loadWav(file: string): Float32Array {
  return parseWav(readFileSync(file)).channels[0]!;
}

/** Root mean square of x[from, to). */
export function rms(x: Float32Array, from = 0, to = x.length): number {
  let s = 0;
  const a = Math.max(0, from);
  const b = Math.min(x.length, to);
  for (let i = a; i < b; i++) s += x[i]! * x[i]!;
  return b > a ? Math.sqrt(s / (b - a)) : 0;
}
