import { parseOwnId, QUEUE_KINDS } from './ids.js';

/** What reconcile needs to know about a call this process still tracks. */
export interface KnownCall {
  callId: string;
  /** Ids of the objects its tap(s) should have on Asterisk (empty when untapped). */
  objects: string[];
}

export interface ReconcilePlan {
  /** Our channels that belong to no live tap: hang up. */
  deleteChannels: string[];
  /** Our bridges that belong to no live tap: destroy. */
  deleteBridges: string[];
  /** Calls tracked here whose caller channel is gone (hung up while we were disconnected, or Asterisk restarted). */
  lost: string[];
  /** Calls tracked here, still alive, whose tap lost an object: tear down and rebuild the tap. */
  broken: string[];
  /** Callers still up that an earlier run of ser-ari had tapped (found by our objects' ids): take them over. */
  adopt: string[];
}

/**
 * Decides, from Asterisk's lists of channels and bridges after a (re)connect, which of our objects
 * are orphans, which tracked calls ended unseen, and which callers to re-adopt. Pure: the app runs the plan.
 */
export function planReconcile(
  channelIds: readonly string[],
  bridgeIds: readonly string[],
  known: readonly KnownCall[],
  live: ReadonlySet<string>,
  /** The built-in queue reconciles its own objects (QUEUE_KINDS): leave them out of this plan. */
  queueReconciles = false,
): ReconcilePlan {
  const present = new Set([...channelIds, ...bridgeIds]);
  const knownIds = new Set(known.map((c) => c.callId));
  const lost = known.filter((c) => !present.has(c.callId)).map((c) => c.callId);
  const broken = known.filter((c) => present.has(c.callId) && c.objects.some((id) => !present.has(id))).map((c) => c.callId);
  const adopt = new Set<string>();
  const orphan = (id: string): boolean => {
    const own = parseOwnId(id);
    if (!own || live.has(id)) return false;
    if (queueReconciles && QUEUE_KINDS.includes(own.kind)) return false;
    const caller = own.callId;
    if (!QUEUE_KINDS.includes(own.kind) && !knownIds.has(caller) && channelIds.includes(caller) && parseOwnId(caller) === null) adopt.add(caller);
    return true;
  };
  const deleteChannels = channelIds.filter(orphan);
  const deleteBridges = bridgeIds.filter(orphan);
  return { deleteChannels, deleteBridges, lost, broken, adopt: [...adopt] };
}
