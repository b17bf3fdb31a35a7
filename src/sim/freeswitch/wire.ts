/**
 * The simulator's events, shaped like the recorded ones (shared/freeswitch/recorded, 07 on the `obs`
 * connection): the same header names in the same order, duplicates kept (`Hangup-Cause` twice in
 * CHANNEL_HANGUP_COMPLETE, in both formats), then the channel's variables as `variable_*`.
 */
export type Pairs = [string, string][];

export interface SimEvent {
  name: string;
  subclass?: string;
  pairs: Pairs;
  body?: string;
}

/** FreeSWITCH's switch_url_encode keeps these as they are (seen in the recordings: `/`, `(`, `)`). */
function urlEncode(v: string): string {
  return encodeURIComponent(v).replace(/%2F/g, '/').replace(/%28/g, '(').replace(/%29/g, ')');
}

export function eventPlain(e: SimEvent): Buffer {
  let text = e.pairs.map(([k, v]) => `${k}: ${urlEncode(v)}\n`).join('');
  if (e.body !== undefined) text += `Content-Length: ${Buffer.byteLength(e.body)}\n\n${e.body}`;
  else text += '\n';
  const body = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\nContent-Type: text/event-plain\n\n`), body]);
}

export function eventJson(e: SimEvent): Buffer {
  // Built by hand: JSON.stringify cannot repeat a key, and FreeSWITCH does (Hangup-Cause).
  const parts = e.pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
  if (e.body !== undefined) parts.push(`"Content-Length":"${Buffer.byteLength(e.body)}"`, `"_body":${JSON.stringify(e.body)}`);
  const body = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\nContent-Type: text/event-json\n\n`), body]);
}

export function reply(text: string, extra: Record<string, string> = {}): Buffer {
  const lines = [`Content-Type: command/reply`, `Reply-Text: ${text}`, ...Object.entries(extra).map(([k, v]) => `${k}: ${v}`)];
  return Buffer.from(`${lines.join('\n')}\n\n`);
}

export function apiResponse(body: string): Buffer {
  return Buffer.concat([Buffer.from(`Content-Type: api/response\nContent-Length: ${Buffer.byteLength(body)}\n\n`), Buffer.from(body, 'utf8')]);
}

export function disconnectNotice(body: string): Buffer {
  return Buffer.concat([Buffer.from(`Content-Type: text/disconnect-notice\nContent-Length: ${Buffer.byteLength(body)}\n\n`), Buffer.from(body, 'utf8')]);
}

export const AUTH_REQUEST = Buffer.from('Content-Type: auth/request\n\n');
export const GOODBYE = 'Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n';
export const SHUTTING_DOWN = 'The system is being shut down.\n';
