import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../../src/audio/wav.js';
import { UsageError } from '../../src/cli/usage.js';
import { analyzeCommand } from '../../src/cli/analyze.js';
import type { FileAnalysis } from '../../src/offline/analyze.js';
import { HAVE_CREMA_D, testActorSpeech } from '../helpers/paths.js';

function upsample2(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length * 2);
  for (let i = 0; i < x.length; i++) {
    out[2 * i] = x[i]!;
    out[2 * i + 1] = (x[i]! + (x[i + 1] ?? x[i]!)) / 2;
  }
  return out;
}

async function run(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      out += String(chunk);
      cb();
    },
  });
  const code = await analyzeCommand(args, sink);
  return { code, out };
}

describe.skipIf(!HAVE_CREMA_D)('ser-ari analyze on recorded calls', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ser-analyze-'));
  let angry: Float32Array;
  let neutral: Float32Array;

  beforeAll(() => {
    angry = testActorSpeech('ANG', 5, 2);
    neutral = testActorSpeech('NEU', 5, 2);
    const n = Math.min(angry.length, neutral.length);
    // A two-party call at 16 kHz PCM: the customer (angry) on the left, the agent (calm) on the right.
    writeFileSync(join(dir, 'call-stereo.wav'), encodeWav([upsample2(angry.subarray(0, n)), upsample2(neutral.subarray(0, n))], 16000, 'pcm16'));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'calm-ulaw.wav'), encodeWav([neutral], 8000, 'ulaw'));
    writeFileSync(join(dir, 'sub', 'broken.wav'), new TextEncoder().encode('RIFF....not a wave file'));
  });

  it('prints one JSON object per file with per-window probabilities, per-channel summaries and the dissatisfied moments', async () => {
    const { code, out } = await run([dir, '--json']);
    expect(code).toBe(1); // broken.wav is reported, the others are still analysed
    const results = out.trim().split('\n').map((l) => JSON.parse(l) as FileAnalysis);
    expect(results.map((r) => r.file.split('/').pop())).toEqual(['call-stereo.wav', 'calm-ulaw.wav']);

    const stereo = results[0]!;
    expect(stereo.channels).toBe(2);
    expect(stereo.sampleRate).toBe(16000);
    expect(stereo.duration).toBeCloseTo(Math.min(angry.length, neutral.length) / 8000, 1);
    const ch0 = stereo.windows.filter((w) => w.channel === 0);
    // 3 s windows every second, over the whole call
    expect(ch0[0]!.start).toBe(0);
    expect(ch0[0]!.end).toBe(3);
    expect(ch0[1]!.start).toBe(1);
    expect(ch0.length).toBeGreaterThanOrEqual(Math.floor(stereo.duration) - 2);
    const w = ch0.find((x) => x.speech)!;
    expect(Object.keys(w.probs!)).toEqual(['ANG', 'DIS', 'FEA', 'HAP', 'NEU', 'SAD']);
    expect(Object.values(w.probs!).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    // The channel's own caller baseline, built as live: the first speech window is the raw output, later
    // ones are adjusted by the speech before them; familiarity once there is enough speech.
    expect(w.adjusted).toEqual(w.probs);
    expect(w.baselineWindows).toBe(1);
    const speech0 = ch0.filter((x) => x.speech);
    expect(speech0.at(-1)!.baselineWindows).toBe(speech0.length);
    expect(speech0.at(-1)!.adjusted).not.toEqual(speech0.at(-1)!.probs);
    expect(stereo.summary.channels[0]!.familiarity).toBeGreaterThanOrEqual(0);

    const [left, right] = stereo.summary.channels;
    expect(left!.meanProbs!.ANG).toBeGreaterThan(2 * right!.meanProbs!.ANG!);
    expect(right!.meanProbs!.NEU).toBeGreaterThan(left!.meanProbs!.NEU!);
    expect(left!.meanNegativity!).toBeGreaterThan(right!.meanNegativity!);
    const leftMoments = stereo.summary.moments.filter((m) => m.channel === 0);
    const rightMoments = stereo.summary.moments.filter((m) => m.channel === 1);
    expect(leftMoments.length).toBeGreaterThan(0);
    const covered = (ms: typeof leftMoments): number => ms.reduce((s, m) => s + m.end - m.start, 0);
    expect(covered(leftMoments)).toBeGreaterThan(covered(rightMoments));

    const calm = results[1]!;
    expect(calm.format).toBe('ulaw');
    expect(calm.summary.channels[0]!.meanProbs!.NEU).toBeGreaterThan(calm.summary.channels[0]!.meanProbs!.ANG!);
  });

  it('writes CSV with a header and one row per window', async () => {
    const { out } = await run([join(dir, 'sub', 'calm-ulaw.wav'), '--csv']);
    const [head, ...rows] = out.trim().split('\n');
    expect(head).toBe('file,channel,start,end,speech,speech_ratio,dbfs,dominant,negativity,ANG,DIS,FEA,HAP,NEU,SAD,adjusted_negativity,baseline_windows,familiarity');
    expect(rows.length).toBeGreaterThanOrEqual(Math.floor(neutral.length / 8000) - 2);
    expect(rows[0]!.split(',')).toHaveLength(18);
  });

  it('refuses bad arguments with a usage error (exit code 2 from the CLI)', async () => {
    await expect(run([])).rejects.toThrow(UsageError);
    await expect(run([dir, '--threshold', '3'])).rejects.toThrow(/--threshold wants a number between 0 and 1/);
    expect((await run([join(dir, 'nothing-here')])).code).toBe(2);
  });
});
