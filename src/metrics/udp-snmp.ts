import { readFileSync } from 'node:fs';

/**
 * `RcvbufErrors` of the `Udp:` lines in /proc/net/snmp (Linux): datagrams the kernel dropped because a
 * socket's receive buffer was full. Host-wide (every UDP socket of this network namespace); null where
 * the file does not exist or has no such column.
 */
export function readUdpRcvbufErrors(path = '/proc/net/snmp'): number | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  return parseUdpRcvbufErrors(text);
}

export function parseUdpRcvbufErrors(text: string): number | null {
  const lines = text.split('\n').filter((l) => l.startsWith('Udp:'));
  if (lines.length < 2) return null;
  const names = lines[0]!.trim().split(/\s+/);
  const values = lines[1]!.trim().split(/\s+/);
  const i = names.indexOf('RcvbufErrors');
  if (i < 0 || values[i] === undefined) return null;
  const n = Number(values[i]);
  return Number.isFinite(n) ? n : null;
}
