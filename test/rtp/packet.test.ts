import { describe, expect, it } from 'vitest';
import { parseRtp, type RtpParseResult } from '../../src/rtp/packet.js';
import { buildRtp, HAVE_CAPTURES, loadCapture, prng } from './support.js';

type Ok = Extract<RtpParseResult, { ok: true }>;

function ok(r: RtpParseResult): Ok {
  if (!r.ok) throw new Error(`rejected: ${r.reason}`);
  return r;
}

const bytes = (n: number, from = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

/** RFC 8285 one-byte elements: id 1 with 2 bytes, id 2 with 1 byte, then padding to the word. */
const ONE_BYTE = { profile: 0xbede, body: Uint8Array.from([0x11, 0xaa, 0xbb, 0x20, 0xcc, 0x00, 0x00, 0x00]) };
/** RFC 8285 two-byte elements: id 3 with 2 bytes, id 4 with 0 bytes, padding. */
const TWO_BYTE = { profile: 0x1000, body: Uint8Array.from([0x03, 0x02, 0xdd, 0xee, 0x04, 0x00, 0x00, 0x00]) };
/** A profile that is neither: an opaque block. */
const OPAQUE = { profile: 0x1234, body: bytes(12, 0x80) };

describe('parseRtp: captured Asterisk externalMedia packets', () => {
  it.skipIf(!HAVE_CAPTURES)('ulaw: PT 0, 160-byte payload, seq +1, timestamp +160, one SSRC, no marker', () => {
    checkCapture(loadCapture('ulaw'), 0, 160, 160);
  });

  it.skipIf(!HAVE_CAPTURES)('slin16: PT 118, 640-byte payload, seq +1, timestamp +320, one SSRC, no marker', () => {
    checkCapture(loadCapture('slin16'), 118, 640, 320);
  });

  function checkCapture(packets: Buffer[], pt: number, size: number, step: number): void {
    expect(packets.length).toBeGreaterThan(10);
    let prev: Ok | null = null;
    for (const [i, buf] of packets.entries()) {
      const p = ok(parseRtp(buf));
      expect(p.payloadType, `packet ${i}`).toBe(pt);
      expect(p.payload.length).toBe(size);
      expect(p.marker).toBe(false);
      // the fields are where RFC 3550 puts them
      expect(p.sequence).toBe(buf.readUInt16BE(2));
      expect(p.timestamp).toBe(buf.readUInt32BE(4));
      expect(p.ssrc).toBe(buf.readUInt32BE(8));
      expect(Buffer.compare(Buffer.from(p.payload), buf.subarray(12))).toBe(0);
      if (prev) {
        expect((p.sequence - prev.sequence) & 0xffff).toBe(1);
        expect((p.timestamp - prev.timestamp) >>> 0).toBe(step);
        expect(p.ssrc).toBe(prev.ssrc);
      }
      prev = p;
    }
  }
});

describe('parseRtp: valid packets', () => {
  it('reads every fixed-header field, including the top bits of 32-bit values and the marker', () => {
    const p = ok(parseRtp(buildRtp({ pt: 127, marker: true, seq: 0xffff, ts: 0xfedcba98, ssrc: 0x89abcdef, payload: bytes(20) })));
    expect(p).toMatchObject({ payloadType: 127, marker: true, sequence: 0xffff, timestamp: 0xfedcba98, ssrc: 0x89abcdef });
    const q = ok(parseRtp(buildRtp({ pt: 8, seq: 0, ts: 0, ssrc: 0 })));
    expect(q).toMatchObject({ payloadType: 8, marker: false, sequence: 0, timestamp: 0, ssrc: 0 });
    expect(q.payload.length).toBe(0);
  });

  it('returns the payload as a view into the datagram, not a copy', () => {
    const buf = buildRtp({ payload: bytes(160) });
    const p = ok(parseRtp(buf));
    expect(p.payload.buffer).toBe(buf.buffer);
    expect(p.payload.byteOffset).toBe(buf.byteOffset + 12);
    buf[12] = 0xee;
    expect(p.payload[0]).toBe(0xee);
  });

  it('accepts a plain Uint8Array at a non-zero offset of a larger buffer, with and without an extension', () => {
    for (const ext of [undefined, ONE_BYTE]) {
      const pkt = buildRtp({ seq: 777, payload: bytes(32, 9), ...(ext ? { ext } : {}) });
      const big = new Uint8Array(pkt.length + 10);
      big.set(pkt, 7);
      const view = big.subarray(7, 7 + pkt.length);
      const p = ok(parseRtp(view));
      expect(p.sequence).toBe(777);
      expect([...p.payload]).toEqual([...bytes(32, 9)]);
    }
  });

  it('skips a CSRC list of every length 1..15', () => {
    for (let cc = 1; cc <= 15; cc++) {
      const p = ok(parseRtp(buildRtp({ csrc: Array.from({ length: cc }, (_, i) => 0xcafe0000 + i), payload: bytes(20, 50) })));
      expect([...p.payload], `cc=${cc}`).toEqual([...bytes(20, 50)]);
    }
  });

  it('skips one-byte, two-byte and opaque header extensions, also with CSRCs and padding around', () => {
    for (const ext of [ONE_BYTE, TWO_BYTE, OPAQUE, { profile: 0xbede, body: new Uint8Array(0) }]) {
      const p = ok(parseRtp(buildRtp({ ext, payload: bytes(40, 3) })));
      expect([...p.payload], ext.profile.toString(16)).toEqual([...bytes(40, 3)]);
      const q = ok(parseRtp(buildRtp({ ext, csrc: [1, 2], pad: 3, payload: bytes(17, 5) })));
      expect([...q.payload]).toEqual([...bytes(17, 5)]);
    }
  });

  it('removes padding of any length 1..255', () => {
    for (let pad = 1; pad <= 255; pad++) {
      const p = ok(parseRtp(buildRtp({ pad, payload: bytes(30, 7) })));
      expect(p.payload.length, `pad=${pad}`).toBe(30);
      expect(p.payload[29]).toBe((7 + 29) & 0xff);
    }
  });

  it('parses a padding-only packet with an empty payload', () => {
    for (const pad of [1, 4, 8, 255]) expect(ok(parseRtp(buildRtp({ pad }))).payload.length).toBe(0);
  });
});

describe('parseRtp: BAD PACKET, rejected with its reason, never thrown', () => {
  it('version 0, 1 or 3', () => {
    for (const version of [0, 1, 3]) expect(parseRtp(buildRtp({ version, payload: bytes(160) }))).toEqual({ ok: false, reason: 'version' });
  });

  it('truncated at every length 0..11 of the fixed header', () => {
    const full = buildRtp({ payload: bytes(160) });
    for (let n = 0; n < 12; n++) expect(parseRtp(full.subarray(0, n)), `length ${n}`).toEqual({ ok: false, reason: 'truncated' });
  });

  it('truncated at every length inside the CSRC list', () => {
    const full = buildRtp({ csrc: [1, 2, 3, 4, 5], payload: bytes(8) });
    for (let n = 12; n < 12 + 20; n++) expect(parseRtp(full.subarray(0, n)), `length ${n}`).toEqual({ ok: false, reason: 'csrc' });
    expect(parseRtp(full.subarray(0, 32)).ok).toBe(true);
  });

  it('truncated at every length inside the extension header or body', () => {
    for (const ext of [ONE_BYTE, TWO_BYTE, OPAQUE]) {
      const full = buildRtp({ csrc: [9], ext, payload: bytes(4) });
      const extEnd = 12 + 4 + 4 + ext.body.length;
      for (let n = 16; n < extEnd; n++) expect(parseRtp(full.subarray(0, n)), `length ${n}`).toEqual({ ok: false, reason: 'extension' });
      expect(parseRtp(full.subarray(0, extEnd)).ok).toBe(true);
    }
  });

  it('extension length field claiming more than the datagram holds', () => {
    const buf = buildRtp({ ext: ONE_BYTE, payload: bytes(160) });
    buf.writeUInt16BE(0xffff, 14);
    expect(parseRtp(buf)).toEqual({ ok: false, reason: 'extension' });
  });

  it('one-byte extension element running past the extension block it sits in', () => {
    // element id 1, L=15 (16 bytes of data) inside a 1-word block; the payload behind it is long enough
    const buf = buildRtp({ ext: { profile: 0xbede, body: Uint8Array.from([0x1f, 1, 2, 3]) }, payload: bytes(160) });
    expect(parseRtp(buf)).toEqual({ ok: false, reason: 'extension' });
    const two = buildRtp({ ext: { profile: 0x1000, body: Uint8Array.from([0x05, 0x40, 1, 2]) }, payload: bytes(160) });
    expect(parseRtp(two)).toEqual({ ok: false, reason: 'extension' });
  });

  it('padding count of zero', () => {
    const buf = buildRtp({ pad: 4, payload: bytes(10) });
    buf[buf.length - 1] = 0;
    expect(parseRtp(buf)).toEqual({ ok: false, reason: 'padding' });
  });

  it('padding count larger than what follows the header (it may not eat CSRCs or the extension)', () => {
    const buf = buildRtp({ pad: 4, payload: bytes(10) });
    buf[buf.length - 1] = 15; // 14 bytes follow the header
    expect(parseRtp(buf)).toEqual({ ok: false, reason: 'padding' });
    buf[buf.length - 1] = 14; // exactly all of it: valid, empty payload
    expect(ok(parseRtp(buf)).payload.length).toBe(0);
    const withExt = buildRtp({ ext: OPAQUE, csrc: [1], pad: 2, payload: bytes(3) });
    withExt[withExt.length - 1] = 6;
    expect(parseRtp(withExt)).toEqual({ ok: false, reason: 'padding' });
    const onlyHeader = buildRtp({ pad: 1 }).subarray(0, 12); // P set, no byte after the header: count read from the SSRC
    expect(parseRtp(onlyHeader)).toEqual({ ok: false, reason: 'padding' });
  });

  it('random datagrams never throw, and an accepted payload always lies inside the datagram after the header', () => {
    const rand = prng(1234);
    for (let i = 0; i < 20000; i++) {
      const n = Math.floor(rand() * 80);
      const buf = Buffer.alloc(n);
      for (let k = 0; k < n; k++) buf[k] = Math.floor(rand() * 256);
      if (n > 0 && rand() < 0.9) buf[0] = (buf[0]! & 0x3f) | 0x80; // mostly version 2, to reach the deeper checks
      const extAt = 12 + 4 * ((buf[0] ?? 0) & 0x0f);
      if (extAt + 2 <= n && rand() < 0.3) buf.writeUInt16BE(rand() < 0.5 ? 0xbede : 0x1000, extAt); // reach werift's element walk
      let r: RtpParseResult | undefined;
      expect(() => (r = parseRtp(buf))).not.toThrow();
      if (r?.ok) {
        expect(r.payload.buffer).toBe(buf.buffer);
        expect(r.payload.byteOffset - buf.byteOffset).toBeGreaterThanOrEqual(12 + 4 * (buf[0]! & 0x0f));
        expect(r.payload.byteOffset + r.payload.length).toBeLessThanOrEqual(buf.byteOffset + n);
      }
    }
  });
});
