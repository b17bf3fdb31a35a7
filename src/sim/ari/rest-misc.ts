import type { AppHub } from './apps.js';
import { ASTERISK_ID } from './apps.js';
import { badRequest, notFound, unprocessable } from './errors.js';
import type { SimPbx } from './pbx.js';
import { list, noContent, ok, required } from './rest-util.js';
import type { Route } from './router.js';
import { asteriskTime } from './time.js';

/** /asterisk, /endpoints, /applications, /playbacks. */

const MODULES = [
  { name: 'chan_rtp.so', description: 'RTP Media Channel', use_count: 0, status: 'Running', support_level: 'core' },
  { name: 'chan_pjsip.so', description: 'PJSIP Channel Driver', use_count: 0, status: 'Running', support_level: 'core' },
  { name: 'app_stasis.so', description: 'Stasis dialplan application', use_count: 0, status: 'Running', support_level: 'core' },
  { name: 'res_ari.so', description: 'Asterisk RESTful Interface', use_count: 0, status: 'Running', support_level: 'core' },
  { name: 'app_queue.so', description: 'True Call Queueing', use_count: 0, status: 'Running', support_level: 'core' },
];

export function miscRoutes(pbx: SimPbx, hub: AppHub, startedAt: () => string): Route[] {
  const endpointJson = (key: string) => {
    const ep = pbx.endpoints.get(key)!;
    return {
      technology: ep.technology,
      resource: ep.resource,
      state: pbx.endpointState(ep),
      channel_ids: [...pbx.channels.values()].filter((c) => c.endpoint === key).map((c) => c.id),
    };
  };

  const appJson = (name: string) => {
    const explicit = hub.explicit(name);
    const channelIds = new Set<string>(explicit?.channels ?? []);
    for (const ch of pbx.channels.values()) if (ch.stasisApp === name || ch.ownerApps.has(name)) channelIds.add(ch.id);
    const bridgeIds = new Set<string>(explicit?.bridges ?? []);
    for (const b of pbx.bridges.values()) if ((b.subscribers.get(name) ?? 0) > 0) bridgeIds.add(b.id);
    return {
      name,
      channel_ids: [...channelIds],
      bridge_ids: [...bridgeIds],
      endpoint_ids: [...(explicit?.endpoints ?? [])],
      device_names: [],
      events_allowed: [],
      events_disallowed: [],
    };
  };

  const appOr404 = (name: string | undefined): string => {
    if (!name || !hub.isRegistered(name)) throw notFound('Application not found');
    return name;
  };

  /** `channel:<id>`, `bridge:<id>`, `endpoint:<tech>/<resource>` (chan_local has no endpoints). */
  const source = (uri: string) => {
    const colon = uri.indexOf(':');
    const scheme = uri.slice(0, colon);
    const id = uri.slice(colon + 1);
    const kind = scheme === 'channel' ? 'channels' : scheme === 'bridge' ? 'bridges' : scheme === 'endpoint' ? 'endpoints' : null;
    if (colon < 0 || !kind) throw badRequest('Invalid event source URI scheme');
    const exists = kind === 'channels' ? pbx.channels.has(id) : kind === 'bridges' ? pbx.bridges.has(id) : pbx.endpoints.has(id);
    return { kind, id, exists } as const;
  };
  const uris = (query: Record<string, string>) => list(required(query, 'eventSource', 'Missing parameter eventSource'));

  /** res_stasis.c goes source by source: those before a bad or missing one stay subscribed. */
  const subscribe = (name: string, query: Record<string, string>) => {
    const explicit = hub.explicit(name)!;
    for (const uri of uris(query)) {
      const s = source(uri);
      if (!s.exists) throw unprocessable('Event source does not exist');
      explicit[s.kind].add(s.id);
    }
    return ok(appJson(name));
  };

  return [
    {
      method: 'GET',
      path: '/asterisk/info',
      handler: () =>
        ok({
          build: { os: 'Linux', kernel: 'ser-ari-simulator', machine: 'x86_64', options: 'OPTIONAL_API', date: startedAt(), user: 'root' },
          system: { version: '22.10.1', entity_id: ASTERISK_ID },
          config: { name: '', default_language: 'en', setid: { user: 'root', group: 'root' } },
          status: { startup_time: startedAt(), last_reload_time: startedAt() },
        }),
    },
    { method: 'GET', path: '/asterisk/ping', handler: () => ok({ ping: 'pong', timestamp: asteriskTime(), asterisk_id: ASTERISK_ID }) },
    { method: 'GET', path: '/asterisk/modules', handler: () => ok(MODULES) },
    {
      method: 'GET',
      path: '/asterisk/modules/{moduleName}',
      handler: (req) => {
        const module = MODULES.find((m) => m.name === req.params['moduleName']);
        if (!module) throw notFound('Module could not be found in running modules');
        return ok(module);
      },
    },
    { method: 'GET', path: '/endpoints', handler: () => ok([...pbx.endpoints.keys()].map(endpointJson)) },
    {
      method: 'GET',
      path: '/endpoints/{tech}',
      handler: (req) => {
        const keys = [...pbx.endpoints.keys()].filter((k) => k.startsWith(`${req.params['tech']}/`));
        if (keys.length === 0) throw notFound('No Endpoints found - invalid tech');
        return ok(keys.map(endpointJson));
      },
    },
    {
      method: 'GET',
      path: '/endpoints/{tech}/{resource}',
      handler: (req) => {
        const key = `${req.params['tech']}/${req.params['resource']}`;
        if (!pbx.endpoints.has(key)) throw notFound('Endpoint not found');
        return ok(endpointJson(key));
      },
    },
    { method: 'GET', path: '/applications', handler: () => ok(hub.names().map(appJson)) },
    { method: 'GET', path: '/applications/{applicationName}', handler: (req) => ok(appJson(appOr404(req.params['applicationName']))) },
    {
      method: 'POST',
      path: '/applications/{applicationName}/subscription',
      handler: (req) => {
        return subscribe(appOr404(req.params['applicationName']), req.query);
      },
    },
    {
      method: 'DELETE',
      path: '/applications/{applicationName}/subscription',
      handler: (req) => {
        const name = appOr404(req.params['applicationName']);
        const explicit = hub.explicit(name)!;
        const wanted = uris(req.query).map(source);
        if (wanted.some((s) => !explicit[s.kind].has(s.id))) throw unprocessable('Event source was not subscribed to');
        for (const s of wanted) explicit[s.kind].delete(s.id);
        return ok(appJson(name));
      },
    },
    {
      method: 'GET',
      path: '/playbacks/{playbackId}',
      handler: (req) => {
        const pb = pbx.playbacks.get(req.params['playbackId'] ?? '');
        if (!pb) throw notFound('Playback not found');
        return ok({ ...pb.json });
      },
    },
    {
      method: 'DELETE',
      path: '/playbacks/{playbackId}',
      handler: (req) => {
        const id = req.params['playbackId'] ?? '';
        if (!pbx.playbacks.has(id)) throw notFound('Playback not found');
        pbx.stopPlayback(id);
        return noContent();
      },
    },
  ];
}
