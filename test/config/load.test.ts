import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { SerError } from '../../src/errors.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'ser-config-'));
}

function errorOf(fn: () => unknown): SerError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SerError) return err;
    throw err;
  }
  throw new Error('expected a SerError');
}

describe('loadConfig', () => {
  it('gives the documented defaults with no file and no environment (simulator mode)', () => {
    const { config, source } = loadConfig({ env: {}, cwd: tempDir() });
    expect(source).toBeNull();
    expect(config.ari.url).toBeNull();
    expect(config.ari.app).toBe('ser');
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8090, token: null });
    expect(config.rtp.ports).toBe('40000-40999');
  });

  it('reads ./ser-ari.yaml when present and lets the environment override it', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'ser-ari.yaml'), 'ari:\n  url: http://pbx:8088\n  user: ser\nhttp:\n  port: 9000\n');
    const { config, source } = loadConfig({ cwd: dir, env: { SER_HTTP_PORT: '9100', SER_ARI_PASSWORD: 'pw' } });
    expect(source).toBe(join(dir, 'ser-ari.yaml'));
    expect(config.ari.url).toBe('http://pbx:8088');
    expect(config.ari.password).toBe('pw');
    expect(config.http.port).toBe(9100);
  });

  it('rejects an unknown key, naming it', () => {
    const dir = tempDir();
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'rtp:\n  portz: 1\n');
    const err = errorOf(() => loadConfig({ file, env: {} }));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('portz');
    expect(err.message).toContain(file);
  });

  it('names the environment variable behind a bad value and the expected form', () => {
    const err = errorOf(() => loadConfig({ env: { SER_RTP_PORTS: '40000:40999' }, cwd: tempDir() }));
    expect(err.message).toMatch(/rtp\.ports \(from SER_RTP_PORTS\): .*40000-40999/);
    const port = errorOf(() => loadConfig({ env: { SER_HTTP_PORT: 'eighty' }, cwd: tempDir() }));
    expect(port.message).toMatch(/http\.port \(from SER_HTTP_PORT\): .*number/i);
  });

  it('rejects an inverted port range and a short console token', () => {
    const err = errorOf(() =>
      loadConfig({ env: { SER_RTP_PORTS: '41000-40000', SER_CONSOLE_TOKEN: 'short' }, cwd: tempDir() }),
    );
    expect(err.message).toContain('rtp.ports');
    expect(err.message).toContain('http.token');
  });

  it('reports YAML syntax errors and a missing explicit file', () => {
    const dir = tempDir();
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'ari: [unclosed\n');
    expect(errorOf(() => loadConfig({ file, env: {} })).code).toBe('CONFIG_INVALID');
    expect(errorOf(() => loadConfig({ file: join(dir, 'none.yaml'), env: {} })).code).toBe('CONFIG_FILE_UNREADABLE');
  });
});

describe('config/ser-ari.example.yaml', () => {
  it('is valid and documents exactly the defaults', () => {
    const example = loadConfig({ file: join(process.cwd(), 'config/ser-ari.example.yaml'), env: {} }).config;
    expect(example).toEqual(loadConfig({ env: {}, cwd: tempDir() }).config);
  });

  it('shows every key, so an admin finds each setting in it', () => {
    const written = parseYaml(readFileSync(join(process.cwd(), 'config/ser-ari.example.yaml'), 'utf8')) as unknown;
    const defaults = loadConfig({ env: {}, cwd: tempDir() }).config as unknown;
    const missing = keyPaths(defaults).filter((path) => !keyPaths(written).includes(path));
    expect(missing).toEqual([]);
  });
});

/** Dotted paths of every key of nested plain objects (arrays and nulls are leaves). */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([k, v]) => [prefix + k, ...keyPaths(v, `${prefix}${k}.`)]);
}
