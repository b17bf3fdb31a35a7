import { AriCallControl, type AmiPriorityPort, type QueuePriorityPort } from './call-control.js';
import type { PbxPort } from '../pbx/port.js';
import { AriApp, type AriAppHealth, type AriAppOptions } from './app.js';

export type { AriAppHealth } from './app.js';
export type { QueueAdmission, QueueHandler } from '../queue/handler.js';
export type { AmiPriorityPort, QueuePriorityPort } from './call-control.js';

export interface StartAriAppOptions extends AriAppOptions {
  /** The built-in queue's priority port (reorders callers waiting in it). */
  queuePriority?: QueuePriorityPort;
  /** app_queue callers' priority through AMI. */
  amiPriority?: AmiPriorityPort;
}

/** The ARI adapter: the PbxPort of an Asterisk, and the app behind it for what only ARI has (the built-in queue). */
export interface AriAppHandle extends PbxPort {
  readonly kind: 'asterisk';
  app: AriApp;
  health(): AriAppHealth;
  /** Releases every tap (callers in Stasis go back to the dialplan, none is hung up) and disconnects. */
  stop(): Promise<void>;
}

/** Connects to Asterisk (config.ari.url must be set) and starts serving the Stasis app; returns at once. */
export function startAriApp(opts: StartAriAppOptions): AriAppHandle {
  const { queuePriority, amiPriority, ...appOptions } = opts;
  const app = new AriApp(appOptions);
  const control = new AriCallControl(app, { queuePriority, amiPriority });
  app.start();
  return {
    kind: 'asterisk',
    capabilities: { variablesAnyTime: false, builtInQueue: true },
    control,
    app,
    health: () => app.health(),
    stop: () => app.stop(),
  };
}
