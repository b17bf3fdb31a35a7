import { describe, expect, it } from 'vitest';
import { EnergyVad } from '../../src/audio/vad.js';
import { Windower, type AudioWindow, type WindowSpec } from '../../src/audio/windower.js';
import { noise } from './signals.js';

const SPEC: WindowSpec = { sampleRate: 8000, windowSamples: 24000, hopSamples: 8000 };
const FRAME = 160;

/** Distinct value per sample position, so a window's content proves which samples it holds. */
function ramp(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => ((i % 1999) - 999) / 1000);
}

/** Pushes x in packets of the given sizes (cycled), collecting the windows returned. */
function feed(w: Windower, x: Float32Array, sizes: number[] = [FRAME]): AudioWindow[] {
  const out: AudioWindow[] = [];
  for (let at = 0, k = 0; at < x.length; k++) {
    const n = Math.min(sizes[k % sizes.length]!, x.length - at);
    const win = w.push(x, at, n);
    if (win) out.push(win);
    at += n;
  }
  return out;
}

/** Frames `speech` of x set to a -23 dBFS tone (sine, amplitude 0.1), the rest digital silence. */
function framesOf(count: number, speech: (frame: number) => boolean): Float32Array {
  const x = new Float32Array(count * FRAME);
  for (let f = 0; f < count; f++) {
    if (!speech(f)) continue;
    for (let i = 0; i < FRAME; i++) x[f * FRAME + i] = 0.1 * Math.sin((2 * Math.PI * 500 * i) / 8000);
  }
  return x;
}

describe('Windower', () => {
  it('emits the latest 3 s every 1 s once 3 s have arrived: ends at 3, 4, ..., 10 s for 10 s of audio', () => {
    const x = ramp(80000);
    const w = new Windower(SPEC);
    const windows = feed(w, x);
    expect(windows.map((win) => win.endSample / SPEC.sampleRate)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    for (const win of windows) {
      expect(win.startSample).toBe(win.endSample - 24000);
      expect(win.samples.length).toBe(24000);
      expect(win.samples).toEqual(x.subarray(win.startSample, win.endSample));
    }
    expect(w.samplesSeen).toBe(80000);
  });

  it('returns windows with their own buffers, safe to transfer to a worker', () => {
    const windows = feed(new Windower(SPEC), ramp(40000));
    expect(windows).toHaveLength(3);
    const buffers = new Set(windows.map((win) => win.samples.buffer));
    expect(buffers.size).toBe(3);
    for (const win of windows) expect(win.samples.buffer.byteLength).toBe(24000 * 4);
    const copy = Float32Array.from(windows[0]!.samples);
    windows[1]!.samples.fill(0); // the caller owning one window cannot disturb another
    expect(windows[0]!.samples).toEqual(copy);
  });

  it('keeps the hop grid for packets that are not whole frames: each window ends at the first packet boundary past its grid point', () => {
    const x = ramp(80000);
    const sizes = [333, 1, 160, 480, 77, 1000];
    const windows = feed(new Windower(SPEC), x, sizes);
    expect(windows).toHaveLength(8);
    const boundaries: number[] = [];
    for (let at = 0, k = 0; at < x.length; k++) boundaries.push((at += Math.min(sizes[k % sizes.length]!, x.length - at)));
    windows.forEach((win, i) => {
      const grid = (3 + i) * 8000;
      expect(win.endSample).toBe(boundaries.find((b) => b >= grid));
      expect(win.samples).toEqual(x.subarray(win.endSample - 24000, win.endSample));
    });
  });

  it('reports the share of speech frames in the window', () => {
    // 200 frames: speech in frames 60..99 and in every 4th frame from 120 on (20 frames).
    const speech = (f: number): boolean => (f >= 60 && f < 100) || (f >= 120 && f % 4 === 0);
    const windows = feed(new Windower(SPEC, new EnergyVad()), framesOf(200, speech));
    expect(windows.map((win) => win.endSample / FRAME)).toEqual([150, 200]);
    const inWindow = (end: number): number => Array.from({ length: 150 }, (_, k) => end - 150 + k).filter(speech).length;
    expect(windows[0]!.voicedRatio).toBeCloseTo(inWindow(150) / 150, 10); // 40 + 8 frames
    expect(windows[1]!.voicedRatio).toBeCloseTo(inWindow(200) / 150, 10); // 40 + 20 frames
    expect(inWindow(150)).toBe(48);
  });

  it('counts pauses up to 300 ms between speech frames as talking, longer ones not', () => {
    // speech in frames 60..99, then a 400 ms pause, then one frame in four from 120 on (60 ms pauses)
    const speech = (f: number): boolean => (f >= 60 && f < 100) || (f >= 120 && f % 4 === 0);
    const windows = feed(new Windower(SPEC, new EnergyVad()), framesOf(200, speech));
    expect(windows[0]!.speechRatio).toBeCloseTo((40 + 29) / 150, 10); // frames 60..99 and 120..148
    expect(windows[1]!.speechRatio).toBeCloseTo((40 + 77) / 150, 10); // frames 60..99 and 120..196
    const unbridged = feed(new Windower(SPEC, new EnergyVad(), 0), framesOf(200, speech));
    expect(unbridged.map((w) => w.speechRatio)).toEqual(unbridged.map((w) => w.voicedRatio));
  });

  it('agrees with the VAD run frame by frame on its own, for packets split across frames', () => {
    const x = noise(80000, -50, 11);
    for (let f = 0; f < 500; f++) if (f % 7 < 3) for (let i = 0; i < FRAME; i++) x[f * FRAME + i]! *= 30; // ~-20 dBFS bursts
    const flags: boolean[] = [];
    const ref = new EnergyVad();
    for (let at = 0; at < x.length; at += FRAME) flags.push(ref.process(x, at, FRAME));
    const windows = feed(new Windower(SPEC, new EnergyVad()), x, [333]); // windows end mid-frame
    expect(windows.length).toBe(8);
    expect(windows.filter((win) => win.endSample % FRAME !== 0).length).toBeGreaterThanOrEqual(6);
    for (const win of windows) {
      // Complete frames inside the window: those ending at or before endSample and starting at or after startSample.
      const lastFrame = Math.floor(win.endSample / FRAME);
      const firstFrame = Math.ceil(win.startSample / FRAME);
      const inside = flags.slice(firstFrame, lastFrame);
      expect(win.voicedRatio).toBeCloseTo(inside.filter(Boolean).length / inside.length, 10);
    }
  });

  it('gives the level of the speech frames, or of all frames when none is speech', () => {
    const bursts = feed(new Windower(SPEC), framesOf(150, (f) => f % 3 === 0));
    expect(bursts[0]!.voicedRatio).toBeCloseTo(50 / 150, 10);
    expect(bursts[0]!.dbfs).toBeCloseTo(-23.01, 1); // silence between the bursts does not dilute it

    const hiss = feed(new Windower(SPEC), noise(24000, -75, 4)); // below minSpeechDbfs: no speech
    expect(hiss[0]!.speechRatio).toBe(0);
    expect(hiss[0]!.dbfs).toBeCloseTo(-75, 0);
  });

  it('returns silent windows too (speech ratio 0): the caller decides whether to classify them', () => {
    const windows = feed(new Windower(SPEC), new Float32Array(40000));
    expect(windows).toHaveLength(3);
    for (const win of windows) {
      expect(win.speechRatio).toBe(0);
      expect(win.dbfs).toBe(-120);
    }
  });

  it('flush() at the end of a 1.5 s recording returns one window over all of it', () => {
    const x = ramp(12000);
    const w = new Windower(SPEC);
    expect(feed(w, x)).toEqual([]);
    const last = w.flush()!;
    expect([last.startSample, last.endSample]).toEqual([0, 12000]);
    expect(last.samples).toEqual(x);
    expect(w.flush()).toBeNull(); // nothing new since
  });

  it('flush() after 10.3 s returns nothing: the last 0.3 s is less than half a hop', () => {
    const w = new Windower(SPEC);
    expect(feed(w, ramp(82400))).toHaveLength(8);
    expect(w.flush()).toBeNull();
  });

  it('flush() after 10.6 s returns a full window ending at the last sample', () => {
    const x = ramp(84800);
    const w = new Windower(SPEC);
    expect(feed(w, x)).toHaveLength(8);
    const tail = w.flush()!;
    expect([tail.startSample, tail.endSample]).toEqual([84800 - 24000, 84800]);
    expect(tail.samples).toEqual(x.subarray(84800 - 24000));
    expect(w.flush()).toBeNull();
  });

  it('flush() with no audio, or under one frame, behaves', () => {
    expect(new Windower(SPEC).flush()).toBeNull();
    const w = new Windower(SPEC);
    w.push(Float32Array.of(0.5, -0.5, 0.5), 0, 3);
    const win = w.flush()!;
    expect(Array.from(win.samples)).toEqual([0.5, -0.5, 0.5]);
    expect(win.speechRatio).toBe(0);
    expect(win.dbfs).toBeCloseTo(-6.02, 2);
  });

  it('reset() starts a new stream at position 0', () => {
    const w = new Windower(SPEC);
    feed(w, ramp(30000));
    w.reset();
    expect(w.samplesSeen).toBe(0);
    const x = ramp(32000).map((v) => -v);
    const windows = feed(w, x);
    expect(windows.map((win) => win.endSample)).toEqual([24000, 32000]);
    expect(windows[1]!.samples).toEqual(x.subarray(8000));
  });

  it('BAD CALL: rejects a spec with a non-positive window, hop or rate', () => {
    expect(() => new Windower({ ...SPEC, windowSamples: 0 })).toThrow(RangeError);
    expect(() => new Windower({ ...SPEC, hopSamples: 1.5 })).toThrow(RangeError);
    expect(() => new Windower({ ...SPEC, sampleRate: 0 })).toThrow(RangeError);
  });
});
