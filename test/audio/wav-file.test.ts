import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../../src/audio/wav.js';
import { AudioFileError, readWavFile } from '../../src/audio/wav-file.js';

const dir = mkdtempSync(join(tmpdir(), 'ser-wav-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: Uint8Array | number[]): string {
  const path = join(dir, name);
  writeFileSync(path, Uint8Array.from(bytes));
  return path;
}

function refusal(path: string): string {
  try {
    readWavFile(path);
  } catch (err) {
    expect(err).toBeInstanceOf(AudioFileError);
    return (err as Error).message;
  }
  throw new Error(`${path} was read`);
}

describe('issue 16: readWavFile refuses what would give wrong results, and says what to do', () => {
  it('reads a complete WAV file', () => {
    const wav = readWavFile(file('ok.wav', encodeWav([new Float32Array(800)], 8000, 'ulaw')));
    expect({ rate: wav.sampleRate, samples: wav.channels[0]!.length }).toEqual({ rate: 8000, samples: 800 });
  });

  it('a data chunk shorter than its header declares: the durations and how to recover', () => {
    const full = encodeWav([new Float32Array(8000 * 8.5)], 8000, 'pcm16');
    const message = refusal(file('cut.wav', full.subarray(0, 44 + 2 * 7200)));
    expect(message).toMatch(/cut\.wav: truncated: the header declares 8\.5 s of audio but the file holds 0\.9 s; copy it again/);
    expect(message).toContain('sox cut.wav fixed.wav');
    expect(message.split('\n')).toHaveLength(1);
  });

  it.each([
    ['song.mp3', [0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0, 0, 0], 'an MP3 file'],
    ['frames.mp3', [0xff, 0xfb, 0x90, 0x64, 0, 0, 0, 0, 0, 0, 0, 0], 'an MP3 file'],
    ['voice.ogg', [...Buffer.from('OggS'), 0, 2, 0, 0, 0, 0, 0, 0], 'an Ogg (Vorbis/Opus) file'],
    ['voice.flac', [...Buffer.from('fLaC'), 0, 0, 0, 34, 0, 0, 0, 0], 'a FLAC file'],
    ['voice.m4a', [0, 0, 0, 32, ...Buffer.from('ftypM4A '), 0, 0, 0, 0], 'an MP4/M4A file'],
    ['notes.wav', [...Buffer.from('hello, world')], 'not a RIFF/WAVE file'],
  ])('%s: names the format and the conversion command', (name, bytes, what) => {
    const message = refusal(file(name, bytes));
    expect(message).toContain(`${name}: ${what}`);
    expect(message).toContain(`ffmpeg -i ${name} -ar 8000 -ac 1 out.wav`);
    expect(message).toContain(`sox ${name} -r 8000 -c 1 out.wav`);
  });

  it('an unreadable path names the error code', () => {
    expect(refusal(join(dir, 'missing.wav'))).toMatch(/missing\.wav: cannot be read \(ENOENT\)/);
  });
});
