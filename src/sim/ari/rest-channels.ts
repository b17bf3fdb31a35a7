import { randomUUID } from 'node:crypto';
import { HANGUP_REASONS } from './causes.js';
import { allocationFailed, AriHttpError, badRequest, conflict, internalError, notFound, unprocessable } from './errors.js';
import { bindRtpSocket, type MediaFormat } from './media.js';
import type { SimChannel, SpyDirection } from './model.js';
import { endpointOf, type SimPbx } from './pbx.js';
import { bodyVariables, channelOr404, inStasisOr409, intParam, list, noContent, ok, parseCallerId, required } from './rest-util.js';
import type { RestRequest, Route } from './router.js';

/** /channels: originate, create, dial, snoop, externalMedia, variables, continue, hang-up, media. */

export interface ChannelRouteOptions {
  /** Address the externalMedia sockets bind to (UNICASTRTP_LOCAL_ADDRESS). */
  rtpHost: string;
  maxExternalMedia: number;
  /** Delay between the externalMedia answer and the channel's Stasis entry (13). */
  stasisDelayMs: number;
}

const FORMATS: readonly MediaFormat[] = ['ulaw', 'alaw', 'slin16'];
const DIRECTIONS: readonly SpyDirection[] = ['none', 'in', 'out', 'both'];
const TECHNOLOGIES = ['PJSIP', 'Local'];

export function channelRoutes(pbx: SimPbx, opts: ChannelRouteOptions): Route[] {
  const originate = (req: RestRequest, presetId?: string) => {
    const q = req.query;
    const endpoint = required(q, 'endpoint', 'Endpoint must be specified');
    if (!q['app'] && !q['extension']) throw badRequest('Application or extension must be specified');
    const ch = allocate(pbx, endpoint, presetId ?? q['channelId'], q['app'] ?? null, q);
    for (const [k, v] of Object.entries(bodyVariables(req.body))) ch.variables.set(k, v);
    const response = ch.toJSON();
    if (q['app']) pbx.originateToApp(ch, q['app'], list(q['appArgs']), intParam(q['timeout'], 30));
    else pbx.originateToDialplan(ch, q['context'] ?? 'default', q['extension']!);
    return ok(response);
  };

  const snoop = (req: RestRequest, presetId?: string) => {
    const q = req.query;
    const spy = (q['spy'] || 'none') as SpyDirection;
    const whisper = (q['whisper'] || 'none') as SpyDirection;
    if (!DIRECTIONS.includes(spy)) throw badRequest('Invalid direction specified for spy');
    if (!DIRECTIONS.includes(whisper)) throw badRequest('Invalid direction specified for whisper');
    if (spy === 'none' && whisper === 'none') throw badRequest('Direction must be specified for at least spy or whisper');
    const app = required(q, 'app', 'Application name is required');
    const target = channelOr404(pbx, req.params['channelId'], 'Provided channel was not found');
    const id = presetId ?? q['snoopId'] ?? pbx.ids.uniqueId();
    if (pbx.channels.has(id)) throw conflict('Channel with given unique ID already exists');
    const ch = pbx.snoop(target, { id, spy, whisper, app, args: list(q['appArgs']) });
    return ok(ch.toJSON());
  };

  const play = (req: RestRequest, presetId?: string) => {
    const ch = inStasisOr409(channelOr404(pbx, req.params['channelId']));
    const media = list(req.query['media']);
    if (media.length === 0) throw badRequest('Missing parameter media');
    const id = presetId ?? req.query['playbackId'] ?? randomUUID();
    return { status: 201, body: pbx.play({ kind: 'channel', id: ch.id }, id, media) };
  };

  /** ring, moh, hold...: accepted, no events (recorded in 05). */
  const quiet = (req: RestRequest) => {
    inStasisOr409(channelOr404(pbx, req.params['channelId']));
    return noContent();
  };

  return [
    { method: 'GET', path: '/channels', handler: () => ok([...pbx.channels.values()].map((c) => c.toJSON())) },
    { method: 'POST', path: '/channels', handler: (req) => originate(req) },
    { method: 'POST', path: '/channels/{channelId}', handler: (req) => originate(req, req.params['channelId']) },
    {
      method: 'POST',
      path: '/channels/create',
      handler: (req) => {
        const q = req.query;
        const endpoint = required(q, 'endpoint', 'Endpoint must be specified');
        const app = required(q, 'app', 'Application must be specified');
        const ch = allocate(pbx, endpoint, q['channelId'], app, q);
        for (const [k, v] of Object.entries(bodyVariables(req.body))) ch.variables.set(k, v);
        const response = ch.toJSON();
        pbx.createInStasis(ch, app, list(q['appArgs']));
        return ok(response);
      },
    },
    { method: 'GET', path: '/channels/{channelId}', handler: (req) => ok(channelOr404(pbx, req.params['channelId']).toJSON()) },
    {
      method: 'DELETE',
      path: '/channels/{channelId}',
      handler: (req) => {
        const cause = hangupCause(req.query);
        const ch = channelOr404(pbx, req.params['channelId']);
        pbx.hangupChannel(ch, { cause, byAri: true });
        return noContent();
      },
    },
    {
      method: 'POST',
      path: '/channels/{channelId}/continue',
      handler: (req) => {
        const ch = inStasisOr409(channelOr404(pbx, req.params['channelId']));
        const q = req.query;
        pbx.continueInDialplan(ch, {
          ...(q['context'] ? { context: q['context'] } : {}),
          ...(q['extension'] ? { extension: q['extension'] } : {}),
          ...(q['priority'] ? { priority: intParam(q['priority'], 1) } : {}),
        });
        return noContent();
      },
    },
    {
      method: 'POST',
      path: '/channels/{channelId}/redirect',
      handler: (req) => {
        const ch = inStasisOr409(channelOr404(pbx, req.params['channelId']));
        const endpoint = required(req.query, 'endpoint', 'Required parameter endpoint not provided');
        const tech = endpoint.split('/')[0] ?? '';
        if (tech !== ch.technology) throw unprocessable(`Endpoint technology '${tech}' does not match channel technology '${ch.technology}'`);
        ch.variables.set('SIM_REDIRECTED_TO', endpoint);
        pbx.leaveStasis(ch);
        pbx.hangupChannel(ch, { cause: 16, byAri: false });
        return noContent();
      },
    },
    {
      method: 'POST',
      path: '/channels/{channelId}/answer',
      handler: (req) => {
        pbx.answer(inStasisOr409(channelOr404(pbx, req.params['channelId'])));
        return noContent();
      },
    },
    { method: 'POST', path: '/channels/{channelId}/ring', handler: quiet },
    { method: 'DELETE', path: '/channels/{channelId}/ring', handler: quiet },
    { method: 'POST', path: '/channels/{channelId}/hold', handler: quiet },
    { method: 'DELETE', path: '/channels/{channelId}/hold', handler: quiet },
    { method: 'POST', path: '/channels/{channelId}/moh', handler: quiet },
    { method: 'DELETE', path: '/channels/{channelId}/moh', handler: quiet },
    { method: 'POST', path: '/channels/{channelId}/play', handler: (req) => play(req) },
    { method: 'POST', path: '/channels/{channelId}/play/{playbackId}', handler: (req) => play(req, req.params['playbackId']) },
    {
      method: 'GET',
      path: '/channels/{channelId}/variable',
      handler: (req) => {
        const variable = required(req.query, 'variable', 'Variable name is required');
        // Reading works on any channel, in Stasis or not (res/ari/resource_channels.c); writing needs Stasis.
        const ch = channelOr404(pbx, req.params['channelId'], 'Provided channel was not found');
        const value = pbx.getVariable(ch, variable);
        if (value === undefined) throw notFound('Provided variable was not found');
        return ok({ value });
      },
    },
    {
      method: 'POST',
      path: '/channels/{channelId}/variable',
      handler: (req) => {
        const ch = channelOr404(pbx, req.params['channelId']);
        const variable = required(req.query, 'variable', 'Variable name is required');
        inStasisOr409(ch);
        pbx.setVariable(ch, variable, req.query['value'] ?? '', req.query['report_events'] === 'true');
        return noContent();
      },
    },
    {
      method: 'POST',
      path: '/channels/{channelId}/variables',
      handler: (req) => {
        const ch = inStasisOr409(channelOr404(pbx, req.params['channelId']));
        const vars = bodyVariables(req.body);
        if (Object.keys(vars).length === 0) throw badRequest('Variables must be specified');
        for (const [k, v] of Object.entries(vars)) pbx.setVariable(ch, k, v, false);
        return noContent();
      },
    },
    { method: 'POST', path: '/channels/{channelId}/snoop', handler: (req) => snoop(req), eventsBeforeResponse: true },
    { method: 'POST', path: '/channels/{channelId}/snoop/{snoopId}', handler: (req) => snoop(req, req.params['snoopId']), eventsBeforeResponse: true },
    {
      method: 'POST',
      path: '/channels/{channelId}/dial',
      handler: (req) => {
        const ch = inStasisOr409(channelOr404(pbx, req.params['channelId']));
        const callerId = req.query['caller'];
        if (callerId) channelOr404(pbx, callerId, 'Caller not found');
        if (ch.state !== 'Down') throw conflict('Channel is not in the Down state');
        pbx.dial(ch, intParam(req.query['timeout'], 0));
        return noContent();
      },
    },
    {
      method: 'POST',
      path: '/channels/externalMedia',
      handler: async (req) => {
        const q = req.query;
        const app = required(q, 'app', 'Missing parameter app');
        if (q['encapsulation'] && q['encapsulation'] !== 'rtp') {
          throw new AriHttpError(501, `The simulator does not implement encapsulation '${q['encapsulation']}'`);
        }
        const hostPort = q['external_host'];
        if (!hostPort) throw badRequest('external_host is required for all but websocket server connections');
        const m = /^(.+):(\d+)$/.exec(hostPort);
        if (!m) throw badRequest('external_host must be <host>:<port> for all transports other than websocket');
        const format = required(q, 'format');
        if (!FORMATS.includes(format as MediaFormat)) throw internalError();
        if (pbx.externalMediaCount() >= opts.maxExternalMedia) throw allocationFailed();
        const id = q['channelId'] ?? pbx.ids.uniqueId();
        if (pbx.channels.has(id)) throw conflict('Channel with given unique ID already exists');
        const socket = await bindRtpSocket(opts.rtpHost);
        const ch = pbx.createExternalMedia({
          id,
          app,
          host: m[1]!,
          port: Number(m[2]),
          format: format as MediaFormat,
          socket,
          localAddress: opts.rtpHost,
        });
        for (const [k, v] of Object.entries(bodyVariables(req.body))) ch.variables.set(k, v);
        const response = ch.toJSON({
          UNICASTRTP_LOCAL_PORT: ch.variables.get('UNICASTRTP_LOCAL_PORT')!,
          UNICASTRTP_LOCAL_ADDRESS: ch.variables.get('UNICASTRTP_LOCAL_ADDRESS')!,
        });
        const start = () => {
          if (!ch.hungUp) pbx.startExternalMedia(ch, app, list(q['data']));
        };
        if (opts.stasisDelayMs > 0) setTimeout(start, opts.stasisDelayMs);
        else start();
        return ok(response);
      },
    },
  ];
}

function hangupCause(query: Record<string, string>): number {
  const code = query['reason_code'];
  const reason = query['reason'];
  if (code !== undefined && code !== '') {
    const n = Number.parseInt(code, 10);
    if (!Number.isFinite(n)) throw badRequest('Invalid reason for hangup reason provided');
    return n;
  }
  if (reason === undefined || reason === '') return 16;
  const cause = HANGUP_REASONS[reason];
  if (cause === undefined) throw badRequest('Invalid reason for hangup reason provided');
  return cause;
}

/**
 * A new outgoing channel. Unknown technologies and unreachable endpoints fail as ast_request does:
 * 500 {"error": "Allocation failed"} (recorded for `Bogus/xyz`; the same for an offline PJSIP endpoint).
 */
function allocate(pbx: SimPbx, endpoint: string, presetId: string | undefined, app: string | null, q: Record<string, string>): SimChannel {
  const slash = endpoint.indexOf('/');
  const tech = slash > 0 ? endpoint.slice(0, slash) : '';
  const resource = slash > 0 ? endpoint.slice(slash + 1) : '';
  if (!TECHNOLOGIES.includes(tech) || !resource) throw allocationFailed();
  if (tech === 'PJSIP') {
    const ep = pbx.endpoints.get(`PJSIP/${endpointOf(resource)}`);
    if (!ep || pbx.endpointState(ep) === 'offline') throw allocationFailed();
  }
  const id = presetId ?? pbx.ids.uniqueId();
  // core_unreal.c: a Local channel's ;2 half is `otherChannelId`, else `<channelId>;2`, else a unique id of its own.
  const otherId = tech !== 'Local' ? '' : (q['otherChannelId'] ?? (presetId ? `${id};2` : pbx.ids.uniqueId()));
  if (pbx.channels.has(id) || pbx.channels.has(otherId)) throw conflict('Channel with given unique ID already exists');
  return pbx.allocateOutgoing({
    id,
    otherId,
    tech,
    resource,
    app,
    callerId: parseCallerId(q['callerId']),
    context: q['context'] ?? null,
    extension: q['extension'] ?? null,
    priority: q['priority'] ? intParam(q['priority'], 1) : null,
  });
}

