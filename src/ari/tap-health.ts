import type { TapState } from '../events/types.js';
import type { AudioPath } from '../pipeline/audio-path.js';
import type { CallSession } from './session.js';
import type { TapBuilder } from './tap.js';

/**
 * Resolves true once the tap's stream has delivered RTP, false after `timeoutMs` or when `signal`
 * aborts. Asterisk sends within ~10 ms of bridging, and a silent caller still yields silence frames,
 * so a tap with nothing after a second is one of the externalMedia taps that stay mute.
 */
export function waitForFirstPacket(audioPath: AudioPath, key: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  if ((audioPath.stats(key)?.rtp?.packets ?? 0) > 0) return Promise.resolve(true);
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      audioPath.off('first-packet', onPacket);
      signal?.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onPacket = (id: string): void => {
      if (id === key) done(true);
    };
    const onAbort = (): void => done(false);
    const timer = setTimeout(() => done((audioPath.stats(key)?.rtp?.packets ?? 0) > 0), timeoutMs);
    audioPath.on('first-packet', onPacket);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface TapSupervisorDeps {
  taps: TapBuilder;
  audioPath: AudioPath;
  /** Rebuilds after the first attempt (ari.tapRetries). */
  retries: number;
  /** RTP must arrive this long after bridging (ari.tapHealthMs). */
  healthMs: number;
  report(state: TapState, reason: string | null, attempt: number): void;
}

/**
 * Builds the caller's tap and watches that it delivers RTP: a silent tap is torn down and rebuilt,
 * at most `retries` times, then the call is left untapped. Resolves after the first build attempt
 * (so queue admission can wait for it); the health check and rebuilds go on in `s.tapping`.
 * Failures that a retry cannot fix (port pool, ari.maxTaps, Asterisk's RTP range, caller gone) are
 * not retried.
 */
export function superviseTap(s: CallSession, d: TapSupervisorDeps): Promise<void> {
  let firstDone!: () => void;
  const first = new Promise<void>((r) => (firstDone = r));
  s.tapping = (async () => {
    let reason = 'no RTP';
    for (let attempt = 1; attempt <= d.retries + 1; attempt++) {
      s.tapAttempts = attempt;
      const res = await d.taps.build(s.callId, s.callId, s.callId, 'in');
      if (s.ended) {
        if (res.ok) await d.taps.teardown(res.tap);
        return firstDone();
      }
      if (!res.ok) {
        firstDone();
        if (res.reason === 'gone') return;
        if (res.reason === 'ari' && attempt <= d.retries) {
          d.report('retrying', res.error, attempt);
          continue;
        }
        s.log.warn({ reason: res.reason, err: res.error }, 'call left untapped');
        d.report('untapped', res.error, attempt);
        return;
      }
      s.tap = res.tap;
      firstDone();
      const flowing = await waitForFirstPacket(d.audioPath, s.callId, d.healthMs, s.abort.signal);
      if (s.ended) return;
      if (flowing) {
        d.report('tapped', null, attempt);
        return;
      }
      reason = `no RTP within ${d.healthMs} ms of bridging`;
      s.tap = null;
      await d.taps.teardown(res.tap);
      if (s.ended) return;
      if (attempt <= d.retries) {
        s.log.warn({ attempt }, 'silent tap torn down, rebuilding');
        d.report('retrying', reason, attempt);
      }
    }
    s.log.warn({ attempts: d.retries + 1 }, 'tap stayed silent after every rebuild: call left untapped');
    d.report('untapped', `${reason} after ${d.retries + 1} attempts`, d.retries + 1);
  })().catch((err: Error) => {
    firstDone();
    s.log.error({ err: err.message }, 'tap loop failed');
  });
  return first;
}
