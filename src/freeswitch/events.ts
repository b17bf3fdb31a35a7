import type { EslEvent } from './esl-parser.js';

/**
 * The FreeSWITCH events ser-ari uses, typed. Every one carries `uuid` = `Unique-ID`, the channel the
 * event is about (README: "always use this one"; `Channel-Call-UUID` is the call's A leg and
 * `Caller-Unique-ID` can differ after a transfer), and `raw` for anything else.
 *
 * | type | fired by FreeSWITCH when | used for |
 * | --- | --- | --- |
 * | CHANNEL_CREATE | a channel exists (before routing) | bookkeeping |
 * | CHANNEL_ANSWER | a channel is answered | bookkeeping; never assume it precedes the hook (07b: no order across connections) |
 * | CHANNEL_HANGUP_COMPLETE | a channel is gone; `Hangup-Cause` (sent twice, equal) and the last variables | the single end of a call |
 * | CHANNEL_EXECUTE_COMPLETE | a dialplan/broadcast application returned (`Application-Response`) | a warning whose file could not be played |
 * | PLAYBACK_STOP | playback ended: `Playback-Status` done or break, `Playback-File-Path` | confirming the warning was heard |
 * | BACKGROUND_JOB | a bgapi finished; its output is the event body | bgapi results |
 * | CUSTOM ser::monitor | the dialplan's `event(Event-Subclass=ser::monitor,Event-Name=CUSTOM,...)` step; not queued for late subscribers | tapping a call |
 * | CUSTOM mod_audio_fork::* | the fork connected / failed to connect (body `{"reason":...}`) / got a text from our server | tap health |
 * | CUSTOM callcenter::info, fifo::info | a caller joined a queue or reached an agent (queue-phase.ts) | the call's phase |
 */
export type FsEvent =
  | { type: 'CHANNEL_CREATE'; uuid: string; channelName: string; direction: string; callerNumber: string; destination: string; raw: EslEvent }
  | { type: 'CHANNEL_ANSWER'; uuid: string; raw: EslEvent }
  | { type: 'CHANNEL_HANGUP_COMPLETE'; uuid: string; cause: string; raw: EslEvent }
  | { type: 'CHANNEL_EXECUTE_COMPLETE'; uuid: string; application: string; applicationData: string; response: string; raw: EslEvent }
  | { type: 'PLAYBACK_STOP'; uuid: string; file: string; status: string; raw: EslEvent }
  | { type: 'BACKGROUND_JOB'; jobUuid: string; command: string; arg: string; body: string; raw: EslEvent }
  | { type: 'ser::monitor'; uuid: string; callerNumber: string; channelName: string; custom: Record<string, string>; variables: Record<string, string>; raw: EslEvent }
  | { type: 'mod_audio_fork'; uuid: string; what: string; payload: unknown; raw: EslEvent }
  | { type: 'SHUTDOWN'; raw: EslEvent }
  | { type: 'other'; raw: EslEvent };

/** The subscription ser-ari asks for: `event json <EVENT_NAMES> CUSTOM <CUSTOM_SUBCLASSES>`. */
export const EVENT_NAMES = ['CHANNEL_CREATE', 'CHANNEL_ANSWER', 'CHANNEL_HANGUP_COMPLETE', 'CHANNEL_EXECUTE_COMPLETE', 'PLAYBACK_STOP', 'BACKGROUND_JOB', 'SHUTDOWN'] as const;
export const CUSTOM_SUBCLASSES = ['ser::monitor', 'mod_audio_fork::connect', 'mod_audio_fork::connect_failed', 'mod_audio_fork::disconnect', 'mod_audio_fork::error', 'callcenter::info', 'fifo::info'] as const;

/**
 * Headers the ser::monitor event carries for every channel event; anything else that is not a
 * `variable_*` came from the dialplan step's own `name=value` pairs (07b: kept verbatim, case kept).
 */
const STANDARD_PREFIXES = ['Event-', 'Core-UUID', 'FreeSWITCH-', 'Channel-', 'Caller-', 'Unique-ID', 'Call-Direction', 'Presence-', 'Answer-State', 'Other-', 'Hunt-', 'Origination-', 'Originator-', 'Originatee-', 'Bridge-', 'Content-Length'];

export function typeEvent(e: EslEvent): FsEvent {
  const h = e.headers;
  const uuid = h['Unique-ID'] ?? '';
  switch (e.name) {
    case 'CHANNEL_CREATE':
      return {
        type: 'CHANNEL_CREATE',
        uuid,
        channelName: h['Channel-Name'] ?? '',
        direction: h['Call-Direction'] ?? '',
        callerNumber: h['Caller-Caller-ID-Number'] ?? '',
        destination: h['Caller-Destination-Number'] ?? '',
        raw: e,
      };
    case 'CHANNEL_ANSWER':
      return { type: 'CHANNEL_ANSWER', uuid, raw: e };
    case 'CHANNEL_HANGUP_COMPLETE':
      return { type: 'CHANNEL_HANGUP_COMPLETE', uuid, cause: h['Hangup-Cause'] ?? '', raw: e };
    case 'CHANNEL_EXECUTE_COMPLETE':
      return {
        type: 'CHANNEL_EXECUTE_COMPLETE',
        uuid,
        application: h['Application'] ?? '',
        applicationData: h['Application-Data'] ?? '',
        response: h['Application-Response'] ?? '',
        raw: e,
      };
    case 'PLAYBACK_STOP':
      return { type: 'PLAYBACK_STOP', uuid, file: h['Playback-File-Path'] ?? '', status: h['Playback-Status'] ?? '', raw: e };
    case 'BACKGROUND_JOB':
      return { type: 'BACKGROUND_JOB', jobUuid: h['Job-UUID'] ?? '', command: h['Job-Command'] ?? '', arg: h['Job-Command-Arg'] ?? '', body: e.body ?? '', raw: e };
    case 'SHUTDOWN':
      return { type: 'SHUTDOWN', raw: e };
    case 'CUSTOM':
      if (e.subclass === 'ser::monitor') {
        const custom: Record<string, string> = {};
        const variables: Record<string, string> = {};
        for (const [k, v] of Object.entries(h)) {
          if (k.startsWith('variable_')) variables[k.slice(9)] = v;
          else if (!STANDARD_PREFIXES.some((p) => k.startsWith(p))) custom[k] = v;
        }
        return { type: 'ser::monitor', uuid, callerNumber: h['Caller-Caller-ID-Number'] ?? '', channelName: h['Channel-Name'] ?? '', custom, variables, raw: e };
      }
      if (e.subclass?.startsWith('mod_audio_fork::')) {
        let payload: unknown = null;
        if (e.body) {
          try {
            payload = JSON.parse(e.body);
          } catch {
            payload = e.body;
          }
        }
        return { type: 'mod_audio_fork', uuid, what: e.subclass.slice('mod_audio_fork::'.length), payload, raw: e };
      }
      return { type: 'other', raw: e };
    default:
      return { type: 'other', raw: e };
  }
}
