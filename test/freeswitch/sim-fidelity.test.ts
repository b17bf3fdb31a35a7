import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { EslParser, type EslMessage } from '../../src/freeswitch/esl-parser.js';
import { FsSimulator } from '../../src/sim/freeswitch/index.js';
import { loadRecording } from './recordings.js';

/** Keys of a JSON event body in order, duplicates kept (JSON.parse would fold them). */
const keysOf = (body: string): string[] => [...body.matchAll(/"([^"]+)":"(?:[^"\\]|\\.)*"/g)].map((m) => m[1]!);
const label = (body: string): string => {
  const o = JSON.parse(body) as Record<string, string>;
  return o['Event-Name'] === 'CUSTOM' ? `CUSTOM ${o['Event-Subclass']}` : o['Event-Name']!;
};
const isSubsequence = (small: string[], big: string[]): boolean => {
  let j = 0;
  for (const k of big) if (k === small[j]) j++;
  return j === small.length;
};

describe('the simulator speaks like the recorded FreeSWITCH (07, connection obs: event json ALL)', () => {
  it('auth, then events whose headers are the recorded ones in the recorded order (variables aside), Hangup-Cause twice', async () => {
    const recorded = new Map<string, string[]>();
    for (const e of loadRecording('07-event-hook-and-setvar.json')) {
      if (e.dir !== 'esl-in' || e.data.conn !== 'obs' || e.data.headers['Content-Type'] !== 'text/event-json') continue;
      const name = label(e.data.body!);
      // The pbx leg (what the simulator models), not the SIP caller leg of the test rig.
      if (!e.data.body!.includes('"Channel-Name":"sofia/pbx/') || e.data.body!.includes('"Call-Direction":"outbound"')) continue;
      if (!recorded.has(name)) recorded.set(name, keysOf(e.data.body!).filter((k) => !k.startsWith('variable_')));
    }
    const sim = await FsSimulator.start({ playbackMs: 50 });
    const socket = connect(sim.port, '127.0.0.1');
    const parser = new EslParser();
    const msgs: EslMessage[] = [];
    socket.on('data', (d) => msgs.push(...parser.push(d)));
    const waitFor = async (n: number): Promise<void> => {
      while (msgs.length < n) await new Promise((r) => setTimeout(r, 10));
    };
    try {
      await waitFor(1);
      expect(msgs[0]!.headers).toEqual({ 'Content-Type': 'auth/request' });
      socket.write('api status\n\n');
      await waitFor(2);
      expect(msgs[1]!.headers['Reply-Text']).toBe('-ERR command not found');
      socket.write('auth ClueCon\n\nevent json ALL\n\n');
      await waitFor(4);
      expect(msgs.slice(2).map((m) => m.headers['Reply-Text'])).toEqual(['+OK accepted', '+OK event listener enabled json']);
      const uuid = sim.placeCall({ audio: new Float32Array(1600) });
      socket.write(`api uuid_broadcast ${uuid} /usr/freeswitch/share/freeswitch/sounds/test/warning.wav aleg\n\n`);
      await new Promise((r) => setTimeout(r, 150));
      sim.hangup(uuid);
      await new Promise((r) => setTimeout(r, 50));
      const events = msgs.filter((m) => m.headers['Content-Type'] === 'text/event-json');
      const names = events.map((m) => label(m.body!));
      expect(names.slice(0, 6)).toEqual(['CHANNEL_CREATE', 'CHANNEL_ANSWER', 'CHANNEL_EXECUTE', 'CUSTOM ser::monitor', 'CHANNEL_EXECUTE_COMPLETE', 'CHANNEL_EXECUTE']);
      expect(names).toContain('PLAYBACK_STOP');
      expect(names.slice(-2)).toEqual(['CHANNEL_HANGUP_COMPLETE', 'CHANNEL_DESTROY']);
      let compared = 0;
      for (const m of events) {
        const name = label(m.body!);
        const ours = keysOf(m.body!).filter((k) => !k.startsWith('variable_'));
        const theirs = recorded.get(name);
        if (!theirs) continue;
        // Every header we send is one FreeSWITCH sent, in the same order (we omit some, never invent).
        expect(isSubsequence(ours.filter((k) => k !== 'Application-Data' && k !== 'Playback-Status' || theirs.includes(k)), theirs), `${name}: ${ours.join(',')}`).toBe(true);
        compared++;
      }
      expect(compared).toBeGreaterThanOrEqual(8);
      const hc = events.find((m) => label(m.body!) === 'CHANNEL_HANGUP_COMPLETE')!;
      expect(keysOf(hc.body!).filter((k) => k === 'Hangup-Cause')).toHaveLength(2);
    } finally {
      socket.destroy();
      await sim.stop();
    }
  });
});
