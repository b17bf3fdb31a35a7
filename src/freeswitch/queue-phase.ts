import type { EslEvent } from './esl-parser.js';

/** Where a caller now is in a FreeSWITCH queue, as the console and the rules' phases see it. */
export interface QueuePhase {
  callId: string;
  phase: 'queued' | 'agent';
  queue: string;
  agent: string | null;
}

/**
 * The queue events that move a caller between phases (recording 04):
 * - mod_callcenter `callcenter::info`: `member-queue-start` (also after a re-queue) → queued in
 *   `CC-Queue`; `bridge-agent-start` → with the agent `CC-Agent`. The caller is
 *   `CC-Member-Session-UUID` (`Unique-ID` is the agent leg on bridge-agent-start).
 * - mod_fifo `fifo::info`: `push` (`Unique-ID` = the caller) → queued in `FIFO-Name`; `consumer_pop`
 *   (`FIFO-Caller-UUID` = the caller, `Channel-Name` = the consumer) → with that consumer.
 * Everything else (member-queue-end, abort, agent state changes) moves nobody: a caller who leaves a
 * queue either hangs up or is re-queued, and each says so itself.
 */
export function queuePhaseOf(e: EslEvent): QueuePhase | null {
  const h = e.headers;
  if (e.subclass === 'callcenter::info') {
    const callId = h['CC-Member-Session-UUID'];
    const queue = h['CC-Queue'];
    if (!callId || !queue) return null;
    if (h['CC-Action'] === 'member-queue-start') return { callId, phase: 'queued', queue, agent: null };
    if (h['CC-Action'] === 'bridge-agent-start') return { callId, phase: 'agent', queue, agent: h['CC-Agent'] ?? null };
    return null;
  }
  if (e.subclass === 'fifo::info') {
    const queue = h['FIFO-Name'];
    if (!queue) return null;
    if (h['FIFO-Action'] === 'push' && h['Unique-ID']) return { callId: h['Unique-ID'], phase: 'queued', queue, agent: null };
    if (h['FIFO-Action'] === 'consumer_pop' && h['FIFO-Caller-UUID']) return { callId: h['FIFO-Caller-UUID'], phase: 'agent', queue, agent: h['Channel-Name'] ?? null };
  }
  return null;
}

/**
 * mod_fifo pauses every media bug of a channel while it waits in a fifo (`switch_core_media_bug_pause`
 * when `fifo <name> in` starts; resumed when a consumer bridges it or when it leaves the fifo). Measured
 * on a real FreeSWITCH 1.10.12 (test/real-freeswitch/queue.test.ts): a waiting caller's mono fork sends
 * no frames at all, the same fork streams again once a consumer takes the call (`bridge-caller-start`)
 * or the caller leaves without one (`abort`, e.g. transferred out). mod_callcenter does not do this.
 * `paused` true: the caller is not heard from now on; false: it is heard again.
 */
export interface FifoMedia {
  callId: string;
  paused: boolean;
}

export function fifoMediaOf(e: EslEvent): FifoMedia | null {
  if (e.subclass !== 'fifo::info') return null;
  const callId = e.headers['Unique-ID'];
  const action = e.headers['FIFO-Action'];
  if (!callId) return null;
  if (action === 'push') return { callId, paused: true };
  if (action === 'bridge-caller-start' || action === 'abort') return { callId, paused: false };
  return null;
}
