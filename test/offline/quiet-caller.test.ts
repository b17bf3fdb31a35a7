import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATE_LEVEL_DBFS, GATE_MAX_GAIN_DB, SpeechGate, gateGain } from '../../src/audio/speech-gate.js';
import { encodeWav, parseWav } from '../../src/audio/wav.js';
import { speechGateOption } from '../../src/inference/gate-options.js';
import { InferenceEngine } from '../../src/inference/engine.js';
import { analyzeWav, type FileAnalysis } from '../../src/offline/analyze.js';
import { CLIPS, HAVE_CREMA_D, MODEL, testActors } from '../helpers/paths.js';
import { concatenate, loadClips } from '../../src/sim/demo-audio.js';
import { lineSignals, pinkNoise, scaleToDbfs } from '../audio/line-signals.js';

/**
 * Issue 14 item 4, quiet callers: detection must not depend on the caller's level (speech windows at
 * -40 dBFS >= 90% of those at -20 dBFS), a quiet caller over line noise must still be heard, and tones,
 * DTMF, noise and music must stay unscored at every level (<= 2% of windows). Real model, real audio,
 * the product's defaults (config/ser-ari.example.yaml), mu-law as on a phone line.
 */
describe('quiet callers (level-independent speech detection)', () => {
  let engine: InferenceEngine;
  beforeAll(async () => {
    engine = await InferenceEngine.open({ modelPath: MODEL, workers: 1, maxBatch: 32, maxWaitMs: 2, speechGate: speechGateOption({ speechGate: true, speechGateMinShare: 0.1 }) });
  });
  afterAll(async () => {
    await engine.close();
  });

  const analyze = (audio: Float32Array): Promise<FileAnalysis> =>
    analyzeWav('t', parseWav(encodeWav([audio], 8000, 'ulaw')), engine, { minSpeechRatio: 0.25, negativityThreshold: 0.7 });
  const scored = (r: FileAnalysis): number => r.windows.filter((w) => w.speech).length;

  /** Calls of 12 sentences (all emotions) from four test actors, 0.6 s pauses. */
  const calls = (): Float32Array[] => testActors().slice(0, 4).map((a) => concatenate(loadClips(CLIPS, new RegExp(`^${a}_.*\\.wav$`), 12, true), 0.6));

  it.skipIf(!HAVE_CREMA_D)('scores CREMA-D test-actor speech at -40 and -45 dBFS in >= 90% of the windows scored at -20 dBFS', async () => {
    const count: Record<number, number> = {};
    for (const level of [-20, -40, -45]) {
      count[level] = 0;
      for (const call of calls()) count[level] += scored(await analyze(scaleToDbfs(call, level)));
    }
    expect(count[-20]).toBeGreaterThan(100);
    expect(count[-40]! / count[-20]!).toBeGreaterThanOrEqual(0.9);
    expect(count[-45]! / count[-20]!).toBeGreaterThanOrEqual(0.9);
  }, 240_000);

  it.skipIf(!HAVE_CREMA_D)('hears a -40 dBFS caller over pink line noise at -50 and -45 dBFS; the noise alone is never scored', async () => {
    const [a, b] = calls();
    let clean = 0;
    let at50 = 0;
    let at45 = 0;
    for (const call of [a!, b!]) {
      const speech = scaleToDbfs(call, -40);
      const noise = pinkNoise(call.length / 8000, 11);
      const mix = (db: number): Float32Array => {
        const n = scaleToDbfs(noise, db);
        return speech.map((v, i) => v + n[i]!);
      };
      clean += scored(await analyze(scaleToDbfs(call, -20))); // the same caller at an ordinary level, no noise
      at50 += scored(await analyze(mix(-50)));
      at45 += scored(await analyze(mix(-45)));
      for (const db of [-50, -45, -40]) expect(scored(await analyze(scaleToDbfs(noise, db))), `pink noise alone at ${db} dBFS`).toBe(0);
    }
    // Measured (scripts/quiet-vad-bench.ts, 3 actors x 20 sentences): 74% at -50 and 55% at -45, against
    // 22% and 13% with the previous energy VAD (9 dB, -50 dBFS); here against the same speech at -20 dBFS without noise.
    expect(at50 / clean, `${at50} of ${clean}`).toBeGreaterThanOrEqual(0.45);
    expect(at45 / clean, `${at45} of ${clean}`).toBeGreaterThanOrEqual(0.3);
  }, 240_000);

  it('scores <= 2% of the windows of tones, DTMF, noise and music at -10, -25, -40 and -50 dBFS (none per signal and level above 1)', async () => {
    let windows = 0;
    let total = 0;
    for (const [name, sig] of Object.entries(lineSignals(20))) {
      for (const level of [-10, -25, -40, -50]) {
        const r = await analyze(scaleToDbfs(sig, level));
        windows += r.windows.length;
        total += scored(r);
        expect(scored(r), `${name} at ${level} dBFS`).toBeLessThanOrEqual(1);
      }
    }
    expect(total / windows).toBeLessThanOrEqual(0.02);
  }, 240_000);
});

describe('gateGain: Silero hears a quiet window raised, never a loud one lowered', () => {
  it('raises to GATE_LEVEL_DBFS by at most GATE_MAX_GAIN_DB', () => {
    expect(gateGain(-10)).toBe(1);
    expect(gateGain(GATE_LEVEL_DBFS)).toBe(1);
    expect(20 * Math.log10(gateGain(GATE_LEVEL_DBFS - 14))).toBeCloseTo(14, 10);
    expect(20 * Math.log10(gateGain(-120))).toBeCloseTo(GATE_MAX_GAIN_DB, 10);
  });

  it("scales the segment it asks Silero to judge, not the window's samples", () => {
    const gate = new SpeechGate(24000);
    const samples = new Float32Array(24000).fill(0.01);
    const input = gate.request(samples, 0, 24000, -40);
    expect(input.segment[0]).toBeCloseTo(0.01 * gateGain(-40), 7);
    expect(samples[0]).toBeCloseTo(0.01, 7);
    expect(gate.request(samples, 0, 24000).segment[0]).toBeCloseTo(0.01, 7);
  });
});
