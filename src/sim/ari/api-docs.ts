/**
 * Our own Swagger 1.1 description of the part of ARI the simulator implements: only the
 * resources and operations ser-ari and its tests use, with the same paths, httpMethod, nickname,
 * parameter names and paramType as Asterisk 22 (test/sim/api-docs.test.ts checks each against
 * shared/asterisk/api-docs). ari-client builds its methods from this, and looks up every websocket
 * event's type in the events models: an event type missing there crashes the client, so
 * EVENT_MODELS lists every type the simulator sends.
 */

export interface ParamDoc {
  name: string;
  paramType: 'path' | 'query' | 'body';
  dataType: string;
  required: boolean;
  allowMultiple: boolean;
}

export interface OperationDoc {
  httpMethod: 'GET' | 'POST' | 'PUT' | 'DELETE';
  nickname: string;
  responseClass: string;
  parameters: ParamDoc[];
}

export interface ApiDoc {
  path: string;
  operations: OperationDoc[];
}

/** `name` (query, optional), `name!` (required), `name*` (allowMultiple), `name:int`; `{name}` is a path parameter, `@name` a body. */
function params(...specs: string[]): ParamDoc[] {
  return specs.map((spec) => {
    const [raw = '', dataType = 'string'] = spec.split(':');
    const path = raw.startsWith('{');
    const body = raw.startsWith('@');
    const name = raw.replace(/[{}@!*]/g, '');
    return {
      name,
      paramType: path ? 'path' : body ? 'body' : 'query',
      dataType: body ? 'containers' : dataType,
      required: path || raw.includes('!'),
      allowMultiple: raw.includes('*'),
    };
  });
}

function op(httpMethod: OperationDoc['httpMethod'], nickname: string, responseClass: string, parameters: ParamDoc[] = []): OperationDoc {
  return { httpMethod, nickname, responseClass, parameters };
}

const ORIGINATE = ['extension', 'context', 'priority:long', 'label', 'app', 'appArgs', 'callerId', 'timeout:int', '@variables'];
const PLAY = ['lang', 'offsetms:int', 'skipms:int'];

export const RESOURCES: Record<string, { description: string; apis: ApiDoc[] }> = {
  asterisk: {
    description: 'Asterisk resources',
    apis: [
      { path: '/asterisk/info', operations: [op('GET', 'getInfo', 'AsteriskInfo', params('only*'))] },
      { path: '/asterisk/ping', operations: [op('GET', 'ping', 'AsteriskPing')] },
      { path: '/asterisk/modules', operations: [op('GET', 'listModules', 'List[Module]')] },
      { path: '/asterisk/modules/{moduleName}', operations: [op('GET', 'getModule', 'Module', params('{moduleName}'))] },
    ],
  },
  endpoints: {
    description: 'Endpoint resources',
    apis: [
      { path: '/endpoints', operations: [op('GET', 'list', 'List[Endpoint]')] },
      { path: '/endpoints/{tech}', operations: [op('GET', 'listByTech', 'List[Endpoint]', params('{tech}'))] },
      { path: '/endpoints/{tech}/{resource}', operations: [op('GET', 'get', 'Endpoint', params('{tech}', '{resource}'))] },
    ],
  },
  channels: {
    description: 'Channel resources',
    apis: [
      {
        path: '/channels',
        operations: [
          op('GET', 'list', 'List[Channel]'),
          op('POST', 'originate', 'Channel', params('endpoint!', ...ORIGINATE, 'channelId', 'otherChannelId', 'originator', 'formats')),
        ],
      },
      {
        path: '/channels/create',
        operations: [op('POST', 'create', 'Channel', params('endpoint!', 'app!', 'appArgs', 'channelId', 'otherChannelId', 'originator', 'formats', '@variables'))],
      },
      {
        path: '/channels/externalMedia',
        operations: [
          op(
            'POST',
            'externalMedia',
            'Channel',
            params('channelId', 'app!', '@variables', 'external_host', 'encapsulation', 'transport', 'connection_type', 'format!', 'direction', 'data', 'transport_data'),
          ),
        ],
      },
      {
        path: '/channels/{channelId}',
        operations: [
          op('GET', 'get', 'Channel', params('{channelId}')),
          op('POST', 'originateWithId', 'Channel', params('{channelId}', 'endpoint!', ...ORIGINATE, 'otherChannelId', 'originator', 'formats')),
          op('DELETE', 'hangup', 'void', params('{channelId}', 'reason_code', 'reason')),
        ],
      },
      { path: '/channels/{channelId}/continue', operations: [op('POST', 'continueInDialplan', 'void', params('{channelId}', 'context', 'extension', 'priority:int', 'label'))] },
      { path: '/channels/{channelId}/redirect', operations: [op('POST', 'redirect', 'void', params('{channelId}', 'endpoint!'))] },
      { path: '/channels/{channelId}/answer', operations: [op('POST', 'answer', 'void', params('{channelId}'))] },
      { path: '/channels/{channelId}/ring', operations: [op('POST', 'ring', 'void', params('{channelId}')), op('DELETE', 'ringStop', 'void', params('{channelId}'))] },
      { path: '/channels/{channelId}/hold', operations: [op('POST', 'hold', 'void', params('{channelId}')), op('DELETE', 'unhold', 'void', params('{channelId}'))] },
      {
        path: '/channels/{channelId}/moh',
        operations: [op('POST', 'startMoh', 'void', params('{channelId}', 'mohClass')), op('DELETE', 'stopMoh', 'void', params('{channelId}'))],
      },
      { path: '/channels/{channelId}/play', operations: [op('POST', 'play', 'Playback', params('{channelId}', 'media!*', ...PLAY, 'playbackId'))] },
      { path: '/channels/{channelId}/play/{playbackId}', operations: [op('POST', 'playWithId', 'Playback', params('{channelId}', '{playbackId}', 'media!*', ...PLAY))] },
      {
        path: '/channels/{channelId}/variable',
        operations: [
          op('GET', 'getChannelVar', 'Variable', params('{channelId}', 'variable!')),
          op('POST', 'setChannelVar', 'void', params('{channelId}', 'variable!', 'value', 'report_events:boolean')),
        ],
      },
      { path: '/channels/{channelId}/variables', operations: [op('POST', 'setChannelVars', 'void', [...params('{channelId}'), { ...params('@variables')[0]!, required: true }])] },
      { path: '/channels/{channelId}/snoop', operations: [op('POST', 'snoopChannel', 'Channel', params('{channelId}', 'spy', 'whisper', 'app!', 'appArgs', 'snoopId'))] },
      {
        path: '/channels/{channelId}/snoop/{snoopId}',
        operations: [op('POST', 'snoopChannelWithId', 'Channel', params('{channelId}', '{snoopId}', 'spy', 'whisper', 'app!', 'appArgs'))],
      },
      { path: '/channels/{channelId}/dial', operations: [op('POST', 'dial', 'void', params('{channelId}', 'caller', 'timeout:int'))] },
    ],
  },
  bridges: {
    description: 'Bridge resources',
    apis: [
      { path: '/bridges', operations: [op('GET', 'list', 'List[Bridge]'), op('POST', 'create', 'Bridge', params('type', 'bridgeId', 'name', '@variables'))] },
      {
        path: '/bridges/{bridgeId}',
        operations: [
          op('POST', 'createWithId', 'Bridge', params('type', '{bridgeId}', 'name', '@variables')),
          op('GET', 'get', 'Bridge', params('{bridgeId}')),
          op('DELETE', 'destroy', 'void', params('{bridgeId}')),
        ],
      },
      {
        path: '/bridges/{bridgeId}/addChannel',
        operations: [op('POST', 'addChannel', 'void', params('{bridgeId}', 'channel!*', 'role', 'absorbDTMF:boolean', 'mute:boolean', 'inhibitConnectedLineUpdates:boolean'))],
      },
      { path: '/bridges/{bridgeId}/removeChannel', operations: [op('POST', 'removeChannel', 'void', params('{bridgeId}', 'channel!*'))] },
      {
        path: '/bridges/{bridgeId}/moh',
        operations: [op('POST', 'startMoh', 'void', params('{bridgeId}', 'mohClass')), op('DELETE', 'stopMoh', 'void', params('{bridgeId}'))],
      },
      { path: '/bridges/{bridgeId}/play', operations: [op('POST', 'play', 'Playback', params('{bridgeId}', 'media!*', 'announcer_format', ...PLAY, 'playbackId'))] },
      {
        path: '/bridges/{bridgeId}/play/{playbackId}',
        operations: [op('POST', 'playWithId', 'Playback', params('{bridgeId}', '{playbackId}', 'media!*', 'announcer_format', ...PLAY))],
      },
    ],
  },
  playbacks: {
    description: 'Playback control resources',
    apis: [{ path: '/playbacks/{playbackId}', operations: [op('GET', 'get', 'Playback', params('{playbackId}')), op('DELETE', 'stop', 'void', params('{playbackId}'))] }],
  },
  events: {
    description: 'WebSocket resource',
    apis: [{ path: '/events', operations: [op('GET', 'eventWebsocket', 'Message', params('app!*', 'subscribeAll:boolean'))] }],
  },
  applications: {
    description: 'Stasis application resources',
    apis: [
      { path: '/applications', operations: [op('GET', 'list', 'List[Application]')] },
      { path: '/applications/{applicationName}', operations: [op('GET', 'get', 'Application', params('{applicationName}'))] },
      {
        path: '/applications/{applicationName}/subscription',
        operations: [
          op('POST', 'subscribe', 'Application', params('{applicationName}', 'eventSource!*')),
          op('DELETE', 'unsubscribe', 'Application', params('{applicationName}', 'eventSource!*')),
        ],
      },
    ],
  },
};

type Props = Record<string, { type: string; required?: boolean }>;

/** Every event type the simulator sends, with the properties ari-client turns into objects. */
export const EVENT_MODELS: Record<string, Props> = {
  StasisStart: { args: { type: 'List[string]', required: true }, channel: { type: 'Channel', required: true }, replace_channel: { type: 'Channel' } },
  StasisEnd: { channel: { type: 'Channel', required: true } },
  ChannelVarset: { variable: { type: 'string', required: true }, value: { type: 'string', required: true }, channel: { type: 'Channel' } },
  Dial: {
    caller: { type: 'Channel' },
    peer: { type: 'Channel', required: true },
    forward: { type: 'string' },
    forwarded: { type: 'Channel' },
    dialstring: { type: 'string' },
    dialstatus: { type: 'string', required: true },
  },
  ChannelStateChange: { channel: { type: 'Channel', required: true } },
  ChannelCallerId: {
    caller_presentation: { type: 'int', required: true },
    caller_presentation_txt: { type: 'string', required: true },
    channel: { type: 'Channel', required: true },
  },
  ChannelConnectedLine: { channel: { type: 'Channel', required: true } },
  ChannelDialplan: { channel: { type: 'Channel', required: true }, dialplan_app: { type: 'string', required: true }, dialplan_app_data: { type: 'string', required: true } },
  ChannelHangupRequest: { cause: { type: 'int' }, soft: { type: 'boolean' }, channel: { type: 'Channel', required: true } },
  ChannelDestroyed: { cause: { type: 'int', required: true }, cause_txt: { type: 'string', required: true }, channel: { type: 'Channel', required: true } },
  ChannelEnteredBridge: { bridge: { type: 'Bridge', required: true }, channel: { type: 'Channel' } },
  ChannelLeftBridge: { bridge: { type: 'Bridge', required: true }, channel: { type: 'Channel', required: true } },
  BridgeDestroyed: { bridge: { type: 'Bridge', required: true } },
  PlaybackStarted: { playback: { type: 'Playback', required: true } },
  PlaybackContinuing: { playback: { type: 'Playback', required: true } },
  PlaybackFinished: { playback: { type: 'Playback', required: true } },
  ApplicationReplaced: {},
};

function eventModels(): Record<string, unknown> {
  const models: Record<string, unknown> = {
    Message: {
      id: 'Message',
      discriminator: 'type',
      properties: { type: { type: 'string', required: true }, asterisk_id: { type: 'string', required: false } },
      subTypes: ['Event'],
    },
    Event: {
      id: 'Event',
      properties: { application: { type: 'string', required: true }, timestamp: { type: 'Date', required: true } },
      subTypes: Object.keys(EVENT_MODELS),
    },
  };
  for (const [id, properties] of Object.entries(EVENT_MODELS)) models[id] = { id, properties };
  return models;
}

export function resourceListing(basePath: string): object {
  return {
    apiVersion: '10.0.0',
    swaggerVersion: '1.1',
    basePath,
    apis: Object.entries(RESOURCES).map(([name, r]) => ({ path: `/api-docs/${name}.{format}`, description: r.description })),
  };
}

export function apiDeclaration(name: string, basePath: string): object | undefined {
  const resource = RESOURCES[name];
  if (!resource) return undefined;
  return {
    apiVersion: '2.0.0',
    swaggerVersion: '1.1',
    basePath,
    resourcePath: `/api-docs/${name}.{format}`,
    apis: resource.apis,
    models: name === 'events' ? eventModels() : {},
  };
}
