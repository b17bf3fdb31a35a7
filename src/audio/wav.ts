import { ALAW_TO_FLOAT, ULAW_TO_FLOAT, encodeAlawSample, encodeUlawSample } from './g711.js';

export type WavFormat = 'pcm8' | 'pcm16' | 'pcm24' | 'pcm32' | 'float32' | 'ulaw' | 'alaw';

export interface DecodedWav {
  sampleRate: number;
  /** One array per channel, floats in [-1, 1]. */
  channels: Float32Array[];
  format: WavFormat;
  /** Set when the data chunk declares more sample frames than the file holds (a cut-off copy). */
  truncated: { declaredFrames: number; frames: number } | null;
}

export type WavErrorCode = 'WAV_NOT_RIFF' | 'WAV_NO_FMT' | 'WAV_NO_DATA' | 'WAV_UNSUPPORTED_FORMAT' | 'WAV_TRUNCATED';

/** A file parseWav cannot read; match on `code`, not on the message. */
export class WavFormatError extends Error {
  readonly code: WavErrorCode;

  constructor(code: WavErrorCode, message: string) {
    super(message);
    this.name = 'WavFormatError';
    this.code = code;
  }
}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_ALAW = 6;
const FORMAT_ULAW = 7;
const FORMAT_EXTENSIBLE = 0xfffe;
/** Writers that cannot seek back (a pipe) leave this size: the data runs to the end of the file. */
const SIZE_UNKNOWN = 0xffffffff;

/** KSDATAFORMAT_SUBTYPE_* GUIDs are the format tag followed by these 14 bytes (…-0000-0010-8000-00AA00389B71). */
const GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

interface Fmt {
  tag: number;
  channels: number;
  rate: number;
  bits: number;
}

/*
 * RIFF/WAVE layout (little-endian):
 *
 *   0  "RIFF" | 4 size | 8 "WAVE" | 12 chunks...
 *   chunk:  4 id | 4 size | size bytes | 1 pad byte if size is odd
 *   "fmt ": 0 tag | 2 channels | 4 rate | 8 byte rate | 12 block align | 14 bits
 *           extensible (tag 0xFFFE, size >= 40): 16 cbSize | 18 valid bits | 20 channel mask | 24 subformat GUID
 */

/**
 * Reads a RIFF/WAVE file: walks the chunks (LIST, fact and others skipped, odd sizes padded), decodes
 * PCM 8/16/24/32, float32, A-law, mu-law and WAVE_FORMAT_EXTENSIBLE, any channel count and rate. A data
 * chunk that claims more bytes than the file holds (a recording cut off while streaming) is read up to
 * the last whole sample frame and reported in `truncated`; callers decide whether that is acceptable.
 */
export function parseWav(buf: Uint8Array): DecodedWav {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const tag = (at: number): string => String.fromCharCode(buf[at]!, buf[at + 1]!, buf[at + 2]!, buf[at + 3]!);
  if (buf.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') {
    throw new WavFormatError('WAV_NOT_RIFF', `not a RIFF/WAVE file (${buf.length} bytes, starts ${JSON.stringify(tag(0).replace(/[^ -~]/g, '?'))})`);
  }
  let fmt: Fmt | null = null;
  let data: Uint8Array | null = null;
  let declaredBytes: number | null = null;
  let at = 12;
  while (at + 8 <= buf.length && !(fmt && data)) {
    const id = tag(at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') fmt = readFmt(view, body, size);
    else if (id === 'data') {
      data = buf.subarray(body, Math.min(buf.length, body + size));
      declaredBytes = size === SIZE_UNKNOWN ? null : size;
    }
    at = body + size + (size & 1);
  }
  if (!fmt || !data) {
    const missing = !fmt ? 'fmt' : 'data';
    // The walk overshot or stopped short of the end: the file was cut inside a chunk or chunk header.
    if (at !== buf.length) throw new WavFormatError('WAV_TRUNCATED', `file (${buf.length} bytes) ends inside a chunk before any ${missing} chunk`);
    throw new WavFormatError(!fmt ? 'WAV_NO_FMT' : 'WAV_NO_DATA', `no ${missing} chunk in the file`);
  }
  const format = formatOf(fmt);
  const bytesPerSample = fmt.bits / 8;
  const frameBytes = bytesPerSample * fmt.channels;
  const frames = Math.floor(data.length / frameBytes);
  const declaredFrames = declaredBytes === null ? frames : Math.floor(declaredBytes / frameBytes);
  const channels = Array.from({ length: fmt.channels }, () => new Float32Array(frames));
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let c = 0; c < fmt.channels; c++) {
    const out = channels[c]!;
    const stride = bytesPerSample * fmt.channels;
    for (let f = 0, p = c * bytesPerSample; f < frames; f++, p += stride) out[f] = sampleAt(dv, data, p, format);
  }
  return { sampleRate: fmt.rate, channels, format, truncated: declaredFrames > frames ? { declaredFrames, frames } : null };
}

function readFmt(view: DataView, body: number, size: number): Fmt {
  if (size < 16) throw new WavFormatError('WAV_UNSUPPORTED_FORMAT', `fmt chunk of ${size} bytes is too short (16 needed)`);
  if (body + 16 > view.byteLength) throw new WavFormatError('WAV_TRUNCATED', 'file ends inside the fmt chunk');
  let tag = view.getUint16(body, true);
  if (tag === FORMAT_EXTENSIBLE) {
    if (size < 40) throw new WavFormatError('WAV_UNSUPPORTED_FORMAT', `WAVE_FORMAT_EXTENSIBLE fmt chunk of ${size} bytes (40 needed)`);
    if (body + 40 > view.byteLength) throw new WavFormatError('WAV_TRUNCATED', 'file ends inside the extensible fmt chunk');
    tag = view.getUint16(body + 24, true);
    for (let i = 0; i < GUID_TAIL.length; i++) {
      if (view.getUint8(body + 26 + i) !== GUID_TAIL[i]) {
        throw new WavFormatError('WAV_UNSUPPORTED_FORMAT', 'WAVE_FORMAT_EXTENSIBLE with a non-standard subformat GUID');
      }
    }
  }
  return { tag, channels: view.getUint16(body + 2, true), rate: view.getUint32(body + 4, true), bits: view.getUint16(body + 14, true) };
}

function formatOf(fmt: Fmt): WavFormat {
  const { tag, bits, channels, rate } = fmt;
  if (channels < 1 || rate < 1) throw new WavFormatError('WAV_UNSUPPORTED_FORMAT', `fmt says ${channels} channels at ${rate} Hz`);
  if (tag === FORMAT_ULAW && bits === 8) return 'ulaw';
  if (tag === FORMAT_ALAW && bits === 8) return 'alaw';
  if (tag === FORMAT_FLOAT && bits === 32) return 'float32';
  if (tag === FORMAT_PCM) {
    if (bits === 8) return 'pcm8';
    if (bits === 16) return 'pcm16';
    if (bits === 24) return 'pcm24';
    if (bits === 32) return 'pcm32';
  }
  throw new WavFormatError(
    'WAV_UNSUPPORTED_FORMAT',
    `unsupported WAV encoding (format tag 0x${tag.toString(16)}, ${bits} bits): use PCM 8/16/24/32-bit, 32-bit float, mu-law or A-law`,
  );
}

function sampleAt(dv: DataView, bytes: Uint8Array, at: number, format: WavFormat): number {
  switch (format) {
    case 'ulaw':
      return ULAW_TO_FLOAT[bytes[at]!]!;
    case 'alaw':
      return ALAW_TO_FLOAT[bytes[at]!]!;
    case 'pcm8':
      return (bytes[at]! - 128) / 128; // 8-bit WAV is unsigned
    case 'pcm16':
      return dv.getInt16(at, true) / 32768;
    case 'pcm24':
      return (((bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16)) << 8) >> 8) / 8388608;
    case 'pcm32':
      return dv.getInt32(at, true) / 2147483648;
    case 'float32':
      return dv.getFloat32(at, true);
  }
}

/** A canonical 44-byte-header WAV of the given channels (equal lengths, floats clipped to [-1, 1]). */
export function encodeWav(channels: Float32Array[], sampleRate: number, format: 'pcm16' | 'ulaw' | 'alaw'): Uint8Array {
  const ch = channels.length;
  if (ch < 1 || ch > 0xffff) throw new RangeError(`encodeWav needs 1..65535 channels, got ${ch}`);
  const n = channels[0]!.length;
  if (channels.some((c) => c.length !== n)) throw new RangeError('encodeWav channels must have equal lengths');
  if (!Number.isInteger(sampleRate) || sampleRate < 1) throw new RangeError(`invalid sample rate: ${sampleRate}`);
  const bps = format === 'pcm16' ? 2 : 1;
  const dataBytes = n * ch * bps;
  const out = new Uint8Array(44 + dataBytes + (dataBytes & 1));
  const dv = new DataView(out.buffer);
  const put = (at: number, s: string): void => {
    for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i);
  };
  put(0, 'RIFF');
  dv.setUint32(4, out.length - 8, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  dv.setUint32(16, 16, true);
  dv.setUint16(20, format === 'pcm16' ? FORMAT_PCM : format === 'ulaw' ? FORMAT_ULAW : FORMAT_ALAW, true);
  dv.setUint16(22, ch, true);
  dv.setUint32(24, sampleRate, true);
  dv.setUint32(28, sampleRate * ch * bps, true);
  dv.setUint16(32, ch * bps, true);
  dv.setUint16(34, bps * 8, true);
  put(36, 'data');
  dv.setUint32(40, dataBytes, true);
  for (let c = 0; c < ch; c++) {
    const src = channels[c]!;
    for (let f = 0, at = 44 + c * bps; f < n; f++, at += ch * bps) {
      const s = src[f]!;
      if (format === 'ulaw') out[at] = encodeUlawSample(s);
      else if (format === 'alaw') out[at] = encodeAlawSample(s);
      else dv.setInt16(at, Math.max(-32768, Math.min(32767, Math.round(s * 32768))), true);
    }
  }
  return out;
}
