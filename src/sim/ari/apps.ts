import type { WebSocket } from 'ws';

/**
 * Stasis applications as Asterisk keeps them: registered by a websocket (`/ari/events?app=a,b`),
 * active while that websocket is open. A newer websocket for the same app replaces the older one
 * (the older one gets ApplicationReplaced and no more events), as Asterisk does. Explicit
 * subscriptions (POST /applications/{app}/subscription) live here; the implicit ones (a channel in
 * Stasis, a channel the app created, a bridge the app put channels in) are the PBX's business.
 */
export const ASTERISK_ID = '02:fc:00:00:00:01';

export type EventSink = (app: string, event: Record<string, unknown>) => void;

interface AppState {
  socket: WebSocket | null;
  subscribeAll: boolean;
  channels: Set<string>;
  bridges: Set<string>;
  endpoints: Set<string>;
}

export class AppHub {
  readonly #apps = new Map<string, AppState>();
  readonly #sink: EventSink;
  #held: Array<() => void> | null = null;
  #holds = 0;

  constructor(sink: EventSink) {
    this.#sink = sink;
  }

  connect(socket: WebSocket, names: string[], subscribeAll: boolean): void {
    for (const name of names) {
      const app = this.#ensure(name);
      const previous = app.socket;
      app.socket = socket;
      app.subscribeAll = subscribeAll;
      if (previous && previous !== socket && previous.readyState === previous.OPEN) {
        previous.send(JSON.stringify({ type: 'ApplicationReplaced', timestamp: stamp(), asterisk_id: ASTERISK_ID, application: name }));
      }
    }
    socket.on('close', () => {
      for (const name of names) {
        const app = this.#apps.get(name);
        if (app?.socket === socket) app.socket = null;
      }
    });
  }

  isRegistered(name: string): boolean {
    return this.#apps.has(name);
  }

  isActive(name: string): boolean {
    const socket = this.#apps.get(name)?.socket;
    return socket !== null && socket !== undefined && socket.readyState === socket.OPEN;
  }

  names(): string[] {
    return [...this.#apps.keys()];
  }

  subscribedAll(): string[] {
    return [...this.#apps].filter(([, a]) => a.subscribeAll).map(([n]) => n);
  }

  explicit(name: string): { channels: Set<string>; bridges: Set<string>; endpoints: Set<string> } | undefined {
    return this.#apps.get(name);
  }

  /** Apps explicitly subscribed to `kind:id`. */
  subscribersOf(kind: 'channels' | 'bridges' | 'endpoints', id: string): string[] {
    const out: string[] = [];
    for (const [name, app] of this.#apps) if (app[kind].has(id)) out.push(name);
    return out;
  }

  /** A destroyed channel/bridge takes its subscriptions with it (a later unsubscribe gives 422). */
  forget(kind: 'channels' | 'bridges', id: string): void {
    for (const app of this.#apps.values()) app[kind].delete(id);
  }

  /** Sends one event to each app in `apps` that has an open websocket. */
  deliver(apps: Iterable<string>, event: Record<string, unknown>): void {
    for (const name of new Set(apps)) {
      const app = this.#apps.get(name);
      if (!app?.socket || app.socket.readyState !== app.socket.OPEN) continue;
      const message = { ...event, asterisk_id: ASTERISK_ID, application: name };
      const socket = app.socket;
      const send = () => {
        if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
        this.#sink(name, message);
      };
      if (this.#held) this.#held.push(send);
      else send();
    }
  }

  /**
   * Runs `fn` with event delivery held back; `release` sends what was held. The REST layer uses this
   * so that a POST's response goes out before the events it caused, as recorded (snoop excepted).
   */
  hold(): void {
    this.#holds++;
    this.#held ??= [];
  }

  /** Holds nest (concurrent requests): events flow again when the last one is released. */
  release(): void {
    if (this.#holds > 0) this.#holds--;
    if (this.#holds > 0) return;
    const held = this.#held;
    this.#held = null;
    if (held) for (const send of held) send();
  }

  /** A network blip: every websocket is cut; registrations and subscriptions stay. */
  dropSockets(): void {
    const sockets = new Set<WebSocket>();
    for (const app of this.#apps.values()) {
      if (app.socket) sockets.add(app.socket);
      app.socket = null;
    }
    for (const socket of sockets) socket.terminate();
  }

  /** An Asterisk restart: no apps, no subscriptions. */
  reset(): void {
    this.dropSockets();
    this.#apps.clear();
  }

  #ensure(name: string): AppState {
    let app = this.#apps.get(name);
    if (!app) {
      app = { socket: null, subscribeAll: false, channels: new Set(), bridges: new Set(), endpoints: new Set() };
      this.#apps.set(name, app);
    }
    return app;
  }
}

function stamp(): string {
  return new Date().toISOString().replace('Z', '+0000');
}
