import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A wrong command line: one line on stderr and exit code 2, never a stack trace. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** node:util parseArgs's refusals (unknown option, missing value, stray positional). */
export function isParseArgsError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

export function positiveNumber(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} wants a positive number, got "${value}"`);
  return n;
}

export function positiveInteger(flag: string, value: string): number {
  const n = positiveNumber(flag, value);
  if (!Number.isInteger(n)) throw new UsageError(`${flag} wants a whole number, got "${value}"`);
  return n;
}

type Options = NonNullable<ParseArgsConfig['options']>;
export type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>>;

const NEGATIVE_NUMBER = /^-[\d.]/;

/**
 * parseArgs for one command, with `--help`/`-h` added: null when help was asked for (the usage is then
 * printed on stdout). A negative number after a flag that takes a value (`--seconds -5`) is taken as
 * its value, so the flag's own check refuses it by name rather than parseArgs calling it ambiguous.
 * Every refusal is a UsageError of one line.
 */
export function parseCommand<O extends Options>(argv: string[], usage: string, options: O, allowPositionals = false): Parsed<O> | null {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage + '\n');
    return null;
  }
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (takesValue(options, arg) && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      args.push(`${arg}=${next}`);
      i++;
    } else {
      args.push(arg);
    }
  }
  let parsed: Parsed<O>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true }) as Parsed<O>;
  } catch (err) {
    if (isParseArgsError(err)) throw new UsageError((err as Error).message.split('\n')[0]!.trim());
    throw err;
  }
  if (!allowPositionals && parsed.positionals.length > 0) throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`);
  return parsed;
}

function takesValue(options: Options, arg: string): boolean {
  return arg.startsWith('--') && !arg.includes('=') && options[arg.slice(2)]?.type === 'string';
}

/** Refuses flags that cannot be combined. */
export function exclusive(values: Record<string, unknown>, ...flags: string[]): void {
  const given = flags.filter((f) => values[f] !== undefined && values[f] !== false);
  if (given.length > 1) throw new UsageError(`${given.map((f) => `--${f}`).join(' and ')} cannot be used together`);
}
