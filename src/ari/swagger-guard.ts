import { createRequire } from 'node:module';

interface SwaggerResponse {
  status?: number;
  statusText?: string;
  data?: string;
  obj?: unknown;
  headers?: Record<string, string>;
}

interface SwaggerRequest {
  url?: string;
  on: Record<string, ((response: unknown) => unknown) | undefined>;
}

interface ShredClient {
  shred: { request(obj: SwaggerRequest): unknown };
  execute(obj: SwaggerRequest): unknown;
}

let installed = false;

/**
 * swagger-client (ari-client's HTTP layer, for the API description and every REST call) parses each
 * JSON answer inside the HTTP client's callback; a body that is not JSON (a proxy's HTML page, a
 * truncated answer) throws a SyntaxError out of the event loop and ends the process. checkApiDocs
 * validates the description first, but it can change between the check and swagger-client's own fetch,
 * and REST answers are never checked. So every handler swagger-client gives its HTTP client is wrapped:
 * a throw becomes that request's error callback, which ari-client turns into a rejected promise.
 * Installed once per process; idempotent.
 */
export function guardSwaggerClient(): void {
  if (installed) return;
  installed = true;
  const require = createRequire(import.meta.url);
  // The copy ari-client loads (resolved from ari-client's own location).
  const ariMain = require.resolve('ari-client');
  const swagger = createRequire(ariMain)('swagger-client') as { ShredHttpClient?: { prototype: ShredClient } };
  const proto = swagger.ShredHttpClient?.prototype;
  if (!proto || typeof proto.execute !== 'function') return;
  const execute = proto.execute;
  proto.execute = function guardedExecute(this: ShredClient, obj: SwaggerRequest): unknown {
    const callerOn = { ...obj.on };
    const shred = this.shred;
    const request = shred.request;
    // execute() swaps obj.on for handlers that parse the body, then calls shred.request(obj).
    shred.request = function guardedRequest(this: unknown, o: SwaggerRequest): unknown {
      const handlers = o.on;
      const wrapped: SwaggerRequest['on'] = {};
      for (const [event, handler] of Object.entries(handlers)) {
        if (typeof handler !== 'function') continue;
        wrapped[event] = (response: unknown) => {
          try {
            return handler(response);
          } catch (err) {
            const fail = callerOn.error;
            const res = response as { status?: number };
            const failure: SwaggerResponse = {
              status: res.status ?? 0,
              statusText: `unusable answer from ${o.url ?? 'ARI'}: ${(err as Error).message}`,
              data: JSON.stringify({ message: `unusable answer from ARI: ${(err as Error).message}` }),
              headers: {},
            };
            if (typeof fail === 'function' && event !== 'error') {
              try {
                return fail(failure);
              } catch {
                return undefined;
              }
            }
            return undefined;
          }
        };
      }
      o.on = wrapped;
      return request.call(this, o);
    };
    try {
      return execute.call(this, obj);
    } finally {
      shred.request = request;
    }
  };
}
