/** A caller that reached `Stasis(ser,queue,<name>)`, tapped (or knowingly untapped), still in Stasis. */
export interface QueueAdmission {
  /** The caller channel's id, the key of the CallRegistry and of every event. */
  callId: string;
  /** The caller channel's state as Asterisk reported it (`Ring`, `Up`): an unanswered caller is answered first. */
  channel?: { state?: string };
  /** The queue name from the dialplan's Stasis args. */
  queue: string;
}

/**
 * The built-in queue (src/queue/) as the ARI app sees it. The app calls admit() once per caller,
 * after the caller's tap is built; from then on the queue owns the caller until it ends. When no
 * handler is configured the app continues the caller to the dialplan instead.
 */
export interface QueueHandler {
  /** Takes the caller over. A rejection is logged and the caller is continued to the dialplan. */
  admit(call: QueueAdmission): Promise<void>;
  /** The caller hung up or left Stasis for good; forget it (idempotent). */
  onCallEnded(callId: string): void;
  /**
   * After every (re)connect, before the app's own reconcile, with Asterisk's lists: the queue forgets
   * its bridges that are gone (Asterisk restarted), takes over what an earlier run of ser-ari left
   * (waiting callers, conversations with an agent), removes the rest, and says which callers it owns.
   */
  reconcile?(listing: AsteriskListing): Promise<QueueAdoption[]>;
}

/** What GET /channels and GET /bridges returned. */
export interface AsteriskListing {
  channels: Array<{ id: string; name: string }>;
  bridges: Array<{ id: string; channels: string[] }>;
}

/** A caller the queue took over from an earlier run: the app tracks and taps it, and leaves it in Stasis. */
export interface QueueAdoption {
  callId: string;
  queue: string;
  phase: 'queued' | 'agent';
  /** The agent endpoint of a conversation taken over. */
  agent?: string;
}
