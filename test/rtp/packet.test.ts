import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRtp } from '../../src/rtp/packet.js';
import { ASTERISK } from '../helpers/paths.js';

function packet(opts: { cc?: number; ext?: Buffer; pad?: number; payload?: number; version?: number; pt?: number } = {}): Buffer {
  const cc = opts.cc ?? 0;
  const payload = Buffer.alloc(opts.payload ?? 160, 0x55);
  const ext = opts.ext ?? null;
  const pad = opts.pad ?? 0;
  const head = Buffer.alloc(12 + 4 * cc);
  head[0] = ((opts.version ?? 2) << 6) | (pad ? 0x20 : 0) | (ext ? 0x10 : 0) | cc;
  head[1] = opts.pt ?? 0;
  head.writeUInt16BE(0xfffe, 2);
  head.writeUInt32BE(0x12345678, 4);
  head.writeUInt32BE(0xdeadbeef, 8);
  for (let i = 0; i < cc; i++) head.writeUInt32BE(0x1000 + i, 12 + 4 * i);
  const padding = Buffer.alloc(pad);
  if (pad) padding[pad - 1] = pad;
  return Buffer.concat([head, ...(ext ? [ext] : []), payload, padding]);
}

function oneByteExtension(): Buffer {
  // profile 0xBEDE, 1 word: element id 1, length 2 (L=1), then one byte of padding
  return Buffer.from([0xbe, 0xde, 0x00, 0x01, 0x11, 0xaa, 0xbb, 0x00]);
}

function twoByteExtension(): Buffer {
  // profile 0x1000, 1 word: element id 3, length 2
  return Buffer.from([0x10, 0x00, 0x00, 0x01, 0x03, 0x02, 0xcc, 0xdd]);
}

const captures = ['ulaw', 'slin16'].map((f) => join(ASTERISK, 'rtp', `${f}-snoop-in.packets.json`));

describe('parseRtp', () => {
  it.skipIf(!existsSync(captures[0]!))('reads real Asterisk externalMedia packets as the capture notes describe', () => {
    for (const [file, pt, size, step] of [
      [captures[0]!, 0, 160, 160],
      [captures[1]!, 118, 640, 320],
    ] as const) {
      const { packets } = JSON.parse(readFileSync(file, 'utf8')) as { packets: { hex: string }[] };
      const parsed = packets.map((p) => parseRtp(Buffer.from(p.hex, 'hex')));
      for (const [i, p] of parsed.entries()) {
        if (!p.ok) throw new Error(`packet ${i} rejected: ${p.reason}`);
        expect(p.payloadType).toBe(pt);
        expect(p.payload.length).toBe(size);
        expect(p.marker).toBe(false);
        if (i > 0) {
          const prev = parsed[i - 1] as Extract<typeof p, { ok: true }>;
          expect((p.sequence - prev.sequence) & 0xffff).toBe(1);
          expect((p.timestamp - prev.timestamp) >>> 0).toBe(step);
          expect(p.ssrc).toBe(prev.ssrc);
        }
      }
    }
  });

  it('reads the fixed header and returns the payload as a view, not a copy', () => {
    const buf = packet({ pt: 8 });
    const p = parseRtp(buf);
    if (!p.ok) throw new Error(p.reason);
    expect(p).toMatchObject({ payloadType: 8, sequence: 0xfffe, timestamp: 0x12345678, ssrc: 0xdeadbeef, marker: false });
    expect(p.payload.length).toBe(160);
    expect(p.payload.buffer).toBe(buf.buffer);
  });

  it('skips a CSRC list', () => {
    const p = parseRtp(packet({ cc: 3, payload: 20 }));
    expect(p.ok && p.payload.length).toBe(20);
    expect(p.ok && p.payload[0]).toBe(0x55);
  });

  it('skips one-byte and two-byte header extensions', () => {
    for (const ext of [oneByteExtension(), twoByteExtension()]) {
      const p = parseRtp(packet({ ext, payload: 40 }));
      expect(p.ok && p.payload.length).toBe(40);
      expect(p.ok && p.payload.every((b) => b === 0x55)).toBe(true);
    }
  });

  it('removes padding', () => {
    const p = parseRtp(packet({ pad: 4, payload: 30 }));
    expect(p.ok && p.payload.length).toBe(30);
  });

  describe('BAD PACKET: rejected with a reason, never a throw', () => {
    it('version other than 2', () => {
      for (const version of [0, 1, 3]) expect(parseRtp(packet({ version }))).toEqual({ ok: false, reason: 'version' });
    });

    it('truncated at every length of the fixed header', () => {
      const full = packet();
      for (let n = 0; n < 12; n++) expect(parseRtp(full.subarray(0, n))).toEqual({ ok: false, reason: 'truncated' });
    });

    it('CSRC list running past the end', () => {
      const buf = packet({ cc: 15, payload: 0 }).subarray(0, 12 + 4 * 10);
      expect(parseRtp(buf)).toEqual({ ok: false, reason: 'csrc' });
    });

    it('extension header or body running past the end', () => {
      const buf = packet({ ext: oneByteExtension(), payload: 0 });
      expect(parseRtp(buf.subarray(0, 14))).toEqual({ ok: false, reason: 'extension' });
      const lying = Buffer.from(buf);
      lying.writeUInt16BE(200, 14); // claims 800 bytes of extension
      expect(parseRtp(lying)).toEqual({ ok: false, reason: 'extension' });
    });

    it('padding count of zero or larger than the payload', () => {
      const zero = packet({ pad: 4, payload: 10 });
      zero[zero.length - 1] = 0;
      expect(parseRtp(zero)).toEqual({ ok: false, reason: 'padding' });
      const big = packet({ pad: 4, payload: 10 });
      big[big.length - 1] = 200;
      expect(parseRtp(big)).toEqual({ ok: false, reason: 'padding' });
    });

    it('padding-only packet parses with an empty payload', () => {
      const p = parseRtp(packet({ pad: 8, payload: 0 }));
      expect(p.ok && p.payload.length).toBe(0);
    });

    it('random bytes never throw', () => {
      let seed = 42;
      for (let i = 0; i < 5000; i++) {
        const n = (seed = (seed * 1103515245 + 12345) >>> 0) % 64;
        const buf = Buffer.alloc(n);
        for (let k = 0; k < n; k++) buf[k] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
        if (n > 0) buf[0] = (buf[0]! & 0x3f) | 0x80; // mostly version 2, to reach the deeper checks
        expect(() => parseRtp(buf)).not.toThrow();
      }
    });
  });
});
