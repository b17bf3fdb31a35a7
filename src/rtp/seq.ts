/** RTP sequence numbers (16-bit) and timestamps (32-bit) wrap; compare them with half-range arithmetic. */

/** Signed distance a - b on the 16-bit circle, in [-32768, 32767]. */
export function seqDiff(a: number, b: number): number {
  return ((((a - b) & 0xffff) + 0x8000) & 0xffff) - 0x8000;
}

export function seqNewer(a: number, b: number): boolean {
  return seqDiff(a, b) > 0;
}

/** Signed distance a - b on the 32-bit circle. */
export function tsDiff(a: number, b: number): number {
  return ((a - b) | 0);
}
