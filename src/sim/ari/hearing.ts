import type { SimChannel } from './model.js';

/**
 * Who hears a playback. A channel in Stasis hears what is played to it; a bridge's members hear
 * what is played to the bridge; a `whisper=out` (or `both`) snoop mixes its playback into the
 * frames Asterisk sends the snooped channel, so the caller hears it only while frames flow to it.
 * A caller sitting in Wait() gets no frames unless asterisk.conf has `transmit_silence = yes`
 * (then Asterisk sends silence frames): on Asterisk 22.10.1 such a whisper was reported `done`
 * while the caller's recording stayed silent.
 */

/** Dialplan applications that send the channel audio of their own. */
const AUDIO_APPLICATIONS = new Set(['Playback', 'Background', 'ControlPlayback', 'MusicOnHold', 'Queue', 'Echo']);

export function receivesFrames(ch: SimChannel, transmitSilence: boolean): boolean {
  if (transmitSilence || ch.bridgeId !== null) return true;
  return ch.stasisApp === null && ch.dialplanApp !== null && AUDIO_APPLICATIONS.has(ch.dialplanApp);
}

export function whisperReaches(snoop: SimChannel): boolean {
  return snoop.whisper === 'out' || snoop.whisper === 'both';
}
