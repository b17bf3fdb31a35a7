import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../../src/audio/wav.js';
import { analyzeCommand } from '../../src/cli/analyze.js';
import { speechGateOption } from '../../src/inference/gate-options.js';
import { InferenceEngine } from '../../src/inference/engine.js';
import type { FileAnalysis } from '../../src/offline/analyze.js';
import { CallPipeline } from '../../src/pipeline/call-pipeline.js';
import { lineSignals, scaleToDbfs } from '../audio/line-signals.js';
import { HAVE_CREMA_D, MODEL, testActorSpeech } from '../helpers/paths.js';

async function analyze(files: string[]): Promise<FileAnalysis[]> {
  let out = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      out += String(chunk);
      cb();
    },
  });
  expect(await analyzeCommand([...files, '--json'], sink)).toBe(0);
  return out.trim().split('\n').map((l) => JSON.parse(l) as FileAnalysis);
}

/**
 * Issue 14 item 4: tones, DTMF, noise and music pass the energy VAD but must never reach the emotion
 * model (Silero VAD gates it), while speech still does.
 */
describe('speech gate (Silero VAD) in ser-ari analyze', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ser-gate-'));
  const files: string[] = [];
  beforeAll(() => {
    for (const [name, sig] of Object.entries(lineSignals(20))) {
      for (const level of [-10, -30]) {
        const file = join(dir, `${name.replace(/[^A-Za-z0-9]+/g, '-')}${level}.wav`);
        writeFileSync(file, encodeWav([scaleToDbfs(sig, level)], 8000, 'ulaw'));
        files.push(file);
      }
    }
  });

  it('scores 0 windows of busy, dial, ringback and SIT tones, DTMF, pink noise, a 300 Hz sine and music, and reports no dissatisfied moment', async () => {
    const results = await analyze(files);
    expect(results).toHaveLength(files.length);
    const energyOnly = results.reduce((n, r) => n + r.windows.filter((w) => w.nonSpeech).length, 0);
    // The energy VAD did pass many of them (the busy tone, SIT and DTMF: every window): the gate is what stops them.
    expect(energyOnly).toBeGreaterThan(60);
    for (const r of results) {
      expect({ file: r.file, scored: r.windows.filter((w) => w.speech).length }).toEqual({ file: r.file, scored: 0 });
      expect(r.summary.moments).toEqual([]);
    }
  }, 120_000);

  it.skipIf(!HAVE_CREMA_D)('still scores CREMA-D speech: at least 90% of the windows the energy VAD passes', async () => {
    const speech = [...['ANG', 'NEU', 'SAD', 'HAP'].map((e) => testActorSpeech(e, 6, 1))];
    const file = join(dir, 'speech.wav');
    const all = new Float32Array(speech.reduce((n, s) => n + s.length, 0));
    let at = 0;
    for (const s of speech) {
      all.set(s, at);
      at += s.length;
    }
    writeFileSync(file, encodeWav([all], 8000, 'ulaw'));
    const [r] = await analyze([file]);
    const scored = r!.windows.filter((w) => w.speech).length;
    const rejected = r!.windows.filter((w) => w.nonSpeech).length;
    expect(scored / (scored + rejected)).toBeGreaterThanOrEqual(0.9);
  }, 120_000);
});

describe('speech gate in the live pipeline', () => {
  let engine: InferenceEngine;
  beforeAll(async () => {
    engine = await InferenceEngine.open({ modelPath: MODEL, workers: 1, maxBatch: 8, maxWaitMs: 2, speechGate: speechGateOption({ speechGate: true, speechGateMinShare: 0.1 }) });
  });
  afterAll(async () => {
    await engine.close();
  });

  it('a busy tone and DTMF never move the tracker; speech after them does', async () => {
    const p = new CallPipeline('g1', engine, { minSpeechRatio: 0.25, smoothing: 0.5, maxBacklog: 100 });
    const sig = lineSignals(12);
    const parts = [scaleToDbfs(sig['busy tone 480+620 Hz']!, -15), scaleToDbfs(sig.DTMF!, -15)];
    if (HAVE_CREMA_D) parts.push(testActorSpeech('ANG', 4, 3));
    for (const audio of parts) for (let i = 0; i + 160 <= audio.length; i += 160) p.push(audio.subarray(i, i + 160), 160);
    await p.drain();
    const s = p.stats;
    expect(s.nonSpeech).toBeGreaterThanOrEqual(15);
    if (HAVE_CREMA_D) expect(s.classified).toBeGreaterThan(3);
    else expect(s.classified).toBe(0);
    // No window before the speech began was classified.
    expect(p.tracker.last!.classified).toBe(s.classified);
    p.close();
  }, 60_000);
});
