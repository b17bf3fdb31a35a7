/**
 * FreeSWITCH event socket (ESL) framing, as measured in shared/freeswitch/recorded (FreeSWITCH 1.10.12):
 *
 * ```
 *   Content-Type: api/response\n          envelope: "Name: value" lines, not URL-encoded,
 *   Content-Length: 4\n                   ended by an empty line
 *   \n
 *   true                                  body: exactly Content-Length BYTES (often no final \n)
 *
 *   Content-Length: 872\n                 an event: the body is itself an event
 *   Content-Type: text/event-plain\n
 *   \n
 *   Event-Name: BACKGROUND_JOB\n          text/event-plain: URL-encoded "Name: value" lines;
 *   Job-UUID: eb1e97fc-...\n              duplicate names exist (Hangup-Cause twice): the first is kept
 *   Content-Length: 14\n                  an inner Content-Length announces the event's own body,
 *   \n                                    after an empty line
 *   +OK 1 total.\n
 * ```
 * text/event-json carries one JSON object instead, the event body in the key `_body`.
 * Messages without a body: auth/request, command/reply (the answer is in Reply-Text).
 *
 * Nothing a peer sends throws out of `push()`: an oversized header block or body is reported as a
 * `MessageTooLarge` result and the parser stops (the connection must be dropped); a broken event
 * body is returned as `parseEventBody()` = null and counted by the caller.
 */

export interface EslMessage {
  /** The envelope, as sent (Content-Type, Content-Length, Reply-Text, Job-UUID ...). */
  headers: Record<string, string>;
  /** Exactly Content-Length bytes, decoded as UTF-8; absent when there was no Content-Length. */
  body?: string;
}

export interface EslEvent {
  /** Event-Name (CHANNEL_ANSWER, CUSTOM, BACKGROUND_JOB ...). */
  name: string;
  /** Event-Subclass for CUSTOM events (ser::monitor, mod_audio_fork::connect ...). */
  subclass?: string;
  /** Every header, decoded; for duplicated names the first value. */
  headers: Record<string, string>;
  /** The event's own body (BACKGROUND_JOB output, mod_audio_fork JSON payloads). */
  body?: string;
  format: 'plain' | 'json';
}

export interface EslParserLimits {
  /** Longest envelope header block, bytes (default 64 KiB). */
  maxHeaderBytes?: number;
  /** Largest Content-Length accepted (default 32 MiB: `show channels as json` with many calls). */
  maxBodyBytes?: number;
}

const NL = 0x0a;

/** Incremental framing of the byte stream into messages; feed it whatever TCP delivers. */
export class EslParser {
  readonly #maxHeader: number;
  readonly #maxBody: number;
  #buf: Buffer = Buffer.alloc(0);
  /** Where the search for the blank line resumes (bytes before it were already scanned). */
  #scanFrom = 0;
  #pending: Record<string, string> | null = null;
  #bodyLength = 0;
  #failed: string | null = null;

  constructor(limits: EslParserLimits = {}) {
    this.#maxHeader = limits.maxHeaderBytes ?? 64 * 1024;
    this.#maxBody = limits.maxBodyBytes ?? 32 * 1024 * 1024;
  }

  /** Why the stream became unparseable (the parser then ignores further input), or null. */
  get failure(): string | null {
    return this.#failed;
  }

  /** Bytes held waiting for the rest of a message. */
  get buffered(): number {
    return this.#buf.length;
  }

  /** Appends bytes and returns every message they complete, in order. */
  push(chunk: Uint8Array): EslMessage[] {
    if (this.#failed) return [];
    this.#buf = this.#buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buf, chunk]);
    const out: EslMessage[] = [];
    for (;;) {
      if (this.#pending) {
        if (this.#buf.length < this.#bodyLength) break;
        const body = this.#buf.toString('utf8', 0, this.#bodyLength);
        this.#buf = this.#buf.subarray(this.#bodyLength);
        out.push({ headers: this.#pending, body });
        this.#pending = null;
        this.#scanFrom = 0;
        continue;
      }
      // Leading newlines between messages are tolerated (FreeSWITCH never sends them; some proxies do).
      let start = 0;
      while (start < this.#buf.length && this.#buf[start] === NL) start++;
      if (start > 0) {
        this.#buf = this.#buf.subarray(start);
        this.#scanFrom = Math.max(0, this.#scanFrom - start);
      }
      const end = this.#buf.indexOf('\n\n', Math.max(0, this.#scanFrom - 1));
      if (end < 0) {
        this.#scanFrom = this.#buf.length;
        if (this.#buf.length > this.#maxHeader) this.#fail(`ESL header block longer than ${this.#maxHeader} bytes`);
        break;
      }
      if (end > this.#maxHeader) {
        this.#fail(`ESL header block longer than ${this.#maxHeader} bytes`);
        break;
      }
      const headers = parseHeaderLines(this.#buf.toString('utf8', 0, end), false);
      this.#buf = this.#buf.subarray(end + 2);
      this.#scanFrom = 0;
      const lengthText = headers['Content-Length'];
      if (lengthText === undefined) {
        out.push({ headers });
        continue;
      }
      const length = Number(lengthText);
      if (!Number.isInteger(length) || length < 0 || length > this.#maxBody) {
        this.#fail(`ESL Content-Length ${JSON.stringify(lengthText)} invalid or above ${this.#maxBody}`);
        break;
      }
      this.#pending = headers;
      this.#bodyLength = length;
    }
    return out;
  }

  #fail(reason: string): void {
    this.#failed = reason;
    this.#buf = Buffer.alloc(0);
    this.#pending = null;
  }
}

/** "Name: value" lines; the first of duplicated names wins (their values were equal in every recording). */
function parseHeaderLines(text: string, urlDecoded: boolean): Record<string, string> {
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const colon = line.indexOf(': ');
    const name = colon < 0 ? line.replace(/:$/, '') : line.slice(0, colon);
    if (name in headers) continue;
    const raw = colon < 0 ? '' : line.slice(colon + 2);
    headers[name] = urlDecoded ? safeDecode(raw) : raw;
  }
  return headers;
}

function safeDecode(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // a stray '%': keep the text as sent rather than throw on the socket's data handler
  }
}

/**
 * The event inside a text/event-plain or text/event-json message; null for any other Content-Type or a
 * body that does not parse (the caller counts it).
 */
export function parseEventBody(msg: EslMessage): EslEvent | null {
  const type = msg.headers['Content-Type'];
  const body = msg.body;
  if (body === undefined) return null;
  if (type === 'text/event-json') return parseJsonEvent(body);
  if (type === 'text/event-plain') return parsePlainEvent(body);
  return null;
}

function parsePlainEvent(text: string): EslEvent | null {
  const split = text.indexOf('\n\n');
  const headers = parseHeaderLines(split < 0 ? text : text.slice(0, split), true);
  const name = headers['Event-Name'];
  if (!name) return null;
  const event: EslEvent = { name, headers, format: 'plain' };
  if (headers['Event-Subclass']) event.subclass = headers['Event-Subclass'];
  const inner = headers['Content-Length'];
  if (inner !== undefined && split >= 0) {
    // The inner length counts bytes; the header block before it is ASCII (URL-encoded), so the body
    // starts at the same offset in bytes and in characters.
    const bytes = Buffer.from(text.slice(split + 2), 'utf8');
    event.body = bytes.toString('utf8', 0, Math.min(bytes.length, Number(inner) || 0));
  }
  return event;
}

function parseJsonEvent(text: string): EslEvent | null {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return null;
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) return null;
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  let body: string | undefined;
  for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
    if (k === '_body') body = typeof v === 'string' ? v : JSON.stringify(v);
    else headers[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  const name = headers['Event-Name'];
  if (!name) return null;
  const event: EslEvent = { name, headers, format: 'json' };
  if (headers['Event-Subclass']) event.subclass = headers['Event-Subclass'];
  if (body !== undefined) event.body = body;
  return event;
}
