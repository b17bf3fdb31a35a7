import type { Config } from '../config/schema.js';
import { PostgresStore } from './postgres.js';
import { ThreadedSqliteStore } from './sqlite-threaded.js';
import type { HistoryStore } from './store.js';

export { HistoryRecorder, type RecorderOptions, type RecorderStats } from './recorder.js';
export type * from './store.js';
export { batchSize, decidedBy, emptyBatch } from './store.js';
export { PostgresStore } from './postgres.js';
export { SqliteStore } from './sqlite.js';
export { ThreadedSqliteStore } from './sqlite-threaded.js';

/** The configured store, or null for `history.store: none`. `path` is resolved by the caller. */
export async function openHistoryStore(history: Config['history'], sqlitePath = history.path): Promise<HistoryStore | null> {
  if (history.store === 'none') return null;
  if (history.store === 'postgres') return PostgresStore.open(history.url!);
  // Off the event loop: the WASM SQLite is synchronous (see sqlite-threaded.ts).
  return ThreadedSqliteStore.open(sqlitePath);
}
