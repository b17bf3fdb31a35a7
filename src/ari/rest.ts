import { SerError } from '../errors.js';

/** An ARI request that Asterisk refused or did not answer; `status` is the HTTP status when known. */
export class AriError extends SerError {
  readonly status: number | undefined;
  readonly method: string;
  readonly resource: string;

  constructor(method: string, resource: string, detail: string, status: number | undefined, timedOut = false) {
    super(timedOut ? 'ARI_TIMEOUT' : 'ARI_REQUEST_FAILED', `${detail} [method:${method}, id:${resource}${status ? `, status:${status}` : ''}]`);
    this.name = 'AriError';
    this.status = status;
    this.method = method;
    this.resource = resource;
  }
}

/*
 * ari-client rejects with `new Error(<response body>)` and drops the HTTP status. Asterisk's bodies are
 * stable per status (see shared/asterisk/recorded/06-errors-and-reads), so the status is recovered
 * from them; anything unrecognised keeps status undefined and is treated as a plain failure.
 */
const STATUS_BY_MESSAGE: Array<[RegExp, number]> = [
  [/not found/i, 404],
  [/not in Stasis/i, 409],
  [/isn't playing music|already exists/i, 409],
  [/Authentication required/i, 401],
  [/not subscribed|does not match|not in this bridge|Unprocessable/i, 422],
  [/is required|must be|Invalid|must be specified/i, 400],
  [/Allocation failed|internal error/i, 500],
];

/**
 * `operation` is the request as ariRequest names it ('POST addChannel'). One body needs it: "Channel not
 * in Stasis application" is 409 on a channel operation but 422 on a bridge's addChannel (recording 13).
 */
export function describeAriFailure(err: unknown, operation?: string): { message: string; status: number | undefined } {
  const raw = err instanceof Error ? err.message : String(err);
  let message = raw;
  try {
    const body = JSON.parse(raw) as { message?: unknown; error?: unknown };
    if (typeof body.message === 'string') message = body.message;
    else if (typeof body.error === 'string') message = body.error;
  } catch {
    // not a JSON body: a network error or ari-client's own message
  }
  if (operation === 'POST addChannel' && /not in Stasis/i.test(message)) return { message, status: 422 };
  const status = STATUS_BY_MESSAGE.find(([re]) => re.test(message))?.[1];
  return { message, status };
}

/** Runs one ARI request with a deadline; rejects with an AriError carrying status, method and id. */
export async function ariRequest<T>(method: string, resource: string, timeoutMs: number, run: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AriError(method, resource, `no answer within ${timeoutMs} ms`, undefined, true)), timeoutMs);
  });
  try {
    return await Promise.race([run(), deadline]);
  } catch (err) {
    if (err instanceof AriError) throw err;
    const { message, status } = describeAriFailure(err, method);
    throw new AriError(method, resource, message, status);
  } finally {
    clearTimeout(timer);
  }
}

export function hasStatus(err: unknown, ...statuses: number[]): boolean {
  return err instanceof AriError && err.status !== undefined && statuses.includes(err.status);
}
