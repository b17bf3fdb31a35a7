import { createServer, type Server, type Socket } from 'node:net';

export type AmiFields = Record<string, string>;

/**
 * A small AMI peer on 127.0.0.1 speaking the manager line protocol as Asterisk 22 does: the banner,
 * `Key: value` lines, a blank line after each message. Login is checked; QueueChangePriorityCaller is
 * answered like app_queue (Success, or Error "No such caller"/"No such queue").
 */
export class AmiTestServer {
  readonly received: AmiFields[] = [];
  /** queue name -> channel names waiting in it */
  readonly queues = new Map<string, Set<string>>();
  readonly sockets = new Set<Socket>();
  /** Answer priority changes in reverse order of arrival, two at a time (ActionID correlation check). */
  swapPairs = false;
  #held: Array<() => void> = [];
  #server: Server;
  port = 0;

  constructor(
    readonly user: string,
    readonly secret: string,
  ) {
    this.#server = createServer((socket) => this.#serve(socket));
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as { port: number }).port;
    return this;
  }

  /** Drops every client connection (Asterisk restart, `manager reload`). */
  dropClients(): void {
    for (const s of this.sockets) s.destroy();
  }

  actions(name: string): AmiFields[] {
    return this.received.filter((m) => m.Action?.toLowerCase() === name.toLowerCase());
  }

  async close(): Promise<void> {
    this.dropClients();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.write('Asterisk Call Manager/9.0.0\r\n');
    let buf = '';
    let authed = false;
    socket.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
        const raw = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const msg: AmiFields = {};
        for (const line of raw.split('\r\n')) {
          const i = line.indexOf(':');
          if (i > 0) msg[canonical(line.slice(0, i).trim())] = line.slice(i + 1).trim();
        }
        this.received.push(msg);
        const reply = (fields: AmiFields) =>
          socket.write(Object.entries({ ...fields, ActionID: msg.ActionID ?? '' }).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n');
        const action = (msg.Action ?? '').toLowerCase();
        if (action === 'login') {
          if (msg.Username === this.user && msg.Secret === this.secret) {
            authed = true;
            reply({ Response: 'Success', Message: 'Authentication accepted' });
          } else {
            reply({ Response: 'Error', Message: 'Authentication failed' });
            socket.end();
          }
        } else if (!authed) {
          reply({ Response: 'Error', Message: 'Permission denied' });
        } else if (action === 'queuechangeprioritycaller') {
          const waiting = this.queues.get(msg.Queue ?? '');
          const answer = () =>
            !waiting
              ? reply({ Response: 'Error', Message: 'Unable to change priority caller on queue: No such queue' })
              : !waiting.has(msg.Caller ?? '')
                ? reply({ Response: 'Error', Message: 'Unable to change priority caller on queue: No such caller' })
                : reply({ Response: 'Success', Message: 'Priority change for caller on queue' });
          if (this.swapPairs) {
            this.#held.push(answer);
            if (this.#held.length === 2) this.#held.splice(0).reverse().forEach((f) => f());
          } else answer();
        } else if (action === 'events' || action === 'ping') {
          reply({ Response: 'Success', Ping: 'Pong', Events: 'Off' });
        } else {
          reply({ Response: 'Error', Message: 'Invalid/unknown command' });
        }
      }
    });
  }
}

function canonical(key: string): string {
  const lower = key.toLowerCase();
  const known: Record<string, string> = { actionid: 'ActionID', action: 'Action', username: 'Username', secret: 'Secret' };
  return known[lower] ?? key;
}
