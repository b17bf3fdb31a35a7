import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeWav, parseWav, WavFormatError } from '../../src/audio/wav.js';
import { CLIPS, HAVE_CREMA_D } from '../helpers/paths.js';

const tone = (n: number, f: number): Float32Array => Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin((2 * Math.PI * f * i) / 8000));

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof WavFormatError) return err.code;
    throw err;
  }
  return 'no error';
}

/** A hand-built WAV with arbitrary fmt fields and extra chunks. */
function wav(fmt: { tag: number; ch: number; rate: number; bits: number; extensible?: number }, data: Uint8Array, extra: Uint8Array[] = []): Uint8Array {
  const fmtLen = fmt.extensible !== undefined ? 40 : 16;
  const fmtChunk = new Uint8Array(8 + fmtLen);
  const dv = new DataView(fmtChunk.buffer);
  fmtChunk.set([0x66, 0x6d, 0x74, 0x20]);
  dv.setUint32(4, fmtLen, true);
  dv.setUint16(8, fmt.extensible !== undefined ? 0xfffe : fmt.tag, true);
  dv.setUint16(10, fmt.ch, true);
  dv.setUint32(12, fmt.rate, true);
  dv.setUint16(20, (fmt.ch * fmt.bits) / 8, true);
  dv.setUint16(22, fmt.bits, true);
  if (fmt.extensible !== undefined) dv.setUint16(32, fmt.extensible, true);
  const dataChunk = new Uint8Array(8 + data.length + (data.length & 1));
  dataChunk.set([0x64, 0x61, 0x74, 0x61]);
  new DataView(dataChunk.buffer).setUint32(4, data.length, true);
  dataChunk.set(data, 8);
  const body = [...extra, fmtChunk, dataChunk];
  const total = 12 + body.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(total);
  out.set([0x52, 0x49, 0x46, 0x46]);
  new DataView(out.buffer).setUint32(4, total - 8, true);
  out.set([0x57, 0x41, 0x56, 0x45], 8);
  let at = 12;
  for (const c of body) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

describe('parseWav / encodeWav', () => {
  it('round-trips PCM16, mu-law and A-law within their quantisation', () => {
    const x = tone(800, 440);
    for (const [format, tol] of [['pcm16', 1 / 32768], ['ulaw', 0.02], ['alaw', 0.02]] as const) {
      const back = parseWav(encodeWav([x], 8000, format));
      expect(back.format).toBe(format);
      expect(back.sampleRate).toBe(8000);
      back.channels[0]!.forEach((v, i) => expect(Math.abs(v - x[i]!)).toBeLessThanOrEqual(tol));
    }
  });

  it('separates the channels of an interleaved stereo file', () => {
    const left = tone(400, 300);
    const right = tone(400, 1200);
    const back = parseWav(encodeWav([left, right], 16000, 'pcm16'));
    expect(back.channels).toHaveLength(2);
    expect(back.sampleRate).toBe(16000);
    expect(back.channels[0]![100]).toBeCloseTo(left[100]!, 4);
    expect(back.channels[1]![100]).toBeCloseTo(right[100]!, 4);
  });

  it('reads 24-bit, 32-bit float and WAVE_FORMAT_EXTENSIBLE, skipping LIST chunks and odd padding', () => {
    const pcm24 = Uint8Array.from([0x00, 0x00, 0x40, 0x00, 0x00, 0xc0]); // +0.5, -0.5
    expect(Array.from(parseWav(wav({ tag: 1, ch: 1, rate: 44100, bits: 24 }, pcm24)).channels[0]!)).toEqual([0.5, -0.5]);
    const f32 = new Uint8Array(new Float32Array([0.25, -0.75]).buffer);
    const list = Uint8Array.from([0x4c, 0x49, 0x53, 0x54, 3, 0, 0, 0, 1, 2, 3, 0]); // odd-sized LIST + pad byte
    const r = parseWav(wav({ tag: 3, ch: 1, rate: 48000, bits: 32, extensible: 3 }, f32, [list]));
    expect(r.format).toBe('float32');
    expect(Array.from(r.channels[0]!)).toEqual([0.25, -0.75]);
  });

  it('reads a data chunk cut short by the end of the file up to the end', () => {
    const full = encodeWav([tone(1000, 440)], 8000, 'pcm16');
    const cut = full.subarray(0, 44 + 600);
    expect(parseWav(cut).channels[0]!.length).toBe(300);
  });

  it('BAD FILE: names the problem with a code', () => {
    expect(codeOf(() => parseWav(new TextEncoder().encode('ID3 this is an mp3')))).toBe('WAV_NOT_RIFF');
    const noData = encodeWav([tone(10, 440)], 8000, 'pcm16').slice(0, 36);
    expect(codeOf(() => parseWav(noData))).toBe('WAV_NO_DATA');
    const adpcm = wav({ tag: 2, ch: 1, rate: 8000, bits: 4 }, new Uint8Array(10));
    expect(codeOf(() => parseWav(adpcm))).toBe('WAV_UNSUPPORTED_FORMAT');
    expect(codeOf(() => parseWav(wav({ tag: 1, ch: 1, rate: 8000, bits: 16 }, new Uint8Array(4)).subarray(0, 30)))).toBe('WAV_TRUNCATED');
  });

  it.skipIf(!HAVE_CREMA_D)('reads a CREMA-D clip from ../shared as 8 kHz mono mu-law', () => {
    const r = parseWav(readFileSync(join(CLIPS, '1001_DFA_ANG_XX.wav')));
    expect(r.format).toBe('ulaw');
    expect(r.sampleRate).toBe(8000);
    expect(r.channels).toHaveLength(1);
    expect(r.channels[0]!.length / 8000).toBeGreaterThan(1);
    expect(r.channels[0]!.length / 8000).toBeLessThan(5.1);
  });
});
