/**
 * RTP sequence numbers (16 bits) and timestamps (32 bits) wrap around; compare them on the circle with
 * half-range arithmetic (RFC 3550 A.1, RFC 1982), never with `<` on the raw values.
 *
 * A distance of exactly half the range is ambiguous: it is reported as the most negative value, so
 * neither number counts as newer than the other.
 */

export const SEQ_MASK = 0xffff;

/** Signed distance a - b on the 16-bit circle, in [-32768, 32767]: seqDiff(0, 65535) === 1. */
export function seqDiff(a: number, b: number): number {
  return ((((a - b) & SEQ_MASK) + 0x8000) & SEQ_MASK) - 0x8000;
}

/** True when a comes after b (within half the sequence space). */
export function seqNewer(a: number, b: number): boolean {
  return seqDiff(a, b) > 0;
}

/** The sequence number after a: 65535 is followed by 0. */
export function seqNext(a: number): number {
  return (a + 1) & SEQ_MASK;
}

/** Signed distance a - b on the 32-bit timestamp circle, in [-2^31, 2^31 - 1]. */
export function tsDiff(a: number, b: number): number {
  return (a - b) | 0;
}
