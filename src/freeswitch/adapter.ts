import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { CallLifecycle } from '../calls/lifecycle.js';
import type { Config } from '../config/schema.js';
import { SerError } from '../errors.js';
import type { EmotionUpdate } from '../emotion/tracker.js';
import type { CallMode } from '../events/types.js';
import type { PbxHealth, PbxPort } from '../pbx/port.js';
import type { CallControl, PbxResult, PriorityChange } from '../pbx/types.js';
import type { AudioPath } from '../pipeline/audio-path.js';
import { FsCallControl } from './call-control.js';
import { EslClient } from './esl-client.js';
import { CUSTOM_SUBCLASSES, EVENT_NAMES } from './events.js';
import { ForkIngress } from './fork-ingress.js';
import { FsMonitor, type FsCallInfo } from './monitor.js';
import { fifoMediaOf, queuePhaseOf } from './queue-phase.js';

export interface FreeSwitchOptions {
  config: Config;
  calls: CallLifecycle;
  audioPath: AudioPath;
  logger: Logger;
}

/** The FreeSWITCH adapter: the PbxPort of a FreeSWITCH, and its parts for metrics and tests. */
export interface FreeSwitchHandle extends PbxPort {
  readonly kind: 'freeswitch';
  readonly client: EslClient;
  readonly ingress: ForkIngress;
  readonly monitor: FsMonitor;
}

/**
 * Connects to FreeSWITCH's event socket and serves the monitor mode (docs/freeswitch.md): each
 * `ser::monitor` hook becomes a Call of the lifecycle, its caller's voice is forked (`mono 8k`) to our
 * WebSocket ingress and pushed into the audio path, and SER_EMOTION, SER_NEGATIVITY, SER_ESCALATE and
 * QUEUE_PRIO are kept current on the channel (uuid_setvar works at any time on FreeSWITCH) so a later
 * dialplan step can branch on them. Resolves after the first connection attempt; FreeSWITCH may still be
 * unreachable (it keeps reconnecting, as the ARI app does).
 */
export async function startFreeSwitch(o: FreeSwitchOptions): Promise<FreeSwitchHandle> {
  const fs = o.config.freeswitch;
  if (!fs.host) throw new Error('startFreeSwitch needs freeswitch.host');
  const log = o.logger.child({ component: 'freeswitch' });
  const ingress = new ForkIngress({
    host: o.config.rtp.host,
    port: fs.forkPort,
    ...(fs.forkUrl ? { advertisedUrl: fs.forkUrl } : {}),
    logger: log,
  });
  await ingress.start().catch((err: NodeJS.ErrnoException) => {
    throw new SerError('FORK_LISTEN_FAILED', `cannot listen for audio forks on ${o.config.rtp.host}:${fs.forkPort} (rtp.host / SER_RTP_HOST, freeswitch.forkPort / SER_FORK_PORT): ${err.code ?? err.message}`, { cause: err });
  });
  const client = new EslClient({
    host: fs.host,
    port: fs.port,
    password: fs.password,
    subscribe: { events: EVENT_NAMES, custom: CUSTOM_SUBCLASSES },
    requestTimeoutMs: fs.requestTimeoutMs,
    connectTimeoutMs: fs.requestTimeoutMs,
    backoff: { initialMs: fs.reconnectMinMs, maxMs: fs.reconnectMaxMs },
    logger: log,
  });
  const fsControl = new FsCallControl(client, { soundsDir: fs.soundsDir, context: fs.context, logger: log });
  const monitor = new FsMonitor({
    client,
    ingress,
    instance: fs.instance ?? hostname().replace(/[^A-Za-z0-9_.:-]/g, '-'),
    sinkFor: (call) => o.audioPath.openStream(call.callId),
    logger: log,
  });
  // No set of its own calls: the lifecycle's calls are this adapter's (the service runs one switch).
  const written = new Map<string, Record<string, string>>();
  const writing = new Set<string>();
  const prioritizing = new Set<string>();
  const fifoPaused = new Set<string>();
  let lastError: string | null = null;

  const onEntered = (info: FsCallInfo): void => {
    const callId = info.callId;
    const call = o.calls.enter({
      callId,
      channelName: info.channelName,
      callerNumber: info.callerNumber || null,
      callerName: info.callerName,
      mode: modeOf(info.custom['ser_mode']),
      phase: 'ivr',
      queue: info.custom['ser_queue'] ?? null,
      inStasis: false,
      tapped: false,
    });
    call.onRelease(async () => {
      written.delete(callId);
      fifoPaused.delete(callId);
      ingress.release(callId);
      fsControl.forget(callId);
      await o.audioPath.closeCall(callId);
    });
    call.log.info({ channel: info.channelName, adopted: info.adopted }, 'call entered (ser::monitor)');
    writeVerdict(callId);
  };
  monitor.on('entered', onEntered);
  monitor.on('tapped', (callId) => o.calls.get(callId)?.tap('tapped', null));
  monitor.on('tap-failed', (callId, reason) => o.calls.get(callId)?.tap('untapped', reason));
  monitor.on('tap-lost', (callId, reason) => {
    const call = o.calls.get(callId);
    if (!call) return;
    call.tapAttempts++;
    call.tap('retrying', reason);
  });
  monitor.on('ended', (callId) => void o.calls.get(callId)?.end('hangup'));
  // Queue phases: mod_callcenter / mod_fifo say when a caller joins a queue and when it reaches an agent.
  // mod_fifo also pauses a waiting caller's media bugs (queue-phase.ts): its fork sends nothing until a
  // consumer takes it or it leaves, so the call is published untapped meanwhile, tapped again after.
  client.on('event', (e) => {
    if (e.type !== 'other' || e.raw.name !== 'CUSTOM') return;
    const moved = queuePhaseOf(e.raw);
    if (moved) o.calls.get(moved.callId)?.update({ phase: moved.phase, queue: moved.queue, ...(moved.agent ? { agent: moved.agent } : {}) });
    const media = fifoMediaOf(e.raw);
    const call = media && o.calls.get(media.callId);
    if (!media || !call) return;
    if (media.paused) {
      fifoPaused.add(media.callId);
      call.tap('untapped', 'waiting in mod_fifo, which pauses the channel\'s media bugs: the caller is not heard until a consumer takes the call or it leaves the fifo');
    } else if (fifoPaused.delete(media.callId) && ingress.isConnected(media.callId)) {
      call.tap('tapped', null);
    }
  });
  client.on('down', (reason) => {
    lastError = reason;
  });
  client.on('connect-error', (err) => {
    lastError = err.message;
  });

  // The dialplan reads the verdict whenever it likes: keep it on the channel, writing what changed
  // (from the call's entry on, so a tapped call always has the four variables). cc_base_score follows
  // QUEUE_PRIO, so a later `callcenter` step enters the caller at its priority (docs/freeswitch.md).
  const writeVerdict = (callId: string): void => {
    // While a priority change is on its way (setvar, then the re-queue), the record's priority is not yet the
    // new one: a verdict written meanwhile would put the old QUEUE_PRIO back after the new (real FreeSWITCH:
    // QUEUE_PRIO 10 right after a forced 5). The change writes its own; the verdict follows once it is done.
    if (writing.has(callId) || prioritizing.has(callId)) return;
    const call = o.calls.get(callId);
    if (!call) return;
    const now = withScore(call.verdictVariables());
    const before = written.get(callId) ?? {};
    const changed = Object.fromEntries(Object.entries(now).filter(([k, v]) => before[k] !== v));
    if (Object.keys(changed).length === 0) return;
    writing.add(callId);
    void fsControl.setVariables(callId, changed).then((res) => {
      writing.delete(callId);
      if (res.ok && o.calls.get(callId)) written.set(callId, { ...before, ...changed });
    });
  };
  const withScore = (vars: Record<string, string>): Record<string, string> => ({ ...vars, cc_base_score: String(fsControl.scoreOf(Number(vars['QUEUE_PRIO'] ?? 0))) });
  const onEmotion = (u: EmotionUpdate): void => writeVerdict(u.callId);
  o.audioPath.on('emotion', onEmotion);

  const control: CallControl = {
    setVariables: (callId, vars) => fsControl.setVariables(callId, vars),
    setPriority: async (callId: string, change: PriorityChange): Promise<PbxResult> => {
      prioritizing.add(callId);
      try {
        const res = await fsControl.setPriority(callId, change);
        const priority = fsControl.priorityOf(callId);
        if (res.ok && priority !== null) o.calls.get(callId)?.update({ priority });
        return res;
      } finally {
        prioritizing.delete(callId);
        writeVerdict(callId);
      }
    },
    transfer: (callId, target) => fsControl.transfer(callId, target),
    play: (callId, media) => fsControl.play(callId, media),
    hangup: (callId, cause) => fsControl.hangup(callId, cause),
  };

  // The first attempt is awaited (bounded by its connect timeout): hooks fired before we subscribe are lost.
  await client.start().catch((err: Error) => log.warn({ err: err.message }, 'FreeSWITCH not reachable yet: retrying in the background'));
  log.info({ esl: `${fs.host}:${fs.port}`, fork: ingress.baseUrl }, 'serving FreeSWITCH (monitor hooks: CUSTOM ser::monitor)');

  let stopped = false;
  return {
    kind: 'freeswitch',
    capabilities: { variablesAnyTime: true, builtInQueue: false },
    control,
    client,
    ingress,
    monitor,
    health(): PbxHealth {
      const calls = o.calls.list();
      return {
        connected: client.connected,
        reconnects: Math.max(0, client.stats.connects - 1),
        lastError,
        calls: calls.length,
        tapped: calls.filter((c) => c.record?.tapped).length,
      };
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      o.audioPath.off('emotion', onEmotion);
      // The claims stay: a restarted ser-ari of the same instance finds these calls and taps them again.
      monitor.close();
      await Promise.all(o.calls.list().map((c) => c.end('shutdown')));
      await ingress.close();
      await client.close();
    },
  };
}

function modeOf(value: string | undefined): CallMode {
  return value === 'decide' || value === 'queue' ? value : 'monitor';
}
