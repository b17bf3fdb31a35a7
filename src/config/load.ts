import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { SerError } from '../errors.js';
import { configSchema, type Config } from './schema.js';

/** Environment variables that override the config file (documented in the README). */
export const ENV_OVERRIDES = {
  SER_ARI_URL: ['ari', 'url'],
  SER_ARI_USER: ['ari', 'user'],
  SER_ARI_PASSWORD: ['ari', 'password'],
  SER_ARI_APP: ['ari', 'app'],
  SER_HTTP_HOST: ['http', 'host'],
  SER_HTTP_PORT: ['http', 'port'],
  SER_CONSOLE_TOKEN: ['http', 'token'],
  SER_RTP_HOST: ['rtp', 'host'],
  SER_RTP_PORTS: ['rtp', 'ports'],
  SER_MODEL: ['model', 'path'],
  SER_RULES: ['rules'],
  SER_LOG_LEVEL: ['log', 'level'],
  SER_HISTORY_PATH: ['history', 'path'],
  SER_HISTORY_URL: ['history', 'url'],
  SER_ESL_HOST: ['freeswitch', 'host'],
  SER_ESL_PORT: ['freeswitch', 'port'],
  SER_ESL_PASSWORD: ['freeswitch', 'password'],
  SER_FORK_PORT: ['freeswitch', 'forkPort'],
  SER_FORK_URL: ['freeswitch', 'forkUrl'],
} as const satisfies Record<string, readonly string[]>;

const NUMERIC_ENV = new Set<string>(['SER_HTTP_PORT', 'SER_ESL_PORT', 'SER_FORK_PORT']);

export const DEFAULT_CONFIG_FILE = 'ser-ari.yaml';

export interface LoadConfigOptions {
  /** Explicit file: must exist. Without it, ./ser-ari.yaml is read when present. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function loadConfig(opts: LoadConfigOptions = {}): { config: Config; source: string | null } {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const file = opts.file ?? (existsSync(`${cwd}/${DEFAULT_CONFIG_FILE}`) ? `${cwd}/${DEFAULT_CONFIG_FILE}` : null);
  const raw = file === null ? {} : readYaml(file);
  const fromEnv = new Map<string, string>();
  for (const [name, path] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    setPath(raw, path, NUMERIC_ENV.has(name) && /^\d+$/.test(value) ? Number(value) : value);
    fromEnv.set(path.join('.'), name);
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) throw configError(result.error, file, fromEnv);
  return { config: result.data, source: file };
}

function readYaml(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SerError('CONFIG_FILE_UNREADABLE', `cannot read config file ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    const detail = err instanceof YAMLParseError ? err.message : String(err);
    throw new SerError('CONFIG_INVALID', `${file} is not valid YAML: ${detail}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new SerError('CONFIG_INVALID', `${file}: the top level must be a mapping of sections (ari, http, rtp, ...)`);
  }
  return doc as Record<string, unknown>;
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function configError(error: z.ZodError, file: string | null, fromEnv: Map<string, string>): SerError {
  const lines = error.issues.map((issue) => {
    const key = issue.path.join('.') || '(top level)';
    const origin = fromEnv.get(key);
    const where = origin ? `${key} (from ${origin})` : key;
    return `  ${where}: ${issue.message}`;
  });
  const source = file ? `config file ${file}` : 'configuration';
  return new SerError('CONFIG_INVALID', `invalid ${source}:\n${lines.join('\n')}`);
}
