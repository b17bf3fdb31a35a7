/**
 * ITU-T G.711 mu-law and A-law. Decoding is one table lookup per sample (value / 32768, so the float
 * matches what the model was trained on); encoding is used by the simulator and tests.
 */

function ulawDecode(code: number): number {
  const u = ~code & 0xff;
  let t = ((u & 0x0f) << 3) + 0x84;
  t <<= (u & 0x70) >> 4;
  return u & 0x80 ? 0x84 - t : t - 0x84;
}

function alawDecode(code: number): number {
  const a = code ^ 0x55;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else if (seg === 1) t += 0x108;
  else t = (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}

export const ULAW_TO_FLOAT: Float32Array = Float32Array.from({ length: 256 }, (_, c) => ulawDecode(c) / 32768);
export const ALAW_TO_FLOAT: Float32Array = Float32Array.from({ length: 256 }, (_, c) => alawDecode(c) / 32768);

export function decodeUlaw(src: Uint8Array, dst: Float32Array, dstOffset = 0): void {
  for (let i = 0; i < src.length; i++) dst[dstOffset + i] = ULAW_TO_FLOAT[src[i]!]!;
}

export function decodeAlaw(src: Uint8Array, dst: Float32Array, dstOffset = 0): void {
  for (let i = 0; i < src.length; i++) dst[dstOffset + i] = ALAW_TO_FLOAT[src[i]!]!;
}

const BIAS = 0x84;
const CLIP = 32635;

function toPcm16(s: number): number {
  const v = Math.round(s * 32768);
  return v > 32767 ? 32767 : v < -32768 ? -32768 : v;
}

/** Sample in [-1, 1] to a mu-law code (the classic Sun g711.c linear2ulaw). */
export function encodeUlawSample(s: number): number {
  let pcm = toPcm16(s);
  const mask = pcm < 0 ? 0x7f : 0xff;
  if (pcm < 0) pcm = -pcm;
  if (pcm > CLIP) pcm = CLIP;
  pcm += BIAS;
  let seg = 0;
  for (let v = pcm >> 7; v > 1 && seg < 7; v >>= 1) seg++;
  return ((seg << 4) | ((pcm >> (seg + 3)) & 0x0f)) ^ mask;
}

/** Sample in [-1, 1] to an A-law code (Sun g711.c linear2alaw). */
export function encodeAlawSample(s: number): number {
  let pcm = toPcm16(s) >> 3;
  let mask: number;
  if (pcm >= 0) mask = 0xd5;
  else {
    mask = 0x55;
    pcm = -pcm - 1;
  }
  let seg = 0;
  for (let v = pcm >> 5; v > 0 && seg < 8; v >>= 1) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  const aval = (seg << 4) | (seg < 2 ? (pcm >> 1) & 0x0f : (pcm >> seg) & 0x0f);
  return aval ^ mask;
}

export function encodeUlaw(src: Float32Array): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = encodeUlawSample(src[i]!);
  return out;
}

export function encodeAlaw(src: Float32Array): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = encodeAlawSample(src[i]!);
  return out;
}
