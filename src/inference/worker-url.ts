import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts the worker module `name` that sits beside `base`. Built code runs `name.js` directly; under
 * vitest or tsx only the `.ts` source exists, so a one-line bootstrap registers tsx's loader first
 * (Node 20 does not apply `--import` from a worker's execArgv).
 */
export function startWorker(base: string, name: string, options: WorkerOptions): Worker {
  const js = new URL(`./${name}.js`, base);
  if (existsSync(fileURLToPath(js))) return new Worker(js, options);
  const ts = new URL(`./${name}.ts`, base).href;
  const bootstrap = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(ts)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
