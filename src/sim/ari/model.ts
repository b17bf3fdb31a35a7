import type { AudioSource } from './media.js';
import { asteriskTime } from './time.js';

/**
 * The simulator's channel and bridge records, and their JSON as Asterisk 22 serialises them
 * (shared/asterisk/recorded: key order and fields of the Channel and Bridge models).
 */

/** How the channel came to exist; decides which events it gets (see pbx.ts). `local`: the `;2` half of a Local channel. */
export type ChannelKind = 'caller' | 'originated' | 'local' | 'snoop' | 'external';
export type ChannelState = 'Down' | 'Ring' | 'Ringing' | 'Up';
export type SpyDirection = 'none' | 'in' | 'out' | 'both';

export interface DialplanLocation {
  context: string;
  exten: string;
  priority: number;
  app_name: string;
  app_data: string;
}

export interface CallerIdJson {
  name: string;
  number: string;
}

export interface ChannelJson {
  id: string;
  name: string;
  state: ChannelState;
  protocol_id: string;
  caller: CallerIdJson;
  connected: CallerIdJson;
  accountcode: string;
  dialplan: DialplanLocation;
  creationtime: string;
  language: string;
  channelvars?: Record<string, string>;
}

export interface ExternalMediaTarget {
  host: string;
  port: number;
  format: 'ulaw' | 'alaw' | 'slin16';
  localAddress: string;
  localPort: number;
}

export class SimChannel {
  readonly id: string;
  readonly name: string;
  readonly kind: ChannelKind;
  /** `PJSIP/1001` for endpoint channels, null for snoop / UnicastRTP. */
  readonly endpoint: string | null;
  readonly creationtime = asteriskTime();
  state: ChannelState;
  caller: CallerIdJson = { name: '', number: '' };
  connected: CallerIdJson = { name: '', number: '' };
  dialplan: DialplanLocation;
  readonly variables = new Map<string, string>();
  /** Variables set with report_events=true: shown in `channelvars` of later events. */
  readonly reportedVariables = new Set<string>();
  /** The Stasis app the channel is in, or null (dialplan, or not started yet). */
  stasisApp: string | null = null;
  stasisFailed = false;
  /** Apps that own the channel from creation to destruction (originate/create/externalMedia with app=). */
  readonly ownerApps = new Set<string>();
  bridgeId: string | null = null;
  hungUp = false;
  /** Dialplan application the channel runs outside Stasis (e.g. `Queue`), null while in Stasis. */
  dialplanApp: string | null = null;
  dialplanAppData: string | null = null;
  /** The channel variables at the moment it last left Stasis (what the dialplan saw). */
  leftStasisWith: Record<string, string> | null = null;
  /** What the far end says (callers and agents); silence when null. */
  audio: AudioSource | null = null;
  /** What Asterisk plays to the channel (a bridged agent's voice), heard by spy=out. */
  heard: AudioSource | null = null;
  /** Local channels: the id of the other half. */
  localPeer: string | null = null;
  /** Media that reached the far end of the channel, in order (what the caller heard). */
  readonly heardMedia: string[] = [];
  /** Snoop channels: the spied channel and directions. */
  snoopOf: string | null = null;
  spy: SpyDirection = 'none';
  whisper: SpyDirection = 'none';
  /** UnicastRTP channels: where the RTP goes and where it comes from. */
  external: ExternalMediaTarget | null = null;
  /** The dialplan applications after the Stasis() line, run when Stasis returns (callers). */
  afterStasis: string[] = ['Wait(600)'];

  constructor(init: { id: string; name: string; kind: ChannelKind; endpoint?: string | null; state: ChannelState; dialplan: DialplanLocation }) {
    this.id = init.id;
    this.name = init.name;
    this.kind = init.kind;
    this.endpoint = init.endpoint ?? null;
    this.state = init.state;
    this.dialplan = { ...init.dialplan };
  }

  get technology(): string {
    return this.name.slice(0, this.name.indexOf('/'));
  }

  toJSON(extraVars?: Record<string, string>): ChannelJson {
    const json: ChannelJson = {
      id: this.id,
      name: this.name,
      state: this.state,
      protocol_id: '',
      caller: { ...this.caller },
      connected: { ...this.connected },
      accountcode: '',
      dialplan: { ...this.dialplan },
      creationtime: this.creationtime,
      language: 'en',
    };
    if (this.reportedVariables.size > 0 || extraVars) {
      const vars: Record<string, string> = { ...extraVars };
      for (const name of this.reportedVariables) vars[name] = this.variables.get(name) ?? '';
      json.channelvars = vars;
    }
    return json;
  }
}

export interface BridgeJson {
  id: string;
  technology: string;
  bridge_type: string;
  bridge_class: string;
  creator: string;
  name: string;
  channels: string[];
  creationtime: string;
  video_mode: string;
}

export class SimBridge {
  readonly id: string;
  readonly type: 'mixing' | 'holding';
  readonly name: string;
  readonly creationtime = asteriskTime();
  readonly channels: string[] = [];
  /** App -> subscription count: +1 per channel the app added, -1 per removeChannel (Asterisk refcounts). */
  readonly subscribers = new Map<string, number>();
  moh: string | null = null;

  constructor(id: string, type: 'mixing' | 'holding', name: string) {
    this.id = id;
    this.type = type;
    this.name = name;
  }

  toJSON(): BridgeJson {
    return {
      id: this.id,
      technology: this.type === 'holding' ? 'holding_bridge' : 'simple_bridge',
      bridge_type: this.type,
      bridge_class: 'stasis',
      creator: 'Stasis',
      name: this.name,
      channels: [...this.channels],
      creationtime: this.creationtime,
      video_mode: 'talker',
    };
  }
}

export interface PlaybackJson {
  id: string;
  media_uri: string;
  target_uri: string;
  language: string;
  state: 'queued' | 'playing' | 'continuing' | 'done' | 'failed';
}
