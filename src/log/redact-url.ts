/** `scheme://user:password@host` → `scheme://[redacted]@host`, anywhere in a string. */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*@/gi;

export function redactUrlUserinfo(s: string): string {
  return s.includes('@') ? s.replace(USERINFO, '$1[redacted]@') : s;
}

/** A log record with every string field (two levels deep) passed through redactUrlUserinfo. */
export function redactRecord(obj: Record<string, unknown>, depth = 0): Record<string, unknown> {
  let out: Record<string, unknown> | null = null;
  for (const [k, v] of Object.entries(obj)) {
    let r = v;
    if (typeof v === 'string') r = redactUrlUserinfo(v);
    else if (depth < 2 && v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Error)) r = redactRecord(v as Record<string, unknown>, depth + 1);
    if (r !== v) (out ??= { ...obj })[k] = r;
  }
  return out ?? obj;
}
