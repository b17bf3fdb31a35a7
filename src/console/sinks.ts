import type { ServerResponse } from 'node:http';
import { WebSocket } from 'ws';
import type { Sink } from './stream.js';

/** Bytes a consumer's socket may hold unsent before the hub stops writing to it. */
const HIGH_WATER = 256 * 1024;

/**
 * A WebSocket consumer. ws has no public 'drain', but every send's callback runs once its frame has
 * left for the kernel, so a backed-up socket is re-checked as it empties.
 */
export function wsSink(ws: WebSocket): Sink {
  let waiting: (() => void) | null = null;
  const sent = (): void => {
    if (waiting && ws.bufferedAmount < HIGH_WATER / 2) {
      const ready = waiting;
      waiting = null;
      ready();
    }
  };
  return {
    transport: 'ws',
    write(message) {
      if (ws.readyState !== WebSocket.OPEN) return true; // closing: the hub detaches it on 'close'
      ws.send(message, sent);
      return ws.bufferedAmount < HIGH_WATER;
    },
    onReady(ready) {
      if (ws.bufferedAmount < HIGH_WATER / 2) setImmediate(ready);
      else waiting = ready;
    },
    close() {
      ws.terminate();
    },
  };
}

/** A Server-Sent Events consumer: one `data:` line per message (JSON never contains a raw newline). */
export function sseSink(res: ServerResponse): Sink {
  return {
    transport: 'sse',
    write(message) {
      if (res.writableEnded || res.destroyed) return true;
      return res.write(`data: ${message}\n\n`);
    },
    onReady(ready) {
      if (!res.writableNeedDrain) setImmediate(ready);
      else res.once('drain', ready);
    },
    close() {
      res.destroy();
    },
  };
}
