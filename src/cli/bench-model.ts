import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { PACKAGE_ROOT, resolveDataPath } from '../config/paths.js';
import { parseCommand, positiveInteger } from './usage.js';

const W2V_DEFAULT = resolve(PACKAGE_ROOT, 'models/bench/wav2vec2-base.onnx');
const EXPORT_SCRIPT = resolve(PACKAGE_ROOT, 'models/training/export_wav2vec2.py');

const USAGE = `usage: ser-ari bench-model [--runs 20] [--wav2vec2 file.onnx] [--python /usr/bin/python3]

Times one 3 s window through our model and through a wav2vec2-base-sized classifier, one intra-op
thread each. The wav2vec2 file is generated on first use (needs Debian's python3-torch).
  --runs       timed runs of the wav2vec2 model (ours gets ten times as many)
  --wav2vec2   the wav2vec2-base-sized ONNX file (default models/bench/wav2vec2-base.onnx)
  --python     the Python that exports it`;

/**
 * Times one 3 s window through our model (8 kHz) and through a wav2vec2-base-sized classifier
 * (16 kHz, the original study's best approach) in the same process, one intra-op thread each.
 */
export async function benchModelCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, USAGE, {
    wav2vec2: { type: 'string', default: W2V_DEFAULT },
    runs: { type: 'string', default: '20' },
    python: { type: 'string', default: '/usr/bin/python3' },
  });
  if (parsed === null) return 0;
  const { values } = parsed;
  const runs = positiveInteger('--runs', values.runs);
  const { loadConfig } = await import('../config/load.js');
  const { config } = loadConfig({});
  const ours = resolveDataPath(config.model.path);
  if (!existsSync(values.wav2vec2)) {
    process.stderr.write(`generating ${values.wav2vec2} with ${EXPORT_SCRIPT} (needs Debian's python3-torch, ~1 min, 378 MB)\n`);
    execFileSync(values.python, [EXPORT_SCRIPT, values.wav2vec2], { stdio: 'inherit' });
  }
  const a = await timeModel(ours, 8000 * 3, runs * 10);
  const b = await timeModel(values.wav2vec2, 16000 * 3, runs);
  const lines = [
    `one 3 s window, onnxruntime-node, 1 intra-op thread, batch 1 (median of runs)`,
    `  ours (${ours}): ${a.median.toFixed(2)} ms (p90 ${a.p90.toFixed(2)} ms)`,
    `  wav2vec2-base classifier (${values.wav2vec2}): ${b.median.toFixed(1)} ms (p90 ${b.p90.toFixed(1)} ms)`,
    `  ratio: ours is ${(b.median / a.median).toFixed(0)}x cheaper`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

async function timeModel(path: string, samples: number, runs: number): Promise<{ median: number; p90: number }> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const audio = new Float32Array(samples);
  for (let i = 0; i < samples; i++) audio[i] = 0.1 * Math.sin(i * 0.05) * Math.sin(i * 0.0007);
  const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', audio, [1, samples]) };
  for (let i = 0; i < 3; i++) await session.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t);
  }
  await session.release();
  times.sort((x, y) => x - y);
  return { median: times[Math.floor(times.length / 2)]!, p90: times[Math.floor(times.length * 0.9)]! };
}
