import type { Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { RtpReceiver, type RtpReceiverOptions } from '../../src/rtp/receiver.js';
import { alawRef, buildRtp, Cleanup, freePortRange, HAVE_CAPTURES, loadCapture, prng, sendAll, sleep, udpSocket, ulawRef, until } from './support.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

interface Heard {
  /** Every sample delivered, copied. */
  samples: number[];
  /** The length of each onAudio call. */
  frames: number[];
  firstPackets: number;
}

async function receiver(opts: Partial<RtpReceiverOptions> = {}): Promise<{ r: RtpReceiver; port: number; heard: Heard }> {
  const heard: Heard = { samples: [], frames: [], firstPackets: 0 };
  const r = new RtpReceiver({
    host: '127.0.0.1',
    port: 0,
    onAudio: (s, n) => {
      heard.frames.push(n);
      for (let i = 0; i < n; i++) heard.samples.push(s[i]!);
    },
    onFirstPacket: () => heard.firstPackets++,
    // These tests send unpaced bursts over loopback; the rate cap has tests of its own.
    maxPacketRate: 1_000_000,
    ...opts,
  });
  const port = await r.start();
  cleanup.add(() => r.close());
  return { r, port, heard };
}

const sender = (host = '127.0.0.1'): Promise<Socket> => udpSocket(cleanup, host);

/** A 20 ms G.711 packet of one repeated code. */
function g711(seq: number, ssrc: number, code: number, pt = 0): Buffer {
  return buildRtp({ pt, seq, ts: 160 * (seq + 1), ssrc, payload: new Uint8Array(160).fill(code) });
}

const ULAW_LOUD = 0x9f; // about +0.25
const ULAW_NEG = 0x1f; // about -0.25
const ULAW_SILENCE = 0xff;

const rms = (x: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / x.length);
};

describe('RtpReceiver: decoding over loopback UDP', () => {
  it.skipIf(!HAVE_CAPTURES)('decodes the captured Asterisk ulaw stream: 160 samples per packet, G.711 exact', async () => {
    const packets = loadCapture('ulaw');
    const { r, port, heard } = await receiver();
    await sendAll(await sender(), port, packets);
    await until(() => heard.frames.length >= packets.length);
    expect(heard.frames).toEqual(packets.map(() => 160));
    const expected = packets.flatMap((p) => [...p.subarray(12)].map(ulawRef));
    expect(heard.samples.length).toBe(expected.length);
    let maxErr = 0;
    for (let i = 0; i < expected.length; i++) maxErr = Math.max(maxErr, Math.abs(heard.samples[i]! - expected[i]!));
    expect(maxErr).toBeLessThan(1e-6);
    expect(r.stats).toMatchObject({ packets: packets.length, bytes: packets.length * 172, lost: 0, malformed: 0, badPayloadType: 0 });
    expect(heard.firstPackets).toBe(1);
    expect(r.stats.firstPacketAt).not.toBeNull();
    expect(r.stats.lastPacketAt!).toBeGreaterThanOrEqual(r.stats.firstPacketAt!);
  });

  it.skipIf(!HAVE_CAPTURES)('decodes the captured slin16 stream (PT 118, big-endian 16 kHz) to 160 samples per packet at 8 kHz', async () => {
    const packets = loadCapture('slin16');
    const { r, port, heard } = await receiver({ slin16PayloadType: 118 });
    await sendAll(await sender(), port, packets);
    await until(() => heard.frames.length >= packets.length);
    expect(heard.frames).toEqual(packets.map(() => 160));
    expect(r.stats).toMatchObject({ packets: packets.length, lost: 0, badPayloadType: 0, malformed: 0 });
    // The 16 kHz input, read big-endian here; it is 8 kHz audio upsampled, so nothing lies above 4 kHz:
    // the decimated output must keep its level and follow every second input sample (after the filter delay).
    const in16 = packets.flatMap((p) => Array.from({ length: 320 }, (_, i) => p.readInt16BE(12 + 2 * i) / 32768));
    const out = heard.samples;
    expect(rms(out) / rms(in16)).toBeGreaterThan(0.95);
    expect(rms(out) / rms(in16)).toBeLessThan(1.05);
    let best = 0;
    for (let lag = 0; lag <= 30; lag++) {
      for (const phase of [0, 1]) {
        let xy = 0;
        let xx = 0;
        let yy = 0;
        for (let i = lag; i < out.length; i++) {
          const x = out[i]!;
          const y = in16[2 * (i - lag) + phase]!;
          xy += x * y;
          xx += x * x;
          yy += y * y;
        }
        best = Math.max(best, xy / Math.sqrt(xx * yy));
      }
    }
    expect(best).toBeGreaterThan(0.97);
  });

  it('decodes PCMA (G.711 A-law) exactly', async () => {
    const { r, port, heard } = await receiver();
    const payload = Uint8Array.from({ length: 160 }, (_, i) => (i * 37 + 5) & 0xff);
    await sendAll(await sender(), port, [buildRtp({ pt: 8, seq: 1, ts: 160, ssrc: 5, payload })]);
    await until(() => heard.frames.length > 0);
    expect(heard.frames).toEqual([160]);
    for (let i = 0; i < 160; i++) expect(heard.samples[i]).toBeCloseTo(alawRef(payload[i]!), 6);
    expect(r.stats.packets).toBe(1);
  });

  it('plays a packet with an empty (padding-only) payload as silence, not as a loss', async () => {
    const { r, port, heard } = await receiver();
    const s = await sender();
    await sendAll(s, port, [g711(1, 7, ULAW_LOUD), buildRtp({ seq: 2, ts: 480, ssrc: 7, pad: 4 }), g711(3, 7, ULAW_LOUD)]);
    await until(() => heard.frames.length >= 3);
    expect(heard.frames).toEqual([160, 160, 160]);
    expect(heard.samples.slice(160, 320).every((x) => x === 0)).toBe(true);
    expect(r.stats).toMatchObject({ packets: 3, lost: 0, malformed: 0 });
  });
});

describe('RtpReceiver: hostile input is counted and dropped', () => {
  it('drops and counts packets from a foreign address (a sender on 127.0.0.2)', async (ctx) => {
    let stranger: Socket | null = null;
    try {
      stranger = await sender('127.0.0.2');
    } catch {
      // no 127.0.0.2 on this host: the fixed-port test below covers the check
    }
    if (stranger === null) return ctx.skip('127.0.0.2 cannot be bound here');
    const { r, port, heard } = await receiver({ expectedSource: { address: '127.0.0.1' } });
    await sendAll(stranger, port, [g711(1, 9, ULAW_LOUD), g711(2, 9, ULAW_LOUD)]);
    await sendAll(await sender('127.0.0.1'), port, [g711(100, 7, ULAW_SILENCE)]);
    await until(() => r.stats.packets >= 1);
    expect(r.stats).toMatchObject({ foreignSource: 2, packets: 1, foreignSsrc: 0 });
    expect(heard.frames).toEqual([160]);
    expect(heard.samples.every((x) => Math.abs(x) < 1e-3)).toBe(true); // only the expected source was heard
  });

  it('drops and counts packets from another port when the expected source port is fixed', async () => {
    const good = await sender();
    const other = await sender();
    const { r, port, heard } = await receiver({ expectedSource: { address: '127.0.0.1', port: good.address().port } });
    await sendAll(other, port, [g711(1, 9, ULAW_LOUD)]);
    await sendAll(good, port, [g711(50, 7, ULAW_SILENCE), g711(51, 7, ULAW_SILENCE)]);
    await sendAll(other, port, [g711(52, 7, ULAW_LOUD)]); // even with our SSRC and the next sequence number
    await until(() => r.stats.packets >= 2);
    expect(r.stats).toMatchObject({ foreignSource: 2, packets: 2 });
    expect(heard.frames).toEqual([160, 160]);
    expect(heard.firstPackets).toBe(1);
  });

  // A second stream from another port, then the first again: a known address latches the first port,
  // no expected source latches nothing (one stream may arrive from several ports).
  it.each([
    { known: 'only the address', opts: { expectedSource: { address: '127.0.0.1' } }, stats: { packets: 2, foreignSource: 1 } },
    { known: 'nothing', opts: {}, stats: { packets: 3, foreignSource: 0 } },
  ])('knowing $known of the source: accepts $stats.packets of 3 packets from two ports', async ({ opts, stats }) => {
    const { r, port } = await receiver(opts);
    const first = await sender();
    const other = await sender();
    await sendAll(first, port, [g711(1, 7, ULAW_SILENCE)]);
    await sendAll(other, port, [g711(2, 7, ULAW_SILENCE)]);
    await sendAll(first, port, [g711(3, 7, ULAW_SILENCE)]);
    expect(r.stats).toMatchObject(stats);
  });

  it('counts a wrong payload type and drops it (its slot plays as silence, not as a loss)', async () => {
    const { r, port, heard } = await receiver();
    await sendAll(await sender(), port, [g711(1, 7, ULAW_LOUD), g711(2, 7, ULAW_LOUD, 18), g711(3, 7, ULAW_LOUD, 96), g711(4, 7, ULAW_LOUD)]);
    await until(() => heard.frames.length >= 4);
    expect(r.stats).toMatchObject({ packets: 2, badPayloadType: 2, lost: 0, malformed: 0 });
    expect(heard.frames).toEqual([160, 160, 160, 160]);
    expect(heard.samples.slice(160, 480).every((x) => x === 0)).toBe(true);
    expect(heard.samples[500]).toBeGreaterThan(0.2);
  });

  it('counts malformed datagrams (5 bytes, version 1, lying lengths, oversize or odd slin16 payload) and keeps going', async () => {
    const { r, port, heard } = await receiver();
    const bad = [
      Buffer.from([0x80, 0, 0, 1, 0]),
      buildRtp({ version: 1, seq: 2, ssrc: 7, payload: new Uint8Array(160) }),
      Buffer.concat([buildRtp({ seq: 2, ssrc: 7 }).subarray(0, 12), Buffer.alloc(4)]).fill(0x8f, 0, 1), // 15 CSRCs claimed
      buildRtp({ seq: 2, ssrc: 7, payload: new Uint8Array(641) }),
      buildRtp({ pt: 118, seq: 2, ssrc: 7, payload: new Uint8Array(639) }),
      Buffer.alloc(0),
    ];
    await sendAll(await sender(), port, [g711(1, 7, ULAW_LOUD), ...bad, g711(2, 7, ULAW_LOUD)]);
    await until(() => heard.frames.length >= 2);
    expect(r.stats).toMatchObject({ malformed: bad.length, packets: 2, lost: 0 });
    expect(heard.frames).toEqual([160, 160]);
  });

  it('survives a throwing onAudio listener: counted, and later packets still decoded', async () => {
    let calls = 0;
    const { r, port } = await receiver({
      onAudio: () => {
        calls++;
        if (calls === 1) throw new Error('consumer bug');
      },
    });
    await sendAll(await sender(), port, [g711(1, 7, ULAW_LOUD), g711(2, 7, ULAW_LOUD), g711(3, 7, ULAW_LOUD)]);
    await until(() => calls >= 3);
    expect(calls).toBe(3);
    expect(r.stats).toMatchObject({ listenerErrors: 1, packets: 3, lost: 0 });
  });
});

describe('RtpReceiver: SSRC', () => {
  it('ignores a one-off foreign SSRC inside a live stream', async () => {
    const { r, port, heard } = await receiver();
    const packets = [g711(1, 7, ULAW_LOUD), g711(2, 7, ULAW_LOUD), g711(500, 1234, ULAW_NEG), g711(3, 7, ULAW_LOUD), g711(4, 7, ULAW_LOUD)];
    await sendAll(await sender(), port, packets, 2);
    await until(() => heard.frames.length >= 4);
    expect(r.stats).toMatchObject({ packets: 4, foreignSsrc: 1, ssrcChanges: 0, lost: 0, stray: 0 });
    expect(heard.samples.every((x) => x > 0.2)).toBe(true); // nothing of the foreign packet was played
  });

  it('does not let a second SSRC interleaved with ours take over', async () => {
    const { r, port, heard } = await receiver();
    const packets: Buffer[] = [];
    for (let i = 0; i < 12; i++) {
      packets.push(g711(100 + i, 7, ULAW_LOUD));
      if (i % 2 === 0) packets.push(g711(9000 + i, 99, ULAW_NEG));
    }
    await sendAll(await sender(), port, packets, 1);
    await until(() => heard.frames.length >= 12);
    expect(r.stats).toMatchObject({ packets: 12, foreignSsrc: 6, ssrcChanges: 0 });
    expect(heard.samples.every((x) => x > 0.2)).toBe(true);
  });

  it('follows an SSRC change once the old stream has been silent 200 ms, from the third packet of the new one', async () => {
    const { r, port, heard } = await receiver();
    const s = await sender();
    await sendAll(s, port, Array.from({ length: 10 }, (_, i) => g711(100 + i, 7, ULAW_LOUD)), 2);
    await sleep(250);
    await sendAll(s, port, Array.from({ length: 10 }, (_, i) => g711(40000 + i, 99, ULAW_NEG)), 2);
    await until(() => heard.frames.length >= 18);
    // The new SSRC's first two packets were dropped while it proved to be a stream of its own.
    expect(r.stats).toMatchObject({ packets: 18, ssrcChanges: 1, foreignSsrc: 2, lost: 0, stray: 0 });
    expect(heard.frames.length).toBe(18);
    expect(heard.samples.slice(0, 1600).every((x) => x > 0.2)).toBe(true);
    expect(heard.samples.slice(1600).every((x) => x < -0.2)).toBe(true);
    expect(heard.firstPackets).toBe(1);
  });

  it('issue 13: a new SSRC never takes over while ours is alive, however many packets it sends', async () => {
    const { r, port, heard } = await receiver();
    const s = await sender();
    await sendAll(s, port, [
      ...Array.from({ length: 10 }, (_, i) => g711(100 + i, 7, ULAW_LOUD)),
      // A spoofer's run of a new SSRC, sent within the 200 ms our stream may pause.
      ...Array.from({ length: 20 }, (_, i) => g711(20000 + i, 99, ULAW_NEG)),
      ...Array.from({ length: 10 }, (_, i) => g711(110 + i, 7, ULAW_LOUD)),
    ], 1);
    await until(() => heard.frames.length >= 20);
    expect(r.stats).toMatchObject({ ssrcChanges: 0, foreignSsrc: 20, packets: 20, lost: 0 });
    expect(heard.samples.every((x) => x > 0.2)).toBe(true); // nothing of the spoofed stream was played
  });

  it('issue 13: one packet of our SSRC with the sequence number +49 does not conceal the stream that follows', async () => {
    const { r, port, heard } = await receiver();
    const packets = [
      ...Array.from({ length: 10 }, (_, i) => g711(100 + i, 7, ULAW_LOUD)),
      g711(110 + 49, 7, ULAW_NEG),
      ...Array.from({ length: 20 }, (_, i) => g711(110 + i, 7, ULAW_LOUD)),
    ];
    await sendAll(await sender(), port, packets, 1);
    await until(() => heard.frames.length >= 30);
    expect(r.stats).toMatchObject({ lost: 0, late: 0, stray: 1 });
    expect(heard.samples.every((x) => x > 0.2)).toBe(true);
  });
});

describe('RtpReceiver: rate cap', () => {
  it('issue 13: a flood beyond maxPacketRate is dropped and counted, and none of it reaches onAudio past the burst', async () => {
    const { r, port, heard } = await receiver({ maxPacketRate: 200 });
    const s = await sender();
    // 2,000 valid packets of our stream at once: 40 s of audio in a few milliseconds.
    await sendAll(s, port, Array.from({ length: 2000 }, (_, i) => g711(1000 + i, 7, ULAW_LOUD)));
    await until(() => r.stats.packets + r.stats.rateCapped >= 2000, 5000);
    const { packets, rateCapped } = r.stats;
    // The burst allowance (50) and what the rate refilled while the flood lasted; the rest was dropped.
    expect(packets).toBeLessThan(120);
    expect(rateCapped).toBe(2000 - packets);
    expect(heard.frames.length).toBeLessThanOrEqual(packets);
    // Muted: even packets at a polite pace are dropped until the stream has kept to the rate for a second.
    const before = r.stats.rateCapped;
    await sendAll(s, port, [g711(3000, 7, ULAW_LOUD), g711(3001, 7, ULAW_LOUD)], 20);
    await until(() => r.stats.rateCapped >= before + 2);
  });
});

describe('RtpReceiver: impaired network', () => {
  it('counts 5% loss, 5% duplicates and 5% reordering as injected, across the sequence wrap', async () => {
    const { r, port, heard } = await receiver({ jitterDepthPackets: 3 });
    const rand = prng(2024);
    const n = 400;
    const first = 65400;
    const order: number[] = [];
    let dropped = 0;
    let dups = 0;
    for (let i = 0; i < n; i++) {
      const x = rand();
      if (i > 0 && i < n - 1 && x < 0.05) {
        dropped++;
        continue;
      }
      order.push(i);
      if (x < 0.1) {
        order.push(i);
        dups++;
      }
    }
    let swaps = 0;
    for (let k = 1; k + 2 < order.length; k++) {
      if (rand() < 0.05) {
        [order[k], order[k + 1]] = [order[k + 1]!, order[k]!];
        swaps++;
        k += 2;
      }
    }
    await sendAll(await sender(), port, order.map((i) => buildRtp({ seq: (first + i) & 0xffff, ts: 160 * (i + 1), ssrc: 42, payload: new Uint8Array(160).fill(ULAW_LOUD) })));
    await until(() => r.stats.packets >= order.length);
    const st = r.stats;
    expect(st.packets).toBe(order.length);
    expect(st.duplicate).toBe(dups);
    expect(Math.abs(st.lost - dropped)).toBeLessThanOrEqual(1);
    expect(st.late).toBeLessThanOrEqual(1);
    expect(st.reordered).toBeGreaterThan(0);
    expect(st.reordered).toBeLessThanOrEqual(swaps);
    expect(dropped).toBeGreaterThan(5);
    // every slot was played once: received, or concealed as 160 zeros
    expect(heard.frames.length).toBe(n);
    expect(heard.frames.every((f) => f === 160)).toBe(true);
    const silentFrames = heard.frames.filter((_, k) => heard.samples[k * 160] === 0).length;
    expect(silentFrames).toBe(st.lost);
  });

  it('estimates RFC 3550 jitter in ms with the right clock: a burst of 20 ms packets arriving at once', async () => {
    // Each packet arrives ~0 ms after the previous one while its timestamp says 20 ms: |D| ~ 20 ms each,
    // so J = 20 * (1 - (15/16)^29) ~ 17 ms after 30 packets, for 8 kHz PCMU and for 16 kHz slin16 alike.
    for (const [pt, step, size] of [[0, 160, 160], [118, 320, 640]] as const) {
      const { r, port } = await receiver();
      const s = await sender();
      const burst = Array.from({ length: 30 }, (_, i) => buildRtp({ pt, seq: i, ts: step * (i + 1), ssrc: 3, payload: new Uint8Array(size) }));
      await new Promise<void>((resolve) => {
        let left = burst.length;
        for (const p of burst) s.send(p, port, '127.0.0.1', () => --left === 0 && resolve());
      });
      await until(() => r.stats.packets >= 30);
      expect(r.stats.jitterMs, `PT ${pt}`).toBeGreaterThan(12);
      expect(r.stats.jitterMs, `PT ${pt}`).toBeLessThan(18);
    }
  });
});

describe('RtpReceiver: lifecycle', () => {
  it('start() resolves the bound port and port reports it', async () => {
    const { r, port } = await receiver();
    expect(port).toBeGreaterThan(0);
    expect(r.port).toBe(port);
  });

  it('start() on a port another socket holds rejects with code EADDRINUSE and leaves the receiver closed', async () => {
    const taken = await udpSocket(cleanup);
    const r = new RtpReceiver({ host: '127.0.0.1', port: taken.address().port, onAudio: () => undefined });
    cleanup.add(() => r.close());
    await expect(r.start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(r.closed).toBe(true);
    await r.close();
  });

  it('start() on an address that is not local rejects with EADDRNOTAVAIL', async () => {
    const r = new RtpReceiver({ host: '192.0.2.1', port: 0, onAudio: () => undefined });
    cleanup.add(() => r.close());
    await expect(r.start()).rejects.toMatchObject({ code: 'EADDRNOTAVAIL' });
  });

  it('close() is idempotent; start() after close() or twice rejects; a closed receiver hears nothing', async () => {
    const { r, port, heard } = await receiver();
    await expect(r.start()).rejects.toThrow(/open/);
    const a = r.close();
    const b = r.close();
    await Promise.all([a, b]);
    await r.close();
    expect(r.closed).toBe(true);
    await expect(r.start()).rejects.toThrow(/closed/);
    const s = await sender();
    await new Promise<void>((resolve) => s.send(g711(1, 7, ULAW_LOUD), port, '127.0.0.1', () => resolve()));
    await sleep(30);
    expect(heard.frames.length).toBe(0);
  });

  it('close() before start() resolves, and start() afterwards rejects without opening a socket', async () => {
    const r = new RtpReceiver({ host: '127.0.0.1', port: 0, onAudio: () => undefined });
    await r.close();
    await expect(r.start()).rejects.toThrow(/closed/);
    expect(r.port).toBe(0);
  });

  it('close() while binding rejects the pending start() and frees the port', async () => {
    const fixed = await freePortRange(1);
    const r = new RtpReceiver({ host: '127.0.0.1', port: fixed, onAudio: () => undefined });
    const starting = r.start();
    await r.close();
    await expect(starting).rejects.toThrow(/closed while binding/);
    await udpSocket(cleanup, '127.0.0.1', fixed); // bindable: nothing kept it
  });

  it('BAD CALL: a slin16 payload type of 0, 8 or outside 0..127 is refused at construction', () => {
    for (const pt of [0, 8, 128, -1, 1.5]) {
      expect(() => new RtpReceiver({ host: '127.0.0.1', port: 0, slin16PayloadType: pt, onAudio: () => undefined })).toThrow(RangeError);
    }
  });
});
