import { ALAW_TO_FLOAT, ULAW_TO_FLOAT, encodeAlaw, encodeUlaw } from './g711.js';

export type WavFormat = 'pcm8' | 'pcm16' | 'pcm24' | 'pcm32' | 'float32' | 'ulaw' | 'alaw';

export interface DecodedWav {
  sampleRate: number;
  /** One array per channel, floats in [-1, 1]. */
  channels: Float32Array[];
  format: WavFormat;
}

export type WavErrorCode = 'WAV_NOT_RIFF' | 'WAV_NO_FMT' | 'WAV_NO_DATA' | 'WAV_UNSUPPORTED_FORMAT' | 'WAV_TRUNCATED';

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

/**
 * RIFF/WAVE: walks the chunks (LIST and others skipped, odd sizes padded), reads PCM 8/16/24/32,
 * float32, A-law, mu-law and WAVE_FORMAT_EXTENSIBLE. A data chunk that claims more bytes than the file
 * holds (a recording cut off while streaming) is read up to the end.
 */
export function parseWav(buf: Uint8Array): DecodedWav {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const tag = (at: number): string => String.fromCharCode(buf[at]!, buf[at + 1]!, buf[at + 2]!, buf[at + 3]!);
  if (buf.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') {
    throw new WavFormatError('WAV_NOT_RIFF', 'not a RIFF/WAVE file');
  }
  let fmt: { tag: number; channels: number; rate: number; bits: number } | null = null;
  let data: Uint8Array | null = null;
  for (let at = 12; at + 8 <= buf.length; ) {
    const id = tag(at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > buf.length) throw new WavFormatError('WAV_TRUNCATED', 'fmt chunk is truncated');
      let formatTag = view.getUint16(body, true);
      if (formatTag === FORMAT_EXTENSIBLE) {
        if (size < 40 || body + 40 > buf.length) throw new WavFormatError('WAV_TRUNCATED', 'extensible fmt chunk is truncated');
        formatTag = view.getUint16(body + 24, true); // first two bytes of the subformat GUID
      }
      fmt = { tag: formatTag, channels: view.getUint16(body + 2, true), rate: view.getUint32(body + 4, true), bits: view.getUint16(body + 14, true) };
    } else if (id === 'data') {
      data = buf.subarray(body, Math.min(buf.length, body + size));
      if (fmt) break;
    }
    at = body + size + (size & 1);
  }
  if (!fmt) throw new WavFormatError('WAV_NO_FMT', 'no fmt chunk');
  if (!data) throw new WavFormatError('WAV_NO_DATA', 'no data chunk');
  if (fmt.channels < 1 || fmt.rate < 1) throw new WavFormatError('WAV_UNSUPPORTED_FORMAT', `bad fmt: ${fmt.channels} channels at ${fmt.rate} Hz`);
  const format = formatOf(fmt.tag, fmt.bits);
  const bytesPerSample = fmt.bits / 8;
  const frames = Math.floor(data.length / (bytesPerSample * fmt.channels));
  const channels = Array.from({ length: fmt.channels }, () => new Float32Array(frames));
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < fmt.channels; c++) {
      const at = (f * fmt.channels + c) * bytesPerSample;
      channels[c]![f] = sampleAt(dv, data, at, format);
    }
  }
  return { sampleRate: fmt.rate, channels, format };
}

function formatOf(tag: number, bits: number): WavFormat {
  if (tag === FORMAT_ULAW && bits === 8) return 'ulaw';
  if (tag === FORMAT_ALAW && bits === 8) return 'alaw';
  if (tag === FORMAT_FLOAT && bits === 32) return 'float32';
  if (tag === FORMAT_PCM && (bits === 8 || bits === 16 || bits === 24 || bits === 32)) return `pcm${bits}` as WavFormat;
  throw new WavFormatError('WAV_UNSUPPORTED_FORMAT', `unsupported WAV encoding (format tag ${tag}, ${bits} bits): use PCM, float, mu-law or A-law`);
}

function sampleAt(dv: DataView, bytes: Uint8Array, at: number, format: WavFormat): number {
  switch (format) {
    case 'ulaw':
      return ULAW_TO_FLOAT[bytes[at]!]!;
    case 'alaw':
      return ALAW_TO_FLOAT[bytes[at]!]!;
    case 'pcm8':
      return (bytes[at]! - 128) / 128;
    case 'pcm16':
      return dv.getInt16(at, true) / 32768;
    case 'pcm24':
      return ((bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16)) << 8 >> 8) / 8388608;
    case 'pcm32':
      return dv.getInt32(at, true) / 2147483648;
    case 'float32':
      return dv.getFloat32(at, true);
  }
}

/** A WAV file of the given channels (equal lengths), for tests and the simulator. */
export function encodeWav(channels: Float32Array[], sampleRate: number, format: 'pcm16' | 'ulaw' | 'alaw'): Uint8Array {
  const n = channels[0]?.length ?? 0;
  const ch = channels.length;
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
  const coded = format === 'pcm16' ? null : channels.map((c) => (format === 'ulaw' ? encodeUlaw(c) : encodeAlaw(c)));
  for (let f = 0; f < n; f++) {
    for (let c = 0; c < ch; c++) {
      const at = 44 + (f * ch + c) * bps;
      if (coded) out[at] = coded[c]![f]!;
      else dv.setInt16(at, Math.max(-32768, Math.min(32767, Math.round(channels[c]![f]! * 32768))), true);
    }
  }
  return out;
}
