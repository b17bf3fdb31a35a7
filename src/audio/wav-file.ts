import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseWav, WavFormatError, type DecodedWav } from './wav.js';

/** A recording that cannot be used as it is; the message is one line that names the file and says what to do. */
export class AudioFileError extends Error {
  readonly file: string;

  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'AudioFileError';
    this.file = file;
  }
}

const CONVERT = (file: string): string => `convert it with "ffmpeg -i ${basename(file)} -ar 8000 -ac 1 out.wav" (or "sox ${basename(file)} -r 8000 -c 1 out.wav")`;

/** Container formats people try instead of WAV, by their first bytes. */
const SIGNATURES: Array<{ name: string; test: (b: Uint8Array) => boolean }> = [
  { name: 'an MP3 file', test: (b) => ascii(b, 0, 3) === 'ID3' || (b[0] === 0xff && ((b[1] ?? 0) & 0xe0) === 0xe0) },
  { name: 'an Ogg (Vorbis/Opus) file', test: (b) => ascii(b, 0, 4) === 'OggS' },
  { name: 'a FLAC file', test: (b) => ascii(b, 0, 4) === 'fLaC' },
  { name: 'an MP4/M4A file', test: (b) => ascii(b, 4, 4) === 'ftyp' },
  { name: 'a WebM/Matroska file', test: (b) => b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3 },
  { name: 'an AIFF file', test: (b) => ascii(b, 0, 4) === 'FORM' },
];

/**
 * Reads a WAV file for analysis or the demo. Refuses what would silently give wrong results: a file
 * cut off before the end its header declares, and anything that is not RIFF/WAVE (with the command
 * that converts it).
 */
export function readWavFile(file: string): DecodedWav {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new AudioFileError(file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let wav: DecodedWav;
  try {
    wav = parseWav(bytes);
  } catch (err) {
    if (err instanceof WavFormatError) throw new AudioFileError(file, advice(file, bytes, err));
    throw err;
  }
  if (wav.truncated) {
    const declared = (wav.truncated.declaredFrames / wav.sampleRate).toFixed(1);
    const present = (wav.truncated.frames / wav.sampleRate).toFixed(1);
    throw new AudioFileError(
      file,
      `truncated: the header declares ${declared} s of audio but the file holds ${present} s; copy it again from the source, or rewrite the header to keep what is there ("sox ${basename(file)} fixed.wav")`,
    );
  }
  return wav;
}

function advice(file: string, bytes: Uint8Array, err: WavFormatError): string {
  if (err.code === 'WAV_NOT_RIFF') {
    const known = SIGNATURES.find((s) => s.test(bytes));
    return `${known ? `${known.name}, not WAV` : 'not a RIFF/WAVE file'}: ${CONVERT(file)}`;
  }
  if (err.code === 'WAV_UNSUPPORTED_FORMAT') return `${err.message}; ${CONVERT(file)}`;
  if (err.code === 'WAV_TRUNCATED') return `${err.message}: the file is incomplete; copy it again from the source`;
  return `${err.message}: not a usable WAV file; ${CONVERT(file)}`;
}

function ascii(b: Uint8Array, at: number, n: number): string {
  return b.length < at + n ? '' : String.fromCharCode(...b.subarray(at, at + n));
}
