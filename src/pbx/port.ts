import type { CallControl } from './types.js';

export type PbxKind = 'asterisk' | 'freeswitch';

export interface PbxHealth {
  /** The control connection (ARI WebSocket, event socket) is up and subscribed. */
  connected: boolean;
  reconnects: number;
  lastError: string | null;
  /** Live calls this adapter reported to the lifecycle, and how many of them are tapped. */
  calls: number;
  tapped: number;
}

/** What a switch can and cannot do, for the parts of the product that differ (docs/freeswitch.md). */
export interface PbxCapabilities {
  /** Channel variables can be written while the caller is anywhere in the dialplan (FreeSWITCH), not only in Stasis. */
  variablesAnyTime: boolean;
  /** The built-in queue (holding bridge, agents, live re-ordering) runs on this switch. */
  builtInQueue: boolean;
}

/**
 * The one seam to a switch, implemented by the ARI adapter (src/ari/) and the FreeSWITCH adapter
 * (src/freeswitch/). An adapter turns the switch's protocol into the PBX-neutral call lifecycle
 * (src/calls/lifecycle.ts): it reports each caller that enters with its mode, taps it into the audio
 * path, reports tap states and the call's end, and registers with each Call what it created so the
 * call's single clean-up path releases it. Outward it offers call control and its link health;
 * `stop()` releases everything it created and leaves every caller's call going.
 */
export interface PbxPort {
  readonly kind: PbxKind;
  readonly control: CallControl;
  readonly capabilities: PbxCapabilities;
  health(): PbxHealth;
  stop(): Promise<void>;
}
