import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/config/paths.js';

/** shared/freeswitch/recorded: traffic of a real FreeSWITCH 1.10.12 with mod_audio_fork. */
export const RECORDED = join(PACKAGE_ROOT, '../shared/freeswitch/recorded');

export type Entry =
  | { dir: 'esl-out'; t: number; data: { conn: string; raw: string } }
  | { dir: 'esl-in'; t: number; data: { conn: string; headers: Record<string, string>; body?: string } }
  | { dir: 'ws-in'; t: number; data: Record<string, unknown> }
  | { dir: 'note'; t: number; data: unknown };

export function recordingNames(): string[] {
  return readdirSync(RECORDED)
    .filter((n) => n.endsWith('.json'))
    .sort();
}

export function loadRecording(name: string): Entry[] {
  return JSON.parse(readFileSync(join(RECORDED, name), 'utf8')) as Entry[];
}

export type InMsg = { headers: Record<string, string>; body?: string };

/** One ESL connection of a recording: what arrived before the first command, and after each command. */
export interface ConnScript {
  conn: string;
  before: InMsg[];
  steps: { raw: string; replies: InMsg[] }[];
}

export function connScripts(entries: Entry[]): ConnScript[] {
  const byConn = new Map<string, ConnScript>();
  for (const e of entries) {
    if (e.dir !== 'esl-in' && e.dir !== 'esl-out') continue;
    let s = byConn.get(e.data.conn);
    if (!s) byConn.set(e.data.conn, (s = { conn: e.data.conn, before: [], steps: [] }));
    if (e.dir === 'esl-out') s.steps.push({ raw: e.data.raw, replies: [] });
    else {
      const msg: InMsg = { headers: e.data.headers, ...(e.data.body !== undefined ? { body: e.data.body } : {}) };
      (s.steps.at(-1)?.replies ?? s.before).push(msg);
    }
  }
  return [...byConn.values()];
}

/** The bytes FreeSWITCH sent for a recorded message: the envelope in recorded order, a blank line, the body. */
export function wire(msg: InMsg): Buffer {
  const head = Object.entries(msg.headers)
    .map(([k, v]) => `${k}: ${v}\n`)
    .join('');
  return Buffer.concat([Buffer.from(`${head}\n`), Buffer.from(msg.body ?? '', 'utf8')]);
}
