import type { AudioPath } from '../pipeline/audio-path.js';

/**
 * Resolves true once the tap's stream has delivered RTP, false after `timeoutMs` or when `signal`
 * aborts. Asterisk sends within ~10 ms of bridging, and a silent caller still yields silence frames,
 * so a tap with nothing after a second is one of the externalMedia taps that stay mute.
 */
export function waitForFirstPacket(audioPath: AudioPath, key: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  if ((audioPath.stats(key)?.rtp.packets ?? 0) > 0) return Promise.resolve(true);
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
    const timer = setTimeout(() => done((audioPath.stats(key)?.rtp.packets ?? 0) > 0), timeoutMs);
    audioPath.on('first-packet', onPacket);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
