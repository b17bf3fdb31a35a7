import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourceOf } from '../../src/ari/tap.js';
import { ASTERISK } from '../helpers/paths.js';

describe("a tap's RTP source, from the externalMedia response", () => {
  it('is the UNICASTRTP_LOCAL_ADDRESS and _PORT of the recorded responses, where the recorded RTP came from', () => {
    const rec = JSON.parse(readFileSync(join(ASTERISK, 'recorded/01-originate-app-snoop-in-externalmedia-ulaw.json'), 'utf8')) as Array<{ dir: string; path: string | null; body: unknown }>;
    const em = rec.find((r) => r.dir === 'rest' && r.path?.endsWith('/channels/externalMedia'))!;
    const stats = JSON.parse(readFileSync(join(ASTERISK, 'rtp/stats.json'), 'utf8')) as Record<string, { from?: string[] }>;
    const from = stats['01-originate-app-snoop-in-externalmedia-ulaw:rtp']!.from![0]!;
    const src = sourceOf(em.body)!;
    expect(`${src.address}:${src.port}`).toBe(from);
  });

  it('is unknown (nothing pinned) for a wildcard address, a missing or bad port, or no variables', () => {
    expect(sourceOf({ channelvars: { UNICASTRTP_LOCAL_ADDRESS: '0.0.0.0', UNICASTRTP_LOCAL_PORT: '10000' } })).toBeNull();
    expect(sourceOf({ channelvars: { UNICASTRTP_LOCAL_ADDRESS: '10.0.0.5' } })).toBeNull();
    expect(sourceOf({ channelvars: { UNICASTRTP_LOCAL_ADDRESS: '10.0.0.5', UNICASTRTP_LOCAL_PORT: 'x' } })).toBeNull();
    expect(sourceOf({})).toBeNull();
    expect(sourceOf(null)).toBeNull();
  });
});
