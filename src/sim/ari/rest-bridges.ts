import { randomUUID } from 'node:crypto';
import { badRequest, conflict, unprocessable, NOT_IN_STASIS } from './errors.js';
import type { SimChannel } from './model.js';
import type { SimPbx } from './pbx.js';
import { bridgeOr404, list, noContent, ok } from './rest-util.js';
import type { RestRequest, Route } from './router.js';

/** /bridges: mixing and holding bridges (no BridgeCreated event, as recorded), members, MOH, play. */

const TYPE_WORDS = new Set(['mixing', 'holding', 'dtmf_events', 'proxy_media', 'video_sfu', 'video_single', 'sdp_label']);

export function bridgeRoutes(pbx: SimPbx): Route[] {
  const create = (req: RestRequest, presetId?: string) => {
    const words = list(req.query['type'] ?? 'mixing');
    if (words.some((w) => !TYPE_WORDS.has(w))) throw badRequest('Invalid bridge type');
    const id = presetId ?? req.query['bridgeId'] ?? randomUUID();
    if (pbx.bridges.has(id)) throw conflict(`Bridge with id '${id}' already exists`);
    const bridge = pbx.createBridge(id, words.includes('holding') ? 'holding' : 'mixing', req.query['name'] ?? '');
    return ok(bridge.toJSON());
  };

  /** All channels are checked before any moves: 400 for an unknown one, 422 for one outside Stasis. */
  const members = (req: RestRequest): SimChannel[] => {
    const ids = list(req.query['channel']);
    if (ids.length === 0) throw badRequest('Missing parameter channel');
    return ids.map((id) => {
      const ch = pbx.channels.get(id);
      if (!ch) throw badRequest('Channel not found');
      if (!ch.stasisApp) throw unprocessable(NOT_IN_STASIS);
      return ch;
    });
  };

  const play = (req: RestRequest, presetId?: string) => {
    const bridge = bridgeOr404(pbx, req.params['bridgeId']);
    const media = list(req.query['media']);
    if (media.length === 0) throw badRequest('Missing parameter media');
    const id = presetId ?? req.query['playbackId'] ?? randomUUID();
    return { status: 201, body: pbx.play({ kind: 'bridge', id: bridge.id }, id, media) };
  };

  return [
    { method: 'GET', path: '/bridges', handler: () => ok([...pbx.bridges.values()].map((b) => b.toJSON())) },
    { method: 'POST', path: '/bridges', handler: (req) => create(req) },
    { method: 'POST', path: '/bridges/{bridgeId}', handler: (req) => create(req, req.params['bridgeId']) },
    { method: 'GET', path: '/bridges/{bridgeId}', handler: (req) => ok(bridgeOr404(pbx, req.params['bridgeId']).toJSON()) },
    {
      method: 'DELETE',
      path: '/bridges/{bridgeId}',
      handler: (req) => {
        pbx.destroyBridge(bridgeOr404(pbx, req.params['bridgeId']));
        return noContent();
      },
    },
    {
      method: 'POST',
      path: '/bridges/{bridgeId}/addChannel',
      handler: (req) => {
        const bridge = bridgeOr404(pbx, req.params['bridgeId']);
        for (const ch of members(req)) pbx.addToBridge(bridge, ch);
        return noContent();
      },
    },
    {
      method: 'POST',
      path: '/bridges/{bridgeId}/removeChannel',
      handler: (req) => {
        const bridge = bridgeOr404(pbx, req.params['bridgeId']);
        const ids = list(req.query['channel']);
        if (ids.length === 0) throw badRequest('Missing parameter channel');
        const chans = ids.map((id) => {
          const ch = pbx.channels.get(id);
          if (!ch) throw badRequest('Channel not found');
          if (ch.bridgeId !== bridge.id) throw unprocessable('Channel not in this bridge');
          return ch;
        });
        for (const ch of chans) pbx.removeFromBridge(bridge, ch);
        return noContent();
      },
    },
    {
      method: 'POST',
      path: '/bridges/{bridgeId}/moh',
      handler: (req) => {
        pbx.startBridgeMoh(bridgeOr404(pbx, req.params['bridgeId']), req.query['mohClass'] ?? 'default');
        return noContent();
      },
    },
    {
      method: 'DELETE',
      path: '/bridges/{bridgeId}/moh',
      handler: (req) => {
        const bridge = bridgeOr404(pbx, req.params['bridgeId']);
        if (bridge.moh === null) throw conflict("Bridge isn't playing music");
        bridge.moh = null;
        return noContent();
      },
    },
    { method: 'POST', path: '/bridges/{bridgeId}/play', handler: (req) => play(req) },
    { method: 'POST', path: '/bridges/{bridgeId}/play/{playbackId}', handler: (req) => play(req, req.params['playbackId']) },
  ];
}
