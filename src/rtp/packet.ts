import { RtpHeader } from 'werift-rtp';

/*
 * RFC 3550 section 5.1:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           timestamp                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           synchronization source (SSRC) identifier            |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |            contributing source (CSRC) identifiers             |
 * |                             ....                              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  extension profile (X=1)      |   extension length (32-bit words)
 * |                        extension ...                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                      payload ...      | padding ... | pad count |
 */

export type RtpParseResult =
  | { ok: true; payloadType: number; sequence: number; timestamp: number; ssrc: number; marker: boolean; payload: Uint8Array }
  | { ok: false; reason: 'truncated' | 'version' | 'padding' | 'extension' | 'csrc' };

const FIXED = 12;

/**
 * Checks every length the header implies against the datagram (werift-rtp does not: a short or lying
 * packet would read out of bounds), then lets werift-rtp read the fields. The payload is a view, not a copy.
 */
export function parseRtp(buf: Buffer): RtpParseResult {
  if (buf.length < FIXED) return { ok: false, reason: 'truncated' };
  const b0 = buf[0]!;
  if (b0 >> 6 !== 2) return { ok: false, reason: 'version' };
  let headerEnd = FIXED + 4 * (b0 & 0x0f);
  if (headerEnd > buf.length) return { ok: false, reason: 'csrc' };
  if (b0 & 0x10) {
    if (headerEnd + 4 > buf.length) return { ok: false, reason: 'extension' };
    headerEnd += 4 + 4 * buf.readUInt16BE(headerEnd + 2);
    if (headerEnd > buf.length) return { ok: false, reason: 'extension' };
  }
  let end = buf.length;
  if (b0 & 0x20) {
    const pad = buf[buf.length - 1]!;
    if (pad === 0 || headerEnd + pad > buf.length) return { ok: false, reason: 'padding' };
    end -= pad;
  }
  let h: RtpHeader;
  try {
    h = RtpHeader.deSerialize(buf);
  } catch {
    // werift walks one-byte/two-byte extension elements; an element that overruns its block throws
    return { ok: false, reason: 'extension' };
  }
  return {
    ok: true,
    payloadType: h.payloadType,
    sequence: h.sequenceNumber,
    timestamp: h.timestamp,
    ssrc: h.ssrc,
    marker: h.marker,
    payload: buf.subarray(headerEnd, end),
  };
}
