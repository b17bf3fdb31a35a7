import { describe, expect, it } from 'vitest';
import {
  ALAW_TO_FLOAT,
  ULAW_TO_FLOAT,
  decodeAlaw,
  decodeUlaw,
  encodeAlaw,
  encodeAlawSample,
  encodeUlaw,
  encodeUlawSample,
} from '../../src/audio/g711.js';

// Reference decoders in the segment/mantissa form of the G.711 tables, independent of the bit tricks
// (Sun g711.c) in src/audio/g711.ts. Results in 16-bit linear units.
function refUlaw(code: number): number {
  const c = ~code & 0xff; // mu-law codes are transmitted inverted
  const sign = c & 0x80 ? -1 : 1;
  const exponent = (c >> 4) & 0x07;
  const mantissa = c & 0x0f;
  return sign * (((2 * mantissa + 33) << exponent) - 33) * 4;
}

function refAlaw(code: number): number {
  const c = code ^ 0x55; // A-law inverts the even bits
  const sign = c & 0x80 ? 1 : -1;
  const exponent = (c >> 4) & 0x07;
  const mantissa = c & 0x0f;
  const magnitude = exponent === 0 ? 2 * mantissa + 1 : (2 * mantissa + 33) << (exponent - 1);
  return sign * magnitude * 8;
}

const CODES = Array.from({ length: 256 }, (_, c) => c);

/** The decoded levels, ascending and without duplicates. */
function levels(table: Float32Array): number[] {
  return [...new Set(Array.from(table))].sort((a, b) => a - b);
}

describe('G.711 decode tables', () => {
  it('decode all 256 mu-law codes to the reference value / 32768', () => {
    for (const c of CODES) expect(ULAW_TO_FLOAT[c]! * 32768 + 0, `code 0x${c.toString(16)}`).toBe(refUlaw(c) + 0); // +0: -0 == 0
  });

  it('decode all 256 A-law codes to the reference value / 32768', () => {
    for (const c of CODES) expect(ALAW_TO_FLOAT[c]! * 32768, `code 0x${c.toString(16)}`).toBe(refAlaw(c));
  });

  it('have the well-known anchor values', () => {
    expect(ULAW_TO_FLOAT[0xff]).toBe(0);
    expect(ULAW_TO_FLOAT[0x7f]).toBe(0);
    expect(ULAW_TO_FLOAT[0x00]! * 32768).toBe(-32124);
    expect(ULAW_TO_FLOAT[0x80]! * 32768).toBe(32124);
    expect(ALAW_TO_FLOAT[0xd5]! * 32768).toBe(8);
    expect(ALAW_TO_FLOAT[0x55]! * 32768).toBe(-8);
    expect(ALAW_TO_FLOAT[0xaa]! * 32768).toBe(32256);
    expect(ALAW_TO_FLOAT[0x2a]! * 32768).toBe(-32256);
  });

  it('are symmetric: flipping the sign bit negates the value', () => {
    for (let c = 0; c < 128; c++) {
      expect(ULAW_TO_FLOAT[c]! + ULAW_TO_FLOAT[c | 0x80]!).toBe(0);
      expect(ALAW_TO_FLOAT[c]! + ALAW_TO_FLOAT[c | 0x80]!).toBe(0);
    }
  });
});

describe('G.711 decodeUlaw / decodeAlaw', () => {
  it('write exactly src.length samples into dst from dstOffset, leaving the rest untouched', () => {
    const dst = new Float32Array(7).fill(9);
    decodeUlaw(Uint8Array.from([0x00, 0x80, 0xff]), dst, 1);
    decodeAlaw(Uint8Array.from([0xd5, 0x55]), dst, 5);
    expect(Array.from(dst).map((x) => (x === 9 ? 9 : Math.round(x * 32768)))).toEqual([9, -32124, 32124, 0, 9, 8, -8]);
  });

  it('decode a payload view at an odd byte offset (as inside an RTP packet)', () => {
    const packet = new Uint8Array(13);
    for (let i = 0; i < 13; i++) packet[i] = (i * 37) & 0xff;
    const payload = packet.subarray(1, 13);
    const dst = new Float32Array(12);
    decodeUlaw(payload, dst);
    expect(Array.from(dst)).toEqual(Array.from(payload, (c) => ULAW_TO_FLOAT[c]!));
  });
});

describe('G.711 encoders', () => {
  it('invert the decoders for every code (mu-law 0x7f, negative zero, encodes as 0xff)', () => {
    for (const c of CODES) {
      if (c !== 0x7f) expect(encodeUlawSample(ULAW_TO_FLOAT[c]!), `mu-law 0x${c.toString(16)}`).toBe(c);
      expect(encodeAlawSample(ALAW_TO_FLOAT[c]!), `A-law 0x${c.toString(16)}`).toBe(c);
    }
    expect(encodeUlawSample(0)).toBe(0xff);
    expect(encodeUlawSample(-0)).toBe(0xff);
  });

  it('quantise every input to one of the two levels around it', () => {
    for (const [name, encode, table] of [
      ['mu-law', encodeUlawSample, ULAW_TO_FLOAT],
      ['A-law', encodeAlawSample, ALAW_TO_FLOAT],
    ] as const) {
      const lv = levels(table);
      for (let i = -32768; i < 32768; i += 7) {
        const s = i / 32768;
        const q = table[encode(s)]!;
        const above = lv.find((l) => l >= s) ?? lv[lv.length - 1]!;
        const below = [...lv].reverse().find((l) => l <= s) ?? lv[0]!;
        expect(q === above || q === below, `${name} ${i}: got ${q * 32768}, levels ${below * 32768}..${above * 32768}`).toBe(true);
      }
    }
  });

  it('are monotonic and clip beyond full scale', () => {
    for (const [encode, table] of [
      [encodeUlawSample, ULAW_TO_FLOAT],
      [encodeAlawSample, ALAW_TO_FLOAT],
    ] as const) {
      let prev = -Infinity;
      for (let s = -1.1; s <= 1.1; s += 1 / 8192) {
        const v = table[encode(s)]!;
        expect(v).toBeGreaterThanOrEqual(prev);
        prev = v;
      }
      expect(encode(5)).toBe(encode(1));
      expect(encode(-5)).toBe(encode(-1));
      expect(table[encode(1)]).toBe(Math.max(...table));
      expect(table[encode(-1)]).toBe(Math.min(...table));
    }
  });

  it('encode whole arrays sample by sample', () => {
    const x = Float32Array.from({ length: 200 }, (_, i) => Math.sin(i / 7) * 0.8);
    expect(Array.from(encodeUlaw(x))).toEqual(Array.from(x, encodeUlawSample));
    expect(Array.from(encodeAlaw(x))).toEqual(Array.from(x, encodeAlawSample));
  });

  it('keep a speech-level sine within G.711 quantisation noise (SNR > 30 dB)', () => {
    const x = Float32Array.from({ length: 8000 }, (_, i) => 0.1 * Math.sin((2 * Math.PI * 440 * i) / 8000));
    for (const [encode, table] of [
      [encodeUlaw, ULAW_TO_FLOAT],
      [encodeAlaw, ALAW_TO_FLOAT],
    ] as const) {
      const y = encode(x);
      let sig = 0;
      let err = 0;
      for (let i = 0; i < x.length; i++) {
        sig += x[i]! ** 2;
        err += (table[y[i]!]! - x[i]!) ** 2;
      }
      expect(10 * Math.log10(sig / err)).toBeGreaterThan(30);
    }
  });
});
