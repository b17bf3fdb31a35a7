import type { Logger } from 'pino';
import type { CallRegistry } from '../calls/registry.js';
import type { Config } from '../config/schema.js';
import type { EventBus } from '../events/bus.js';
import { AriCallControl, type AmiPriorityPort, type QueuePriorityPort } from '../pbx/ari-control.js';
import type { CallControl } from '../pbx/types.js';
import type { AudioPath } from '../pipeline/audio-path.js';
import { AriApp, type AriAppHealth } from './app.js';
import type { QueueHandler } from './queue-handler.js';

export type { AriAppHealth } from './app.js';
export type { QueueAdmission, QueueHandler } from './queue-handler.js';
export type { AmiPriorityPort, QueuePriorityPort } from '../pbx/ari-control.js';

export interface StartAriAppOptions {
  config: Config;
  logger: Logger;
  bus: EventBus;
  registry: CallRegistry;
  audioPath: AudioPath;
  /** The built-in queue for Stasis(ser,queue,<name>); without it those callers go back to the dialplan. */
  queueHandler?: QueueHandler;
  /** The built-in queue's priority port (reorders callers waiting in it). */
  queuePriority?: QueuePriorityPort;
  /** app_queue callers' priority through AMI. */
  amiPriority?: AmiPriorityPort;
}

export interface AriAppHandle {
  control: CallControl;
  app: AriApp;
  health(): AriAppHealth;
  /** Releases every tap (callers in Stasis go back to the dialplan, none is hung up) and disconnects. */
  stop(): Promise<void>;
}

/** Connects to Asterisk (config.ari.url must be set) and starts serving the Stasis app; returns at once. */
export function startAriApp(opts: StartAriAppOptions): AriAppHandle {
  const app = new AriApp({
    config: opts.config,
    logger: opts.logger,
    bus: opts.bus,
    registry: opts.registry,
    audioPath: opts.audioPath,
    ...(opts.queueHandler ? { queueHandler: opts.queueHandler } : {}),
  });
  const control = new AriCallControl(app, {
    ...(opts.queuePriority ? { queuePriority: opts.queuePriority } : {}),
    ...(opts.amiPriority ? { amiPriority: opts.amiPriority } : {}),
  });
  app.start();
  return { control, app, health: () => app.health(), stop: () => app.stop() };
}
