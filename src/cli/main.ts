#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PACKAGE_ROOT } from '../config/paths.js';
import { SerError } from '../errors.js';
import { UsageError } from './usage.js';

const USAGE = `ser-ari: real-time speech emotion recognition for Asterisk calls

usage:
  ser-ari run [--config ser-ari.yaml]        the live service (npm start)
  ser-ari analyze <wav file or folder>...    emotion timeline of recorded calls (--json | --csv)
  ser-ari evaluate <folder>                  accuracy on your own labelled clips, with caller history (--json)
  ser-ari bench [--calls 50,100,...]          throughput/latency benchmark (npm run bench)
  ser-ari bench-model                        our model against a wav2vec2-base-sized one (npm run bench:model)
  ser-ari --version

Each command has its own --help.`;

const COMMANDS: Record<string, () => Promise<(argv: string[]) => Promise<number>>> = {
  run: async () => (await import('./run.js')).runCommand,
  analyze: async () => (await import('./analyze.js')).analyzeCommand,
  evaluate: async () => (await import('./evaluate.js')).evaluateCommand,
  bench: async () => (await import('./bench.js')).benchCommand,
  'bench-model': async () => (await import('./bench-model.js')).benchModelCommand,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    process.stderr.write(USAGE + '\n');
    return 2;
  }
  if (command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (command === '-V' || command === '--version' || command === 'version') {
    process.stdout.write(version() + '\n');
    return 0;
  }
  const load = COMMANDS[command];
  if (!load) return usageError('ser-ari', `unknown command "${command}"`);
  try {
    return await (await load())(rest);
  } catch (err) {
    if (err instanceof UsageError) return usageError(`ser-ari ${command}`, err.message);
    throw err;
  }
}

function usageError(prefix: string, message: string): number {
  process.stderr.write(`${prefix}: ${message} (${prefix} --help)\n`);
  return 2;
}

function version(): string {
  return (JSON.parse(readFileSync(resolve(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof SerError) process.stderr.write(`ser-ari: ${err.message} [${err.code}]\n`);
    else process.stderr.write(`ser-ari: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
