import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ASTERISK } from '../helpers/paths.js';
import { until, useAriWorlds, type World } from './helpers.js';

interface Request {
  method: string;
  path: string;
  query: Record<string, string>;
  status?: number;
}

/** The tap's operations and the parameters that matter, whatever ids each side chose. */
function operation(r: Request): string | null {
  const p = r.path.replace(/^\/ari/, '');
  if (r.method === 'POST' && /^\/channels\/[^/]+\/snoop(\/[^/]+)?$/.test(p)) return `snoop spy=${r.query['spy']}`;
  if (r.method === 'POST' && p === '/channels/externalMedia') return `externalMedia format=${r.query['format']}`;
  if (r.method === 'POST' && /^\/bridges(\/[^/]+)?$/.test(p)) return `createBridge type=${r.query['type']}`;
  if (r.method === 'POST' && /^\/bridges\/[^/]+\/addChannel$/.test(p)) return `addChannel members=${(r.query['channel'] ?? '').split(',').length}`;
  if (r.method === 'DELETE' && /^\/bridges\/[^/]+$/.test(p)) return 'deleteBridge';
  return null;
}

/** The recorded requests of the tap's life: from the snoop to the bridge's deletion. */
function recordedTap(file: string): string[] {
  const rec = JSON.parse(readFileSync(join(ASTERISK, 'recorded', file), 'utf8')) as Array<Request & { dir: string }>;
  return rec.filter((r) => r.dir === 'rest').map(operation).filter((o): o is string => o !== null);
}

function isSubsequence(needle: string[], hay: string[]): boolean {
  let i = 0;
  for (const h of hay) if (h === needle[i]) i++;
  return i === needle.length;
}

/**
 * Replays: a call like the recorded one is tapped by the app through the simulator, and the app makes
 * the recorded tap requests, with the same parameters, in the same order (ids differ: the app presets
 * its own). The DELETE of the externalMedia channel is matched by id in the app's requests below.
 */
describe('the app replays the recorded tap scenarios against the simulator', () => {
  const fixture = useAriWorlds();
  let w: World | null = null;

  const cases = [
    { file: '08-pjsip-inbound-snoop-in-ulaw.json', format: 'ulaw', note: 'inbound PJSIP call from the dialplan, spy=in, ulaw' },
    { file: '01-originate-app-snoop-in-externalmedia-ulaw.json', format: 'ulaw', note: 'originated call, spy=in, ulaw' },
  ] as const;

  for (const c of cases) {
    it(`${c.file}: ${c.note}`, async () => {
      const recorded = recordedTap(c.file);
      expect(recorded).toEqual(['snoop spy=in', `externalMedia format=${c.format}`, 'createBridge type=mixing', 'addChannel members=2', 'deleteBridge']);
      w = await fixture.world({ ports: [46300, 46309], ari: { tapFormat: c.format } });
      const requests: Request[] = [];
      w.sim.on('rest', (r) => requests.push(r));
      const callId = await w.sim.placeCall({ stasisArgs: ['monitor'] });
      await until(() => w!.taps(callId).some((t) => t.state === 'tapped'), 10_000, 'tapped');
      const emId = w.sim.channels().find((ch) => ch.kind === 'external')!.id;
      w.sim.hangup(callId);
      await until(() => w!.leftovers().bridges.length === 0 && w!.leftovers().channels.length === 0, 10_000, 'released');

      const ours = requests.map(operation).filter((o): o is string => o !== null);
      expect(isSubsequence(recorded, ours), `ours: ${ours.join(' | ')}`).toBe(true);
      // as recorded: the externalMedia channel is deleted before its bridge, after the caller hung up
      const deletes = requests.filter((r) => r.method === 'DELETE').map((r) => r.path);
      expect(deletes.indexOf(`/ari/channels/${emId}`)).toBeGreaterThanOrEqual(0);
      expect(deletes.indexOf(`/ari/channels/${emId}`)).toBeLessThan(deletes.findIndex((p) => p.startsWith('/ari/bridges/')));
      expect(requests.filter((r) => (r.status ?? 0) >= 500)).toEqual([]);
    });
  }

  it('02-dialplan-stasis-snoop-both-slin16-hangup.json: the same requests with tapFormat slin16, but spy=in by design', async () => {
    // The recording tapped spy=both (caller + what is played to it); ser-ari scores the caller's voice only.
    const recorded = recordedTap('02-dialplan-stasis-snoop-both-slin16-hangup.json').map((o) => o.replace('spy=both', 'spy=in'));
    w = await fixture.world({ ports: [46310, 46319], ari: { tapFormat: 'slin16' } });
    const requests: Request[] = [];
    w.sim.on('rest', (r) => requests.push(r));
    const callId = await w.sim.placeCall({ stasisArgs: ['monitor'] });
    await until(() => w!.taps(callId).some((t) => t.state === 'tapped'), 10_000, 'tapped');
    await until(() => (w!.audioPath.stats(callId)?.rtp?.packets ?? 0) > 5, 5_000, 'slin16 RTP received');
    w.sim.hangup(callId);
    await until(() => w!.leftovers().bridges.length === 0, 10_000, 'released');
    const ours = requests.map(operation).filter((o): o is string => o !== null);
    expect(isSubsequence(recorded, ours), `ours: ${ours.join(' | ')}`).toBe(true);
  });
});
