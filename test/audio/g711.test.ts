import { describe, expect, it } from 'vitest';
import { ALAW_TO_FLOAT, ULAW_TO_FLOAT, decodeAlaw, decodeUlaw, encodeAlawSample, encodeUlawSample } from '../../src/audio/g711.js';

// Reference decoders written from the G.711 tables (segment/quantisation form), independent of the
// bit tricks in src/audio/g711.ts.
function refUlaw(code: number): number {
  const c = ~code & 0xff;
  const sign = c & 0x80 ? -1 : 1;
  const exponent = (c >> 4) & 0x07;
  const mantissa = c & 0x0f;
  return sign * (((2 * mantissa + 33) << exponent) - 33) * 4;
}

function refAlaw(code: number): number {
  const c = code ^ 0x55;
  const sign = c & 0x80 ? 1 : -1;
  const exponent = (c >> 4) & 0x07;
  const mantissa = c & 0x0f;
  const magnitude = exponent === 0 ? 2 * mantissa + 1 : (2 * mantissa + 33) << (exponent - 1);
  return sign * magnitude * 8;
}

describe('G.711', () => {
  it('decodes all 256 mu-law codes as the reference does', () => {
    for (let c = 0; c < 256; c++) expect(ULAW_TO_FLOAT[c]! * 32768 + 0, `code ${c}`).toBe(refUlaw(c) + 0); // +0: 0x7f and 0xff are both zero
  });

  it('decodes all 256 A-law codes as the reference does', () => {
    for (let c = 0; c < 256; c++) expect(ALAW_TO_FLOAT[c]! * 32768, `code ${c}`).toBe(refAlaw(c));
  });

  it('has the well-known anchor values', () => {
    expect(ULAW_TO_FLOAT[0xff]).toBe(0);
    expect(ULAW_TO_FLOAT[0x00]! * 32768).toBe(-32124);
    expect(ULAW_TO_FLOAT[0x80]! * 32768).toBe(32124);
    expect(ALAW_TO_FLOAT[0xd5]! * 32768).toBe(8);
    expect(ALAW_TO_FLOAT[0x55]! * 32768).toBe(-8);
  });

  it('round-trips every code through encode(decode(code))', () => {
    for (let c = 0; c < 256; c++) {
      if (c !== 0x7f) expect(encodeUlawSample(ULAW_TO_FLOAT[c]!)).toBe(c); // 0x7f is -0, encodes as +0 (0xff)
      expect(encodeAlawSample(ALAW_TO_FLOAT[c]!)).toBe(c);
    }
    expect(encodeUlawSample(0)).toBe(0xff);
  });

  it('encodes monotonically and clips beyond full scale', () => {
    let prev = -Infinity;
    for (let s = -1; s <= 1; s += 1 / 4096) {
      const v = ULAW_TO_FLOAT[encodeUlawSample(s)]!;
      expect(v).toBeGreaterThanOrEqual(prev);
      prev = v;
    }
    expect(encodeUlawSample(3)).toBe(encodeUlawSample(1));
    expect(encodeAlawSample(-3)).toBe(encodeAlawSample(-1));
  });

  it('decodes into a destination at an offset', () => {
    const dst = new Float32Array(6);
    decodeUlaw(Uint8Array.from([0x00, 0x80]), dst, 1);
    decodeAlaw(Uint8Array.from([0xd5]), dst, 4);
    expect(Array.from(dst).map((x) => Math.round(x * 32768))).toEqual([0, -32124, 32124, 0, 8, 0]);
  });
});
