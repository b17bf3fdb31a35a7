import type { Logger } from '../log/logger.js';
import type { CallControl, HangupCause, PbxResult, PriorityChange, TransferTarget } from '../pbx/types.js';
import { isErrorReply, type EslClient } from './esl-client.js';
import type { FsEvent } from './events.js';

/**
 * CallControl (src/pbx/types.ts) over the event socket. It fits the interface as it is: every
 * method resolves a PbxResult and never throws. Unlike ARI, FreeSWITCH lets us act on any live
 * channel at any time (07b: uuid_setvar works while the dialplan plays or sleeps), so nothing is
 * deferred or refused for being "outside Stasis".
 *
 * | method | command (as recorded) | success |
 * | --- | --- | --- |
 * | setVariables | `uuid_setvar_multi <u> A=1;B=2` (`uuid_setvar <u> A <v>` for a value with `;`) | `+OK` |
 * | setPriority | `uuid_setvar_multi <u> QUEUE_PRIO=<p>;cc_base_score=<p*w>`; caller waiting in mod_callcenter: also `uuid_transfer <u> 'set:cc_base_score=<p*w>,callcenter:<q>' inline` (04: the only way to move a waiting member) | `+OK` |
 * | transfer | queue: `uuid_transfer <u> queue-<q> XML <ctx>`; extension: `uuid_transfer <u> <ext> XML <ctx>`; agent: `uuid_transfer <u> 'bridge:<endpoint>' inline` (02b) | `+OK` |
 * | play | `uuid_broadcast <u> <file> aleg`, then PLAYBACK_STOP for that file with `Playback-Status: done` | the event, not the `+OK Message sent` |
 * | hangup | `uuid_kill <u> <CAUSE>` | `+OK`, or `-ERR No such channel!` (already gone) |
 */
export interface FsCallControlOptions {
  /** `sound:<name>` plays `<soundsDir>/<name>.wav`. */
  soundsDir: string;
  /** The dialplan context of transfers (conf/dialplan/pbx.xml: `pbx`). */
  context: string;
  /** cc_base_score = priority * this (default 3600: one level outranks an hour of waiting). */
  scorePerPriority?: number;
  /** How long a warning may take to play before it counts as not played (default 120 s). */
  maxPlayMs?: number;
  logger?: Logger;
}

const CAUSES: Record<HangupCause, string> = {
  normal: 'NORMAL_CLEARING',
  busy: 'USER_BUSY',
  congestion: 'NORMAL_CIRCUIT_CONGESTION',
  no_answer: 'NO_ANSWER',
  rejected: 'CALL_REJECTED',
  answered_elsewhere: 'LOSE_RACE',
};

const UUID = /^[0-9a-fA-F-]{8,64}$/;
const VAR_NAME = /^[A-Za-z0-9_.-]+$/;
/** What may go into one api argument: FreeSWITCH splits the line on spaces (README), and quotes/commas would break an inline app list. */
const ARG = /^[^\s'",;]+$/;

export class FsCallControl implements CallControl {
  readonly #client: EslClient;
  readonly #o: FsCallControlOptions;
  readonly #priority = new Map<string, number>();

  constructor(client: EslClient, opts: FsCallControlOptions) {
    this.#client = client;
    this.#o = opts;
  }

  /** Forget a call's priority once it ended. */
  forget(callId: string): void {
    this.#priority.delete(callId);
  }

  /** The cc_base_score a caller of this priority enters mod_callcenter with. */
  scoreOf(priority: number): number {
    return priority * (this.#o.scorePerPriority ?? 3600);
  }

  /** The priority last set on the call, null when none was. */
  priorityOf(callId: string): number | null {
    return this.#priority.get(callId) ?? null;
  }

  async setVariables(callId: string, vars: Record<string, string>): Promise<PbxResult> {
    return this.#guard('setVariables', callId, async () => {
      const entries = Object.entries(vars);
      for (const [k, v] of entries) {
        if (!VAR_NAME.test(k) || /[\r\n]/.test(v)) return { ok: false, error: `invalid variable ${JSON.stringify(k)} [method:setVariables, id:${callId}]` };
      }
      const simple = entries.filter(([, v]) => !v.includes(';') && !v.includes(' ') && v.length > 0);
      const rest = entries.filter((e) => !simple.includes(e));
      if (simple.length) await this.#ok(`uuid_setvar_multi ${callId} ${simple.map(([k, v]) => `${k}=${v}`).join(';')}`);
      for (const [k, v] of rest) await this.#ok(`uuid_setvar ${callId} ${k} ${v}`);
      return { ok: true };
    });
  }

  async setPriority(callId: string, change: PriorityChange): Promise<PbxResult> {
    return this.#guard('setPriority', callId, async () => {
      const priority = Math.max(0, Math.round('set' in change ? change.set : (this.#priority.get(callId) ?? 0) + change.add));
      const score = this.scoreOf(priority);
      // cc_base_score too: a caller who reaches `callcenter` later enters at this priority.
      await this.#ok(`uuid_setvar_multi ${callId} QUEUE_PRIO=${priority};cc_base_score=${score}`);
      this.#priority.set(callId, priority);
      const queue = (await this.#client.api(`uuid_getvar ${callId} cc_queue`)).trim();
      const member = (await this.#client.api(`uuid_getvar ${callId} cc_member_uuid`)).trim();
      const waiting = queue && queue !== '_undef_' && !isErrorReply(queue) && member && member !== '_undef_';
      if (waiting && ARG.test(queue)) {
        // No api changes a waiting member's score (04): leave and re-join with a new base score.
        await this.#ok(`uuid_transfer ${callId} 'set:cc_base_score=${score},callcenter:${queue}' inline`);
      }
      return { ok: true };
    });
  }

  async transfer(callId: string, target: TransferTarget): Promise<PbxResult> {
    return this.#guard('transfer', callId, async () => {
      let dest: string;
      if ('agent' in target) {
        if (!ARG.test(target.agent)) return { ok: false, error: `invalid agent endpoint ${JSON.stringify(target.agent)} [method:transfer, id:${callId}]` };
        dest = `'bridge:${target.agent}' inline`;
      } else if ('queue' in target) {
        if (!ARG.test(target.queue)) return { ok: false, error: `invalid queue ${JSON.stringify(target.queue)} [method:transfer, id:${callId}]` };
        dest = `queue-${target.queue} XML ${this.#o.context}`;
      } else {
        if (!ARG.test(target.extension) || !ARG.test(target.context)) return { ok: false, error: `invalid extension or context [method:transfer, id:${callId}]` };
        dest = `${target.extension} XML ${target.context}`;
      }
      await this.#ok(`uuid_transfer ${callId} ${dest}`);
      return { ok: true };
    });
  }

  /**
   * Resolves ok only once FreeSWITCH reports the file played to the end (PLAYBACK_STOP, status done):
   * `+OK Message sent` only means "queued". Played to the caller only (`aleg`); never in the mono fork.
   */
  async play(callId: string, media: string): Promise<PbxResult> {
    return this.#guard('play', callId, async () => {
      const file = media.startsWith('sound:') ? `${this.#o.soundsDir.replace(/\/+$/, '')}/${media.slice(6)}.wav` : media.replace(/^file:/, '');
      if (!ARG.test(file.replace(/,/g, ''))) return { ok: false, error: `invalid media ${JSON.stringify(media)} [method:play, id:${callId}]` };
      const maxMs = this.#o.maxPlayMs ?? 120_000;
      let settle!: (r: PbxResult) => void;
      const done = new Promise<PbxResult>((resolve) => (settle = resolve));
      const onEvent = (e: FsEvent): void => {
        if (e.type === 'PLAYBACK_STOP' && e.uuid === callId && e.file === file) {
          settle(e.status === 'done' ? { ok: true } : { ok: false, error: `${media} not played to the end (Playback-Status ${e.status}) [method:play, id:${callId}]` });
        } else if (e.type === 'CHANNEL_EXECUTE_COMPLETE' && e.uuid === callId && e.application === 'playback' && e.applicationData === file && e.response !== 'FILE PLAYED') {
          settle({ ok: false, error: `FreeSWITCH could not play ${media} (${e.response}: is the sound installed?) [method:play, id:${callId}]` });
        } else if (e.type === 'CHANNEL_HANGUP_COMPLETE' && e.uuid === callId) {
          settle({ ok: false, error: `${media} not confirmed played: the call ended [method:play, id:${callId}]` });
        }
      };
      const onDown = (): void => settle({ ok: false, error: `${media} not confirmed played: the event socket dropped [method:play, id:${callId}]` });
      const timer = setTimeout(() => settle({ ok: false, error: `${media} not confirmed played within ${maxMs / 1000} s [method:play, id:${callId}]` }), maxMs);
      this.#client.on('event', onEvent);
      this.#client.on('down', onDown);
      try {
        const reply = await this.#client.api(`uuid_broadcast ${callId} ${file} aleg`);
        if (isErrorReply(reply)) return { ok: false, status: 404, error: `${reply.trim()} [method:play, id:${callId}]` };
        return await done;
      } finally {
        clearTimeout(timer);
        this.#client.off('event', onEvent);
        this.#client.off('down', onDown);
      }
    });
  }

  async hangup(callId: string, cause: HangupCause): Promise<PbxResult> {
    return this.#guard('hangup', callId, async () => {
      const reply = await this.#client.api(`uuid_kill ${callId} ${CAUSES[cause] ?? 'NORMAL_CLEARING'}`);
      // Already gone counts as done, as a 404 does on ARI.
      if (isErrorReply(reply) && !reply.startsWith('-ERR No such channel')) return { ok: false, error: `${reply.trim()} [method:hangup, id:${callId}]` };
      this.forget(callId);
      return { ok: true };
    });
  }

  async #ok(command: string): Promise<void> {
    const reply = await this.#client.api(command);
    if (isErrorReply(reply)) {
      const err = new Error(`${reply.trim()} [command:${command.split(' ')[0]}]`) as Error & { status?: number };
      if (reply.startsWith('-ERR No such channel')) err.status = 404;
      throw err;
    }
  }

  async #guard(method: string, callId: string, run: () => Promise<PbxResult>): Promise<PbxResult> {
    if (!UUID.test(callId)) return { ok: false, status: 404, error: `not a channel uuid [method:${method}, id:${callId}]` };
    try {
      return await run();
    } catch (err) {
      const status = (err as { status?: number }).status;
      this.#o.logger?.warn({ callId, method, err: (err as Error).message }, 'PBX action failed');
      return { ok: false, error: `${(err as Error).message} [method:${method}, id:${callId}]`, ...(status ? { status } : {}) };
    }
  }
}
