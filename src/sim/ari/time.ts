/** Asterisk's timestamp format: `2026-11-23T23:59:19.800+0000` (UTC, milliseconds, no colon in the offset). */
export function asteriskTime(date: Date = new Date()): string {
  return date.toISOString().replace('Z', '+0000');
}
