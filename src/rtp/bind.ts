import type { PortPool } from './port-pool.js';
import { RtpReceiver, type RtpReceiverOptions } from './receiver.js';

/** A bound receiver and the pool port it holds. */
export interface ReceiverLease {
  readonly receiver: RtpReceiver;
  readonly port: number;
  /** Closes the receiver, then returns its port to the pool. Idempotent. */
  close(): Promise<void>;
}

export interface BindFromPoolOptions {
  /** Ports tried before giving up (default 5). */
  attempts?: number;
  /** Told about each port found taken (to log it); the next port is tried. */
  onPortBusy?(port: number, err: NodeJS.ErrnoException): void;
}

/** Bind errors that concern this one port; the next port of the pool may well work. */
const PORT_BUSY = new Set(['EADDRINUSE', 'EACCES']);

/**
 * Takes a port from the pool and starts a receiver on it. A port some other socket already holds
 * (EADDRINUSE; EACCES for a privileged or firewalled one) is handed back to the pool, which puts it last
 * in its queue, and the next port is tried, up to `attempts` ports.
 *
 * - Resolves a lease: the caller owns the port until `lease.close()`, which closes the receiver first
 *   and then releases the port (never the other way round: a released port may be acquired at once).
 * - Resolves null when the pool is exhausted or `attempts` ports were all busy; nothing stays held.
 * - Rejects with the socket error for any other bind failure (EADDRNOTAVAIL: the host is not a local
 *   address, EINVAL ...), which no other port would fix; and with whatever `makeOptions` throws. The
 *   port is released first.
 */
export async function bindReceiverFromPool(
  pool: PortPool,
  makeOptions: (port: number) => RtpReceiverOptions,
  opts: BindFromPoolOptions = {},
): Promise<ReceiverLease | null> {
  const attempts = opts.attempts ?? 5;
  for (let i = 0; i < attempts; i++) {
    const port = pool.acquire();
    if (port === null) return null;
    let receiver: RtpReceiver;
    try {
      receiver = new RtpReceiver({ ...makeOptions(port), port });
      await receiver.start();
    } catch (err) {
      // A failed start() has closed the receiver's socket already.
      pool.release(port);
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== undefined && PORT_BUSY.has(code)) {
        opts.onPortBusy?.(port, err as NodeJS.ErrnoException);
        continue;
      }
      throw err;
    }
    return lease(pool, receiver, port);
  }
  return null;
}

function lease(pool: PortPool, receiver: RtpReceiver, port: number): ReceiverLease {
  let closing: Promise<void> | null = null;
  return {
    receiver,
    port,
    close(): Promise<void> {
      closing ??= receiver.close().then(() => pool.release(port));
      return closing;
    },
  };
}
