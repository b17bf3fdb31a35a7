import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ALAW_TO_FLOAT, ULAW_TO_FLOAT } from '../../src/audio/g711.js';
import { AriSimulator } from '../../src/sim/ari/index.js';
import { connect, isType, sleep, type Connected } from './helpers.js';

/** externalMedia taps: real RTP over loopback UDP, checked against shared/asterisk/rtp observations. */

interface Received {
  packet: Buffer;
  from: RemoteInfo;
}

let sim: AriSimulator;
let client: Connected;
let receiver: Socket;
let received: Received[];

beforeEach(async () => {
  sim = await AriSimulator.start();
  client = await connect(sim);
  receiver = createSocket('udp4');
  received = [];
  receiver.on('message', (packet, from) => received.push({ packet, from }));
  await new Promise<void>((r) => receiver.bind(0, '127.0.0.1', () => r()));
});

afterEach(async () => {
  client.close();
  receiver.close();
  await sim.stop();
});

/** Speech-like test audio: smoothed noise, never periodic, so correlation finds one lag only. */
function voice(seconds: number, seed = 7): Float32Array {
  let a = seed;
  const rand = () => ((a = (a * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) - 0.5;
  const out = new Float32Array(seconds * 8000);
  let y = 0;
  for (let i = 0; i < out.length; i++) {
    y = 0.6 * y + 0.4 * rand();
    out[i] = 0.8 * y * (0.6 + 0.4 * Math.sin(i / 900));
  }
  return out;
}

async function tap(callerId: string, format: string, spy = 'in', port = receiver.address().port): Promise<{ snoopId: string; emId: string; bridgeId: string; localPort: number }> {
  const { ari, waitFor } = client;
  const snoop = await ari.channels.snoopChannel({ channelId: callerId, spy, app: 'ser', appArgs: 'snoop' });
  const em = await ari.channels.externalMedia({ app: 'ser', external_host: `127.0.0.1:${port}`, format, data: 'em' });
  await waitFor(isType('StasisStart', snoop.id));
  await waitFor(isType('StasisStart', em.id));
  const bridge = await ari.bridges.create({ type: 'mixing' });
  await ari.bridges.addChannel({ bridgeId: bridge.id, channel: [snoop.id, em.id] });
  return { snoopId: snoop.id, emId: em.id, bridgeId: bridge.id, localPort: Number(em.channelvars.UNICASTRTP_LOCAL_PORT) };
}

async function packets(n: number, from = received, timeoutMs = 5000): Promise<Received[]> {
  const deadline = Date.now() + timeoutMs;
  while (from.length < n && Date.now() < deadline) await sleep(20);
  expect(from.length).toBeGreaterThanOrEqual(n);
  return from.slice(0, n);
}

function header(p: Buffer) {
  return { version: p[0]! >> 6, padding: (p[0]! >> 5) & 1, extension: (p[0]! >> 4) & 1, csrc: p[0]! & 15, marker: p[1]! >> 7, pt: p[1]! & 0x7f, seq: p.readUInt16BE(2), ts: p.readUInt32BE(4), ssrc: p.readUInt32BE(8) };
}

/** Best normalised correlation of `got` against `source` over lags 0..maxLag. */
function bestCorrelation(got: Float32Array, source: Float32Array, maxLag: number): number {
  let best = -1;
  let gg = 0;
  for (const v of got) gg += v * v;
  for (let lag = 0; lag <= maxLag && lag + got.length <= source.length; lag++) {
    let gs = 0;
    let ss = 0;
    for (let i = 0; i < got.length; i++) {
      const s = source[lag + i]!;
      gs += got[i]! * s;
      ss += s * s;
    }
    const c = gs / Math.sqrt(gg * ss + 1e-12);
    if (c > best) best = c;
  }
  return best;
}

describe('externalMedia RTP', () => {
  for (const [format, pt, table] of [
    ['ulaw', 0, ULAW_TO_FLOAT],
    ['alaw', 8, ALAW_TO_FLOAT],
  ] as const) {
    it(`${format}: PT ${pt}, 160-byte payloads, seq +1, timestamp +160 from 160, no marker, from UNICASTRTP_LOCAL_PORT, carrying the caller's voice`, async () => {
      const audio = voice(4);
      const callerId = await sim.placeCall({ stasisArgs: ['monitor'], audio, loop: true });
      const t = await tap(callerId, format);
      const got = await packets(50);
      const first = header(got[0]!.packet);
      expect(first.ts).toBe(160);
      got.forEach(({ packet, from }, i) => {
        const h = header(packet);
        expect(packet.length).toBe(172);
        expect({ version: h.version, padding: h.padding, extension: h.extension, csrc: h.csrc, marker: h.marker, pt: h.pt, ssrc: h.ssrc }).toEqual({
          version: 2,
          padding: 0,
          extension: 0,
          csrc: 0,
          marker: 0,
          pt,
          ssrc: first.ssrc,
        });
        expect(h.seq).toBe((first.seq + i) & 0xffff);
        expect(h.ts).toBe(160 + 160 * i);
        expect(from).toMatchObject({ address: '127.0.0.1', port: t.localPort });
      });
      const pcm = new Float32Array(got.length * 160);
      got.forEach(({ packet }, i) => packet.subarray(12).forEach((b, j) => (pcm[i * 160 + j] = table[b]!)));
      expect(bestCorrelation(pcm, audio, 8000)).toBeGreaterThan(0.99);
    });
  }

  it('slin16: PT 118, 640-byte big-endian payloads at 16 kHz, timestamp +320, the 8 kHz voice upsampled', async () => {
    const audio = voice(4, 11);
    const callerId = await sim.placeCall({ stasisArgs: ['monitor'], audio, loop: true });
    await tap(callerId, 'slin16');
    const got = await packets(30);
    const first = header(got[0]!.packet);
    expect(first).toMatchObject({ pt: 118, marker: 0, ts: 160 });
    got.forEach(({ packet }, i) => {
      expect(packet.length).toBe(12 + 640);
      expect(header(packet).ts).toBe(160 + 320 * i);
    });
    // Every other 16 kHz sample is an original 8 kHz one.
    const pcm = new Float32Array(got.length * 160);
    got.forEach(({ packet }, i) => {
      for (let j = 0; j < 160; j++) pcm[i * 160 + j] = packet.readInt16BE(12 + j * 4) / 32767;
    });
    expect(bestCorrelation(pcm, audio, 8000)).toBeGreaterThan(0.999);
  });

  it('packets stop when the caller hangs up; the externalMedia channel and the bridge stay', async () => {
    const callerId = await sim.placeCall({ stasisArgs: ['monitor'], audio: voice(2), loop: true });
    const t = await tap(callerId, 'ulaw');
    await packets(10);
    sim.hangup(callerId);
    await client.waitFor(isType('StasisEnd', t.snoopId));
    await sleep(60);
    const settled = received.length;
    await sleep(200);
    expect(received.length).toBe(settled);
    expect(sim.channel(t.emId)).toMatchObject({ kind: 'external', inStasis: true, rtp: { active: false } });
    expect(sim.bridges()).toEqual([{ id: t.bridgeId, type: 'mixing', channelIds: [t.emId], moh: null }]);
  });

  it('spy=out carries what the caller hears (silence here) while spy=in carries the caller; each tap has its own SSRC and port', async () => {
    const callerId = await sim.placeCall({ stasisArgs: ['monitor'], audio: voice(3), loop: true });
    const other = createSocket('udp4');
    const outPackets: Received[] = [];
    other.on('message', (packet, from) => outPackets.push({ packet, from }));
    await new Promise<void>((r) => other.bind(0, '127.0.0.1', () => r()));
    try {
      const tin = await tap(callerId, 'ulaw', 'in');
      const tout = await tap(callerId, 'ulaw', 'out', other.address().port);
      const gotIn = await packets(20);
      const gotOut = await packets(20, outPackets);
      expect(gotOut.every(({ packet }) => packet.subarray(12).every((b) => b === 0xff))).toBe(true);
      expect(gotIn.some(({ packet }) => packet.subarray(12).some((b) => b !== 0xff))).toBe(true);
      expect(header(gotIn[0]!.packet).ssrc).not.toBe(header(gotOut[0]!.packet).ssrc);
      expect(tin.localPort).not.toBe(tout.localPort);
      expect(gotOut[0]!.from.port).toBe(tout.localPort);
    } finally {
      other.close();
    }
  });

  it('nothing is sent before the snoop and the externalMedia channel share a bridge', async () => {
    const callerId = await sim.placeCall({ stasisArgs: ['monitor'], audio: voice(2), loop: true });
    const { ari, waitFor } = client;
    const em = await ari.channels.externalMedia({ app: 'ser', external_host: `127.0.0.1:${receiver.address().port}`, format: 'ulaw' });
    await waitFor(isType('StasisStart', em.id));
    const snoop = await ari.channels.snoopChannel({ channelId: callerId, spy: 'in', app: 'ser' });
    await waitFor(isType('StasisStart', snoop.id));
    const bridge = await ari.bridges.create({ type: 'mixing' });
    await ari.bridges.addChannel({ bridgeId: bridge.id, channel: em.id });
    await sleep(150);
    expect(received).toEqual([]);
    await ari.bridges.addChannel({ bridgeId: bridge.id, channel: snoop.id });
    await packets(5);
  });
});
