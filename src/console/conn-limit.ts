import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionLimits {
  /** Open connections at once, all clients together. */
  maxConnections: number;
  /** Open connections at once from one remote address. */
  maxConnectionsPerIp: number;
}

const REFUSAL = 'HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Type: application/json\r\nRetry-After: 5\r\n';
const BODY = '{"error":{"code":"TOO_MANY_CONNECTIONS","message":"too many open connections to the console"}}';

/**
 * Caps a server's open TCP connections (long-lived WebSocket and SSE consumers included), in total and
 * per remote address. A connection over a cap gets a 429 and is closed before any request is read.
 */
export function limitConnections(server: Server, limits: ConnectionLimits, onRefused: (ip: string) => void): { readonly open: number } {
  const perIp = new Map<string, number>();
  let open = 0;
  server.on('connection', (socket: Socket) => {
    const ip = socket.remoteAddress ?? 'unknown';
    const fromIp = perIp.get(ip) ?? 0;
    if (open >= limits.maxConnections || fromIp >= limits.maxConnectionsPerIp) {
      onRefused(ip);
      socket.on('error', () => undefined);
      socket.end(`${REFUSAL}Content-Length: ${BODY.length}\r\n\r\n${BODY}`);
      socket.destroySoon();
      return;
    }
    open++;
    perIp.set(ip, fromIp + 1);
    socket.once('close', () => {
      open--;
      const n = (perIp.get(ip) ?? 1) - 1;
      if (n === 0) perIp.delete(ip);
      else perIp.set(ip, n);
    });
  });
  return {
    get open() {
      return open;
    },
  };
}
