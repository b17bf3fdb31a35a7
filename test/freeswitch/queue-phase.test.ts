import { describe, expect, it } from 'vitest';
import { EslParser, parseEventBody } from '../../src/freeswitch/esl-parser.js';
import { fifoMediaOf, queuePhaseOf } from '../../src/freeswitch/queue-phase.js';
import { connScripts, loadRecording, wire } from './recordings.js';

/** Recording 04's queue events, read as ser-ari reads them: who joined a queue, who reached an agent. */
describe('queue phases from the recorded mod_callcenter and mod_fifo events (04)', () => {
  const fifoMedia: string[] = [];
  const moves = (() => {
    const out: string[] = [];
    for (const script of connScripts(loadRecording('04-queues.json'))) {
      const parser = new EslParser();
      const msgs = [...script.before, ...script.steps.flatMap((s) => s.replies)];
      for (const m of parser.push(Buffer.concat(msgs.map(wire)))) {
        const e = parseEventBody(m);
        const p = e && queuePhaseOf(e);
        if (p) out.push(`${p.callId.slice(0, 8)} ${p.phase} ${p.queue}${p.agent ? ` ${p.agent}` : ''}`);
        const f = e && fifoMediaOf(e);
        if (f) fifoMedia.push(`${f.callId.slice(0, 8)} ${f.paused ? 'paused' : 'heard'}`);
      }
    }
    return out;
  })();

  it('mod_callcenter: three callers queued, the re-queued one queued again, then it (not the agent leg) reaches agent-1001', () => {
    expect(moves.filter((m) => /^(a33ad118|ad652e2d|d8a20c1e|68849d3a)/.test(m))).toEqual([
      'a33ad118 queued support',
      'ad652e2d queued support',
      'd8a20c1e queued support',
      'a33ad118 queued support',
      'a33ad118 agent support agent-1001',
    ]);
  });

  it('mod_fifo: three callers pushed, the priority-1 caller popped by the consumer', () => {
    expect(moves.filter((m) => /^(a8594a83|aab668cf|23e46749|d9b343ac)/.test(m))).toEqual([
      'a8594a83 queued support',
      'aab668cf queued support',
      '23e46749 queued support',
      expect.stringMatching(/^aab668cf agent support sofia\/pbx\/2000@/),
    ]);
  });

  it('mod_fifo pauses a waiting caller\'s media bugs: paused at push, heard again when bridged to the consumer or when it leaves (abort)', () => {
    expect(fifoMedia).toEqual(['a8594a83 paused', 'aab668cf paused', '23e46749 paused', 'aab668cf heard', '23e46749 heard', 'a8594a83 heard']);
  });
});
