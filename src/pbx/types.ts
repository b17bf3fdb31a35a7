/**
 * The one seam to the switch. The policy, the queue and the console ask for these operations; the ARI
 * implementation (src/ari/) comes first, FreeSWITCH could be a second one, and the simulator sits
 * behind ARI. Every operation resolves with a result and never throws into the caller: a failed
 * action is an event, not a crash in the audio path.
 */
export interface PbxResult {
  ok: boolean;
  /** What went wrong, with context (method, channel id, HTTP status) when ok is false. */
  error?: string;
  /** The far end's HTTP status when it refused (e.g. 409: channel not in Stasis). */
  status?: number;
}

export type TransferTarget =
  | { queue: string }
  | { context: string; extension: string; priority?: number }
  | { agent: string };

/** Named hang-up causes ARI accepts as `reason` (mapped to Q.850 by Asterisk). */
export type HangupCause = 'normal' | 'busy' | 'congestion' | 'no_answer' | 'rejected' | 'answered_elsewhere';

export type PriorityChange = { set: number } | { add: number };

export interface CallControl {
  /** Channel variables for the dialplan (SER_*, QUEUE_PRIO). Refused by Asterisk (409) outside Stasis. */
  setVariables(callId: string, vars: Record<string, string>): Promise<PbxResult>;
  /** Queue priority: the built-in queue reorders at once; app_queue callers through AMI; else QUEUE_PRIO. */
  setPriority(callId: string, change: PriorityChange): Promise<PbxResult>;
  transfer(callId: string, target: TransferTarget): Promise<PbxResult>;
  /** Plays media (e.g. "sound:ser-warning") to the caller only; works outside Stasis (whisper snoop). */
  play(callId: string, media: string): Promise<PbxResult>;
  hangup(callId: string, cause: HangupCause): Promise<PbxResult>;
  /**
   * Listen-in: rings a supervisor endpoint and bridges it to a snoop on the caller (`in`: the caller's
   * voice; `both`: the whole conversation). Released when either side hangs up. Optional: a PBX
   * connection without it cannot offer listen-in.
   */
  listen?(callId: string, endpoint: string, spy: 'in' | 'both'): Promise<PbxResult>;
}
