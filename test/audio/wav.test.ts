import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALAW_TO_FLOAT, ULAW_TO_FLOAT, encodeAlawSample, encodeUlawSample } from '../../src/audio/g711.js';
import { WavFormatError, encodeWav, parseWav, type WavErrorCode } from '../../src/audio/wav.js';
import { sine } from './signals.js';

/** CREMA-D lives beside the repository (never copied into it): <repo>/../shared/data/crema-d-8k/clips. */
const CLIPS = new URL('../../../shared/data/crema-d-8k/clips/', import.meta.url);

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

function chunk(id: string, body: Uint8Array | number[], declaredSize?: number): Uint8Array {
  const b = Uint8Array.from(body);
  const out = new Uint8Array(8 + b.length + (b.length & 1));
  out.set(ascii(id));
  new DataView(out.buffer).setUint32(4, declaredSize ?? b.length, true);
  out.set(b, 8);
  return out;
}

function riff(...chunks: Uint8Array[]): Uint8Array {
  const total = 12 + chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(total);
  out.set(ascii('RIFF'));
  new DataView(out.buffer).setUint32(4, total - 8, true);
  out.set(ascii('WAVE'), 8);
  let at = 12;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A 16-byte fmt body, or the 40-byte WAVE_FORMAT_EXTENSIBLE one carrying `tag` in its subformat GUID. */
function fmt(tag: number, channels: number, rate: number, bits: number, extensible = false): Uint8Array {
  const body = new Uint8Array(extensible ? 40 : 16);
  const dv = new DataView(body.buffer);
  dv.setUint16(0, extensible ? 0xfffe : tag, true);
  dv.setUint16(2, channels, true);
  dv.setUint32(4, rate, true);
  dv.setUint32(8, (rate * channels * bits) / 8, true);
  dv.setUint16(12, (channels * bits) / 8, true);
  dv.setUint16(14, bits, true);
  if (extensible) {
    dv.setUint16(16, 22, true); // cbSize
    dv.setUint16(18, bits, true); // valid bits
    dv.setUint32(20, channels === 2 ? 3 : 4, true); // channel mask
    dv.setUint16(24, tag, true);
    body.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 26);
  }
  return chunk('fmt ', body);
}

function codeOf(fn: () => unknown): WavErrorCode | 'no error' {
  try {
    fn();
  } catch (err) {
    if (err instanceof WavFormatError) {
      expect(err).toBeInstanceOf(Error);
      expect(err.message.length).toBeGreaterThan(10);
      return err.code;
    }
    throw err;
  }
  return 'no error';
}

describe('encodeWav -> parseWav round trips', () => {
  const x = sine(8000, 440, 801, 0.7); // odd length: odd data size for 8-bit formats, so a pad byte
  x[0] = 1.5; // clipped
  x[1] = -1.5;

  it('pcm16: every sample comes back as round(x * 32768) / 32768, clipped', () => {
    const back = parseWav(encodeWav([x], 8000, 'pcm16'));
    expect(back.format).toBe('pcm16');
    expect(back.sampleRate).toBe(8000);
    expect(back.channels).toHaveLength(1);
    const expected = Array.from(x, (v) => Math.max(-32768, Math.min(32767, Math.round(v * 32768))) / 32768 + 0); // +0: no -0
    expect(Array.from(back.channels[0]!)).toEqual(expected);
  });

  it('ulaw and alaw: every sample comes back as its G.711 code decodes', () => {
    const u = parseWav(encodeWav([x], 8000, 'ulaw'));
    expect(u.format).toBe('ulaw');
    expect(Array.from(u.channels[0]!)).toEqual(Array.from(x, (v) => ULAW_TO_FLOAT[encodeUlawSample(v)]!));
    const a = parseWav(encodeWav([x], 8000, 'alaw'));
    expect(a.format).toBe('alaw');
    expect(Array.from(a.channels[0]!)).toEqual(Array.from(x, (v) => ALAW_TO_FLOAT[encodeAlawSample(v)]!));
  });

  it('writes the canonical 44-byte header with a pad byte after odd data', () => {
    const bytes = encodeWav([x], 8000, 'ulaw');
    expect(bytes.length).toBe(44 + 801 + 1);
    const dv = new DataView(bytes.buffer);
    expect(dv.getUint32(4, true)).toBe(bytes.length - 8);
    expect(dv.getUint32(40, true)).toBe(801);
    expect(dv.getUint32(28, true)).toBe(8000); // byte rate
  });

  it('separates the channels of interleaved stereo and 3-channel files', () => {
    const left = sine(16000, 300, 400, 0.5);
    const right = sine(16000, 1200, 400, 0.25);
    const back = parseWav(encodeWav([left, right], 16000, 'pcm16'));
    expect(back.sampleRate).toBe(16000);
    expect(back.channels).toHaveLength(2);
    back.channels[0]!.forEach((v, i) => expect(v).toBe(Math.round(left[i]! * 32768) / 32768 + 0));
    back.channels[1]!.forEach((v, i) => expect(v).toBe(Math.round(right[i]! * 32768) / 32768 + 0));

    const three = [Float32Array.of(0.5, 0.25), Float32Array.of(-0.5, -0.25), Float32Array.of(0, 0.125)];
    const tri = parseWav(encodeWav(three, 8000, 'alaw'));
    expect(tri.channels.map((c) => Array.from(c))).toEqual(three.map((c) => Array.from(c, (v) => ALAW_TO_FLOAT[encodeAlawSample(v)]!)));
  });

  it('BAD CALL: encodeWav rejects no channels or channels of different lengths', () => {
    expect(() => encodeWav([], 8000, 'pcm16')).toThrow(RangeError);
    expect(() => encodeWav([new Float32Array(3), new Float32Array(4)], 8000, 'pcm16')).toThrow(RangeError);
  });
});

describe('parseWav', () => {
  it('reads unsigned 8-bit PCM', () => {
    const r = parseWav(riff(fmt(1, 1, 11025, 8), chunk('data', [0x80, 0xff, 0x00, 0xc0])));
    expect(r.format).toBe('pcm8');
    expect(r.sampleRate).toBe(11025);
    expect(Array.from(r.channels[0]!)).toEqual([0, 127 / 128, -1, 0.5]);
  });

  it('reads 24-bit PCM, sign-extended', () => {
    const data = [0x00, 0x00, 0x40, 0x00, 0x00, 0xc0, 0xff, 0xff, 0x7f, 0x01, 0x00, 0x80];
    const r = parseWav(riff(fmt(1, 1, 44100, 24), chunk('data', data)));
    expect(r.format).toBe('pcm24');
    expect(Array.from(r.channels[0]!)).toEqual([0.5, -0.5, 8388607 / 8388608, -8388607 / 8388608]);
  });

  it('reads 32-bit PCM and 32-bit float', () => {
    const pcm32 = new Uint8Array(8);
    new DataView(pcm32.buffer).setInt32(0, 0x40000000, true);
    new DataView(pcm32.buffer).setInt32(4, -0x80000000, true);
    const r32 = parseWav(riff(fmt(1, 1, 48000, 32), chunk('data', pcm32)));
    expect(r32.format).toBe('pcm32');
    expect(Array.from(r32.channels[0]!)).toEqual([0.5, -1]);

    const f32 = new Uint8Array(new Float32Array([0.25, -0.75, 1.5]).buffer);
    const rf = parseWav(riff(fmt(3, 1, 48000, 32), chunk('data', f32)));
    expect(rf.format).toBe('float32');
    expect(Array.from(rf.channels[0]!)).toEqual([0.25, -0.75, 1.5]);
  });

  it('reads WAVE_FORMAT_EXTENSIBLE headers by their subformat GUID', () => {
    const pcm = new Uint8Array(8);
    const dv = new DataView(pcm.buffer);
    [0x4000, -0x4000, 0x2000, -0x2000].forEach((v, i) => dv.setInt16(2 * i, v, true));
    const stereo = parseWav(riff(fmt(1, 2, 22050, 16, true), chunk('data', pcm)));
    expect(stereo.format).toBe('pcm16');
    expect(stereo.channels.map((c) => Array.from(c))).toEqual([
      [0.5, 0.25],
      [-0.5, -0.25],
    ]);
    const f32 = new Uint8Array(new Float32Array([0.125]).buffer);
    expect(parseWav(riff(fmt(3, 1, 96000, 32, true), chunk('data', f32))).format).toBe('float32');
    expect(parseWav(riff(fmt(7, 1, 8000, 8, true), chunk('data', [0xff]))).format).toBe('ulaw');
  });

  it('skips LIST, fact and other chunks, including odd-sized ones with their pad byte', () => {
    const list = chunk('LIST', [...ascii('INFO'), 1, 2, 3]); // 7 bytes + pad
    const fact = chunk('fact', [4, 0, 0, 0]);
    const odd = chunk('junk', [9]); // 1 byte + pad
    const r = parseWav(riff(list, fmt(7, 1, 8000, 8), fact, odd, chunk('data', [0x00, 0x80, 0xff])));
    expect(Array.from(r.channels[0]!, (v) => v * 32768)).toEqual([-32124, 32124, 0]);
  });

  it('reads a data chunk that comes before the fmt chunk', () => {
    const r = parseWav(riff(chunk('data', [0xd5, 0x55]), fmt(6, 1, 8000, 8)));
    expect(r.format).toBe('alaw');
    expect(Array.from(r.channels[0]!, (v) => v * 32768)).toEqual([8, -8]);
  });

  it('reads a data chunk cut short by the end of the file up to the last whole sample frame', () => {
    const full = encodeWav([sine(8000, 440, 1000)], 8000, 'pcm16');
    const cut = full.subarray(0, 44 + 601); // 300 samples and one odd byte
    const r = parseWav(cut);
    expect(r.channels[0]!.length).toBe(300);
    expect(r.channels[0]).toEqual(parseWav(full).channels[0]!.subarray(0, 300));

    const stereo = encodeWav([sine(8000, 440, 100), sine(8000, 880, 100)], 8000, 'pcm16');
    const r2 = parseWav(stereo.subarray(0, 44 + 4 * 10 + 2)); // 10 frames and half of the 11th
    expect(r2.channels.map((c) => c.length)).toEqual([10, 10]);
  });

  it('issue 16: says how much of a cut-short data chunk is missing, and nothing for a complete or streamed one', () => {
    const full = encodeWav([sine(8000, 440, 1000)], 8000, 'pcm16');
    expect(parseWav(full.subarray(0, 44 + 601)).truncated).toEqual({ declaredFrames: 1000, frames: 300 });
    expect(parseWav(full).truncated).toBeNull();
    const streamed = riff(fmt(7, 1, 8000, 8), chunk('data', [0x00, 0x80, 0xff, 0x7f], 0xffffffff));
    expect(parseWav(streamed).truncated).toBeNull();
  });

  it('reads a streamed recording whose data size is 0xFFFFFFFF', () => {
    const file = riff(fmt(7, 1, 8000, 8), chunk('data', [0x00, 0x80, 0xff, 0x7f], 0xffffffff));
    expect(parseWav(file.subarray(0, file.length)).channels[0]!.length).toBe(4);
  });

  it('reads from a view at an odd byte offset into a larger buffer (a Node Buffer slice)', () => {
    const wav = encodeWav([Float32Array.of(0.5, -0.25)], 8000, 'pcm16');
    const big = Buffer.alloc(wav.length + 3);
    big.set(wav, 1);
    const r = parseWav(big.subarray(1, 1 + wav.length));
    expect(Array.from(r.channels[0]!)).toEqual([0.5, -0.25]);
  });

  it('EXPECTED FAILURE: names each kind of bad file with a code', () => {
    expect(codeOf(() => parseWav(new Uint8Array(0)))).toBe('WAV_NOT_RIFF');
    expect(codeOf(() => parseWav(new TextEncoder().encode('ID3\u0003 this is an mp3 file, not a wav')))).toBe('WAV_NOT_RIFF');
    expect(codeOf(() => parseWav(Uint8Array.from([...ascii('RIFF'), 0, 0, 0, 0, ...ascii('AVI ')])))).toBe('WAV_NOT_RIFF');
    expect(codeOf(() => parseWav(riff(chunk('LIST', [1, 2, 3, 4]), chunk('data', [1, 2]))))).toBe('WAV_NO_FMT');
    expect(codeOf(() => parseWav(riff(fmt(1, 1, 8000, 16))))).toBe('WAV_NO_DATA');
    expect(codeOf(() => parseWav(riff(fmt(1, 1, 8000, 16), chunk('LIST', [1, 2]))))).toBe('WAV_NO_DATA');
    expect(codeOf(() => parseWav(riff(fmt(2, 1, 8000, 4), chunk('data', [0, 0]))))).toBe('WAV_UNSUPPORTED_FORMAT'); // MS ADPCM
    expect(codeOf(() => parseWav(riff(fmt(1, 1, 8000, 12), chunk('data', [0, 0]))))).toBe('WAV_UNSUPPORTED_FORMAT');
    expect(codeOf(() => parseWav(riff(fmt(1, 0, 8000, 16), chunk('data', [0, 0]))))).toBe('WAV_UNSUPPORTED_FORMAT');
    expect(codeOf(() => parseWav(riff(fmt(1, 1, 0, 16), chunk('data', [0, 0]))))).toBe('WAV_UNSUPPORTED_FORMAT');
    const badGuid = fmt(1, 1, 8000, 16, true);
    badGuid[8 + 30] = 0x11;
    expect(codeOf(() => parseWav(riff(badGuid, chunk('data', [0, 0]))))).toBe('WAV_UNSUPPORTED_FORMAT');
  });

  it('EXPECTED FAILURE: a file cut before its data chunk is WAV_TRUNCATED', () => {
    const whole = encodeWav([sine(8000, 440, 100)], 8000, 'pcm16');
    expect(codeOf(() => parseWav(whole.subarray(0, 30)))).toBe('WAV_TRUNCATED'); // inside fmt
    expect(codeOf(() => parseWav(whole.subarray(0, 40)))).toBe('WAV_TRUNCATED'); // inside the data chunk header
    const longList = riff(chunk('LIST', new Uint8Array(100)), fmt(1, 1, 8000, 16), chunk('data', [0, 0]));
    expect(codeOf(() => parseWav(longList.subarray(0, 60)))).toBe('WAV_TRUNCATED'); // inside LIST
  });

  it('reads a real CREMA-D clip from ../shared as 8 kHz mono mu-law', (ctx) => {
    const file = new URL('1001_DFA_ANG_XX.wav', CLIPS);
    ctx.skip(!existsSync(CLIPS), `CREMA-D clips not found at ${CLIPS.pathname}: skipped (the data set lives beside the repository)`);
    const bytes = readFileSync(file);
    const r = parseWav(bytes);
    expect(r.format).toBe('ulaw');
    expect(r.sampleRate).toBe(8000);
    expect(r.channels).toHaveLength(1);
    const seconds = r.channels[0]!.length / r.sampleRate;
    expect(seconds).toBeGreaterThan(1);
    expect(seconds).toBeLessThan(5);
    expect(r.channels[0]!.length).toBeLessThanOrEqual(bytes.length - 44); // one byte per sample, after the header
    let peak = 0;
    for (const v of r.channels[0]!) peak = Math.max(peak, Math.abs(v));
    expect(peak).toBeGreaterThan(0.05); // an actor shouting, not silence
    expect(peak).toBeLessThanOrEqual(1);
  });
});
