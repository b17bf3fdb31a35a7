export type HealthStatus = 'ok' | 'degraded' | 'down';

export interface HealthReport {
  status: HealthStatus;
  /** The switch connection, whichever it is (kept under this name for existing monitors: on FreeSWITCH it is the event socket). */
  ari: { connected: boolean; reconnects: number };
  /** The switch connection and which switch it is. */
  pbx?: { kind: 'asterisk' | 'freeswitch'; connected: boolean; reconnects: number };
  model: { loaded: boolean; name: string | null };
  /** The RTP port pool: each tapped call holds one port. */
  ports: { free: number; total: number };
  /** Why no RTP socket can be bound on rtp.host (e.g. EADDRNOTAVAIL: not a local address), else null. */
  rtpError?: string | null;
}

export type HealthInput = Omit<HealthReport, 'status'>;

/**
 * The status rule /healthz reports (docs/console.md): `down` when calls cannot be analysed at all (no
 * model, no ARI connection, or RTP cannot be received on rtp.host), `degraded` when new calls would be left untapped (no free RTP port),
 * `ok` otherwise.
 */
export function healthReport(input: HealthInput): HealthReport {
  let status: HealthStatus = 'ok';
  if (!input.model.loaded || !input.ari.connected || input.rtpError) status = 'down';
  else if (input.ports.free === 0) status = 'degraded';
  return { status, ...input };
}
