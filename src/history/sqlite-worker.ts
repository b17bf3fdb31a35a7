import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore } from './sqlite.js';

/**
 * The SQLite store on its own thread: node-sqlite3-wasm runs synchronously, and a batch of 500 calls'
 * second (plus the commit's fsync) would otherwise hold the event loop that receives RTP.
 * Protocol: { id, method, args } in; { id, ok, value | error: { message, code } } out.
 */
const port = parentPort!;
let store: SqliteStore;
try {
  store = new SqliteStore((workerData as { path: string }).path);
  port.postMessage({ id: 0, ok: true, value: null });
} catch (err) {
  port.postMessage({ id: 0, ok: false, error: { message: (err as Error).message, code: (err as { code?: string }).code } });
  process.exit(0);
}
port.on('message', (m: { id: number; method: string; args: unknown[] }) => {
  const fn = (store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[m.method];
  Promise.resolve()
    .then(() => fn!.apply(store, m.args))
    .then(
      (value) => port.postMessage({ id: m.id, ok: true, value: m.method === 'close' ? null : value }),
      (err: Error) => port.postMessage({ id: m.id, ok: false, error: { message: err.message, code: (err as { code?: string }).code } }),
    )
    .finally(() => {
      if (m.method === 'close') port.close();
    });
});
