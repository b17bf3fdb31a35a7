import { createSocket, type Socket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ULAW_TO_FLOAT, encodeAlawSample, encodeUlawSample } from '../../src/audio/g711.js';
import { RtpReceiver } from '../../src/rtp/receiver.js';
import { ASTERISK } from '../helpers/paths.js';

const open: (Socket | RtpReceiver)[] = [];

afterEach(async () => {
  for (const s of open.splice(0)) {
    if (s instanceof RtpReceiver) await s.close();
    else s.close();
  }
});

async function sender(host = '127.0.0.1'): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, host, () => r()));
  open.push(s);
  return s;
}

async function receiver(opts: Partial<ConstructorParameters<typeof RtpReceiver>[0]> = {}) {
  const audio: number[] = [];
  const r = new RtpReceiver({ host: '127.0.0.1', port: 0, onAudio: (s, n) => audio.push(...s.subarray(0, n)), ...opts });
  const port = await r.start();
  open.push(r);
  return { r, port, audio };
}

function rtp(seq: number, ts: number, ssrc: number, payload: Uint8Array, pt = 0): Buffer {
  const b = Buffer.alloc(12 + payload.length);
  b[0] = 0x80;
  b[1] = pt;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc >>> 0, 8);
  b.set(payload, 12);
  return b;
}

async function send(s: Socket, port: number, packets: Buffer[], gapMs = 0): Promise<void> {
  for (const p of packets) {
    await new Promise<void>((r) => s.send(p, port, '127.0.0.1', () => r()));
    if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
  }
  await new Promise((r) => setTimeout(r, 50));
}

const tone = (code: number): Uint8Array => new Uint8Array(160).fill(code);

describe('RtpReceiver over loopback UDP', () => {
  it.skipIf(!existsSync(join(ASTERISK, 'rtp/ulaw-snoop-in.packets.json')))('decodes captured Asterisk ulaw and slin16 streams to 160 samples per packet at 8 kHz', async () => {
    for (const [fmt, pt] of [['ulaw', 0], ['slin16', 118]] as const) {
      const { packets } = JSON.parse(readFileSync(join(ASTERISK, `rtp/${fmt}-snoop-in.packets.json`), 'utf8')) as { packets: { hex: string }[] };
      const { r, port, audio } = await receiver({ slin16PayloadType: 118 });
      await send(await sender(), port, packets.map((p) => Buffer.from(p.hex, 'hex')));
      expect(r.stats.packets, fmt).toBe(packets.length);
      expect(audio.length, fmt).toBe(packets.length * 160);
      if (pt === 0) {
        // bit-exact G.711 decode of the first packet
        const first = Buffer.from(packets[0]!.hex, 'hex').subarray(12);
        expect(audio.slice(0, 160)).toEqual([...first].map((c) => ULAW_TO_FLOAT[c]!));
      } else {
        const rms = Math.sqrt(audio.reduce((s, x) => s + x * x, 0) / audio.length);
        expect(rms).toBeGreaterThan(0.01); // the prompt's speech, not silence or noise from a wrong byte order
        expect(rms).toBeLessThan(0.3);
      }
    }
  });

  it('decodes PCMA', async () => {
    const { port, audio } = await receiver();
    await send(await sender(), port, [rtp(1, 160, 7, tone(encodeAlawSample(0.25)), 8)]);
    expect(audio.length).toBe(160);
    expect(audio[0]).toBeCloseTo(0.25, 1);
  });

  it('drops and counts packets from a foreign address, keeping the expected source', async () => {
    const { r, port, audio } = await receiver({ expectedSource: { address: '127.0.0.1' } });
    const good = await sender('127.0.0.1');
    const stranger = await sender('127.0.0.2');
    await send(stranger, port, [rtp(1, 160, 9, tone(0x10)), rtp(2, 320, 9, tone(0x10))]);
    await send(good, port, [rtp(100, 160, 7, tone(0xff))]);
    expect(r.stats.foreignSource).toBe(2);
    expect(r.stats.packets).toBe(1);
    expect(audio.every((x) => x === 0)).toBe(true);
  });

  it('latches the first source port when only the address is known', async () => {
    const { r, port } = await receiver({ expectedSource: { address: '127.0.0.1' } });
    const first = await sender();
    const other = await sender();
    await send(first, port, [rtp(1, 160, 7, tone(0xff))]);
    await send(other, port, [rtp(2, 320, 7, tone(0xff))]);
    expect(r.stats).toMatchObject({ packets: 1, foreignSource: 1 });
  });

  it('counts and drops a wrong payload type (its slot plays as silence, not loss) and malformed datagrams', async () => {
    const { r, port, audio } = await receiver();
    const s = await sender();
    const loud = tone(encodeUlawSample(0.5));
    await send(s, port, [rtp(1, 160, 7, loud), rtp(2, 320, 7, loud, 18), Buffer.from([1, 2, 3, 4, 5]), rtp(3, 480, 7, loud)]);
    expect(r.stats).toMatchObject({ packets: 2, badPayloadType: 1, malformed: 1, lost: 0 });
    expect(audio.length).toBe(480);
    expect(audio.slice(160, 320).every((x) => x === 0)).toBe(true);
    expect(audio[400]).toBeGreaterThan(0.4);
  });

  it('ignores a one-off foreign SSRC inside a live stream', async () => {
    const { r, port } = await receiver();
    const s = await sender();
    const packets = [rtp(1, 160, 7, tone(0xff)), rtp(2, 320, 7, tone(0xff)), rtp(500, 9999, 1234, tone(0x00)), rtp(3, 480, 7, tone(0xff))];
    await send(s, port, packets, 5);
    expect(r.stats).toMatchObject({ packets: 3, foreignSsrc: 1, ssrcChanges: 0, lost: 0 });
  });

  it('follows a legitimate SSRC change (old stream stops, new one starts elsewhere in sequence space)', async () => {
    const { r, port, audio } = await receiver();
    const s = await sender();
    await send(s, port, Array.from({ length: 10 }, (_, i) => rtp(100 + i, 160 * (i + 1), 7, tone(encodeUlawSample(0.1)))), 2);
    await new Promise((res) => setTimeout(res, 250));
    await send(s, port, Array.from({ length: 10 }, (_, i) => rtp(40000 + i, 160 * (i + 1), 99, tone(encodeUlawSample(-0.1)))), 2);
    expect(r.stats).toMatchObject({ packets: 20, ssrcChanges: 1, lost: 0 });
    expect(audio.length).toBe(20 * 160);
    expect(audio[19 * 160]).toBeLessThan(0);
  });

  it('counts loss, reordering and duplicates exactly as injected', async () => {
    const { r, port, audio } = await receiver({ jitterDepthPackets: 3 });
    const s = await sender();
    const seqs: number[] = [];
    let dropped = 0;
    let dups = 0;
    for (let i = 0; i < 200; i++) {
      const seq = (65500 + i) & 0xffff; // crosses the wrap
      if (i % 20 === 7) {
        dropped++;
        continue;
      }
      seqs.push(seq);
      if (i % 25 === 3) {
        seqs.push(seq);
        dups++;
      }
    }
    for (let i = 10; i + 1 < seqs.length; i += 30) [seqs[i], seqs[i + 1]] = [seqs[i + 1]!, seqs[i]!];
    await send(s, port, seqs.map((q) => rtp(q, q * 160, 7, tone(0xff))));
    expect(r.stats.duplicate).toBe(dups);
    expect(r.stats.lost).toBe(dropped);
    expect(r.stats.reordered).toBeGreaterThan(0);
    expect(audio.length).toBe(200 * 160); // every slot played: received or concealed
  });
});
