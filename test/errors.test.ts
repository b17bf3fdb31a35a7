import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, SerError } from '../src/errors.js';

describe('error codes', () => {
  it('each code is documented in docs/errors.md with the same meaning, and nothing else is', () => {
    const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| `([A-Z_]+)` \| ([^|]+) \|/gm)].map((m) => [m[1]!, m[2]!.trim()]);
    expect(Object.fromEntries(rows)).toEqual(ERROR_CODES);
  });

  it('SerError carries its code and keeps the cause', () => {
    const cause = new Error('inner');
    const err = new SerError('MODEL_CORRUPT', 'bad model', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('MODEL_CORRUPT');
    expect(err.cause).toBe(cause);
  });
});
