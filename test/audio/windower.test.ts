import { describe, expect, it } from 'vitest';
import { EnergyVad } from '../../src/audio/vad.js';
import { Windower, type AudioWindow } from '../../src/audio/windower.js';

const SPEC = { sampleRate: 8000, windowSamples: 24000, hopSamples: 8000 };

function ramp(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => ((i % 1000) - 500) / 1000);
}

function feed(w: Windower, x: Float32Array, frame = 160): AudioWindow[] {
  const out: AudioWindow[] = [];
  for (let i = 0; i < x.length; i += frame) {
    const win = w.push(x, i, Math.min(frame, x.length - i));
    if (win) out.push(win);
  }
  return out;
}

describe('Windower', () => {
  it('emits the latest 3 s every 1 s once 3 s have arrived', () => {
    const x = ramp(80000);
    const windows = feed(new Windower(SPEC), x);
    expect(windows.map((w) => w.endSample / 8000)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    for (const w of windows) {
      expect(w.startSample).toBe(w.endSample - 24000);
      expect(w.samples).toEqual(x.subarray(w.startSample, w.endSample));
    }
    expect(windows[0]!.samples.buffer).not.toBe(windows[1]!.samples.buffer); // each its own transferable
  });

  it('keeps the same timing for packets that are not whole frames', () => {
    const windows = feed(new Windower(SPEC), ramp(80000), 333);
    expect(windows.length).toBe(8);
    windows.forEach((w, i) => expect(w.endSample).toBeGreaterThanOrEqual((3 + i) * 8000));
    windows.forEach((w, i) => expect(w.endSample).toBeLessThan((3 + i) * 8000 + 333));
  });

  it('reports the share of speech frames and their level', () => {
    // 2 s of silence, then 1 s of 40 ms bursts (-23 dBFS sine) and 40 ms gaps, aligned to 20 ms frames
    const x = new Float32Array(24000);
    for (let i = 16000; i < 24000; i++) x[i] = (i - 16000) % 640 < 320 ? 0.1 * Math.sin(i) : 0;
    const [w] = feed(new Windower(SPEC, new EnergyVad()), x);
    expect(w!.speechRatio).toBeCloseTo(26 / 150, 6); // 13 bursts of 2 frames in 150 frames
    expect(w!.dbfs).toBeCloseTo(-23, 0);
  });

  it('flush covers a recording shorter than a window with one shorter window', () => {
    const w = new Windower(SPEC);
    expect(feed(w, ramp(12000))).toEqual([]);
    const last = w.flush()!;
    expect([last.startSample, last.endSample, last.samples.length]).toEqual([0, 12000, 12000]);
    expect(w.flush()).toBeNull();
  });

  it('flush adds a last window only when more than half a hop is uncovered', () => {
    const a = new Windower(SPEC);
    feed(a, ramp(85000));
    const tail = a.flush()!;
    expect([tail.startSample, tail.endSample]).toEqual([85000 - 24000, 85000]);
    const b = new Windower(SPEC);
    feed(b, ramp(80000 + 3000));
    expect(b.flush()).toBeNull();
  });
});
