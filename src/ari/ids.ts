import { randomBytes } from 'node:crypto';

/**
 * Every channel and bridge ser-ari creates on Asterisk carries a preset id `ser-<kind>-<nonce>-<callId>`
 * (and, for channels, Stasis args `ser-own,<kind>,<callId>`). The id alone lets reconcile tell our
 * objects from anyone else's after a reconnect or a restart of either side, and tie each to its call.
 */
export const OWN_KINDS = ['snoop', 'em', 'bridge', 'whisper', 'agent', 'xfer', 'qhold', 'qcall', 'qagent', 'listen', 'super', 'lbridge'] as const;
export type OwnKind = (typeof OWN_KINDS)[number];

/**
 * The built-in queue's objects (src/queue/): holding bridge `ser-qhold-<nonce>-<queue>`, conversation
 * bridge `ser-qcall-<nonce>-<callId>`, agent leg `ser-qagent-<nonce>-<queue>`. After a crash the queue
 * takes them over (a caller talking to an agent keeps talking); without a queue they are orphans.
 */
export const QUEUE_KINDS: readonly OwnKind[] = ['qhold', 'qcall', 'qagent'];

/** Bridges among our objects (the rest are channels). */
export const OWN_BRIDGE_KINDS: readonly OwnKind[] = ['bridge', 'xfer', 'qhold', 'qcall', 'lbridge'];

/**
 * Listen-in (a supervisor hears the call): snoop `ser-listen-…` on the caller (spy in/both), the
 * supervisor's channel `ser-super-…` and the mixing bridge `ser-lbridge-…` that joins them.
 */

export const OWN_ARG = 'ser-own';
const OWN_ID = new RegExp(`^ser-(${OWN_KINDS.join('|')})-([a-z0-9]{8})-(.+)$`);

export function ownId(kind: OwnKind, callId: string): string {
  return `ser-${kind}-${randomBytes(5).toString('hex').slice(0, 8)}-${callId}`;
}

/** Stasis args (snoop appArgs / externalMedia data) for one of our channels. */
export function ownArgs(kind: OwnKind, callId: string): string {
  return `${OWN_ARG},${kind},${callId}`;
}

/**
 * Our kind and call id, or null for anything we did not create. An agent we originate may be a Local
 * channel: Asterisk then lists its second half as `<our id>;2`, a channel that lives and dies with ours
 * (hanging it up alone ends the agent's call), so it is not one of our objects.
 */
export function parseOwnId(id: string): { kind: OwnKind; callId: string } | null {
  if (id.endsWith(';2')) return null;
  const m = OWN_ID.exec(id);
  return m ? { kind: m[1] as OwnKind, callId: m[3]! } : null;
}

/** True for a StasisStart of a channel we created ourselves (never a call). */
export function isOwnChannel(id: string, args: readonly string[]): boolean {
  return args[0] === OWN_ARG || parseOwnId(id) !== null;
}
