import { describe, expect, it } from 'vitest';
import { EnergyVad } from '../../src/audio/vad.js';
import { synthesizeCaller } from '../../src/sim/demo-voices.js';

function rmsDb(x: Float32Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return 10 * Math.log10(s / x.length);
}

function speechShare(x: Float32Array): number {
  const vad = new EnergyVad();
  let speech = 0;
  let frames = 0;
  for (let i = 0; i + 160 <= x.length; i += 160, frames++) if (vad.process(x, i, 160)) speech++;
  return speech / frames;
}

describe('demo callers synthesised in-process', () => {
  it('speaks several seconds of 8 kHz audio that the VAD hears as speech, louder and faster when abusive', async () => {
    const calm = await synthesizeCaller('calm');
    const abusive = await synthesizeCaller('abusive');
    for (const x of [calm, abusive]) {
      expect(x.length / 8000).toBeGreaterThan(5);
      expect(Math.max(...x.map(Math.abs))).toBeLessThanOrEqual(1);
      expect(speechShare(x)).toBeGreaterThan(0.4);
    }
    expect(rmsDb(abusive) - rmsDb(calm)).toBeGreaterThan(3);
    // the same three-sentence length of script, spoken faster
    expect(abusive.length).toBeLessThan(calm.length * 1.2);
  });
});
