#!/usr/bin/env node
import { SerError } from '../errors.js';
import { UsageError, isParseArgsError } from './usage.js';

const USAGE = `ser-ari: real-time speech emotion recognition for Asterisk calls

usage:
  ser-ari run [--config ser-ari.yaml]        the live service (npm start)
  ser-ari analyze <wav file or folder>...    emotion timeline of recorded calls (--json | --csv)
  ser-ari bench [--calls 50,100,...]          throughput/latency benchmark (npm run bench)
  ser-ari bench-model                        our model against a wav2vec2-base-sized one (npm run bench:model)`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return (await import('./run.js')).runCommand(rest);
    case 'analyze':
      return (await import('./analyze.js')).analyzeCommand(rest);
    case 'bench':
      return (await import('./bench.js')).benchCommand(rest);
    case 'bench-model':
      return (await import('./bench-model.js')).benchModelCommand(rest);
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(USAGE + '\n');
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command "${command}"\n\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError || isParseArgsError(err)) {
      process.stderr.write(`ser-ari: ${(err as Error).message} (ser-ari --help)\n`);
      process.exitCode = 2;
      return;
    }
    if (err instanceof SerError) process.stderr.write(`ser-ari: ${err.message} [${err.code}]\n`);
    else process.stderr.write(`ser-ari: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
