import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VerdictBook } from '../../src/calls/verdict.js';
import { REPO } from '../helpers/paths.js';

/** The shipped FreeSWITCH dialplan sample agrees with what ser-ari listens for and writes. */
describe('dialplan/freeswitch/ser-ari.xml', () => {
  const xml = readFileSync(join(REPO, 'dialplan/freeswitch/ser-ari.xml'), 'utf8');
  const actions = [...xml.matchAll(/<action application="([^"]+)" data="([^"]*)"\/>/g)].map((m) => ({ app: m[1]!, data: m[2]! }));

  it('fires the hook ser-ari subscribes to, with no space in its data (FreeSWITCH splits on spaces)', () => {
    const hooks = actions.filter((a) => a.app === 'event');
    expect(hooks).toHaveLength(1);
    expect(hooks[0]!.data).toMatch(/^Event-Subclass=ser::monitor,Event-Name=CUSTOM(,|$)/);
    expect(hooks[0]!.data).not.toMatch(/\s/);
  });

  it('decides in a new hunt, on the values ser-ari writes', () => {
    const hunts = actions.filter((a) => a.app === 'execute_extension').map((a) => a.data.split(' ')[0]);
    const extensions = [...xml.matchAll(/<condition field="destination_number" expression="\^([^$"]+)\$"/g)].map((m) => m[1]);
    for (const target of hunts) expect(extensions).toContain(target);
    const escalate = /<condition field="\$\{SER_ESCALATE\}" expression="([^"]+)"/.exec(xml)![1]!;
    const book = new VerdictBook({ escalateNegativity: 0.5, escalatePriority: 10 });
    const probs = { ANG: 0.9, DIS: 0.05, FEA: 0.01, HAP: 0.01, NEU: 0.02, SAD: 0.01 };
    book.observe({ callId: 'c', speech: true, raw: probs, probs, dominant: 'ANG', negativity: 0.9, classified: 1 } as never);
    const vars = book.variables('c', null);
    expect(vars['SER_ESCALATE']).toMatch(new RegExp(escalate));
    expect(vars['QUEUE_PRIO']).toMatch(/^[1-9][0-9]+$/); // the fifo sample's "escalated" branch
  });
});
