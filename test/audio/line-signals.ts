/** Non-speech a caller line carries (issue 14 item 4), 8 kHz, deterministic. */
const RATE = 8000;

function tones(seconds: number, freqs: number[], onS: number, offS: number, amp = 0.3): Float32Array {
  const n = Math.round(seconds * RATE);
  const out = new Float32Array(n);
  const period = onS + offS;
  for (let i = 0; i < n; i++) {
    const t = i / RATE;
    if (offS > 0 && t % period >= onS) continue;
    let v = 0;
    for (const f of freqs) v += Math.sin(2 * Math.PI * f * t);
    out[i] = (amp * v) / freqs.length;
  }
  return out;
}

/** Pink noise (line hiss, street noise), seeded. */
export function pinkNoise(seconds: number, seed = 3): Float32Array {
  const n = Math.round(seconds * RATE);
  const out = new Float32Array(n);
  let s = seed >>> 0;
  const rand = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  // Paul Kellet's filter.
  let b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0;
  for (let i = 0; i < n; i++) {
    const w = rand();
    b0 = 0.99886 * b0 + w * 0.0555179;
    b1 = 0.99332 * b1 + w * 0.0750759;
    b2 = 0.969 * b2 + w * 0.153852;
    b3 = 0.8665 * b3 + w * 0.3104856;
    b4 = 0.55 * b4 + w * 0.5329522;
    b5 = -0.7616 * b5 - w * 0.016898;
    out[i] = (b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362) * 0.11;
    b6 = w * 0.115926;
  }
  return out;
}

function dtmf(seconds: number): Float32Array {
  const rows = [697, 770, 852, 941];
  const cols = [1209, 1336, 1477];
  const n = Math.round(seconds * RATE);
  const out = new Float32Array(n);
  for (let k = 0; k * 0.2 < seconds; k++) {
    const f = [rows[(k * 7) % 4]!, cols[(k * 5) % 3]!];
    const start = Math.round(k * 0.2 * RATE);
    for (let i = 0; i < 0.1 * RATE && start + i < n; i++) out[start + i] = 0.15 * (Math.sin((2 * Math.PI * f[0]! * i) / RATE) + Math.sin((2 * Math.PI * f[1]! * i) / RATE));
  }
  return out;
}

/** A music-like signal: a melody of harmonic notes with vibrato, 4 notes a second. */
function music(seconds: number): Float32Array {
  const n = Math.round(seconds * RATE);
  const out = new Float32Array(n);
  const notes = [262, 294, 330, 349, 392, 440, 494, 523];
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const t = i / RATE;
    const f0 = notes[Math.floor(t * 4) % notes.length]! * (1 + 0.005 * Math.sin(2 * Math.PI * 5 * t));
    phase += (2 * Math.PI * f0) / RATE;
    let v = 0;
    for (let h = 1; h <= 6; h++) v += Math.sin(h * phase) / h;
    out[i] = 0.2 * v * (0.6 + 0.4 * Math.exp(-((t * 4) % 1) * 3));
  }
  return out;
}

export function lineSignals(seconds: number): Record<string, Float32Array> {
  return {
    'busy tone 480+620 Hz': tones(seconds, [480, 620], 0.5, 0.5),
    'dial tone 350+440 Hz': tones(seconds, [350, 440], seconds, 0),
    'ringback 440+480 Hz': tones(seconds, [440, 480], 2, 4),
    'SIT tones': tones(seconds, [913.8, 1370.6, 1776.7], 0.33, 0.1),
    DTMF: dtmf(seconds),
    'pink noise': pinkNoise(seconds),
    '300 Hz sine': tones(seconds, [300], seconds, 0),
    'music-like melody': music(seconds),
  };
}

/** The signal scaled so its RMS over non-silent samples is `dbfs`. */
export function scaleToDbfs(x: Float32Array, dbfs: number): Float32Array {
  let sum = 0;
  let n = 0;
  for (const v of x) if (v !== 0) {
    sum += v * v;
    n++;
  }
  const g = 10 ** (dbfs / 20) / Math.sqrt(sum / Math.max(1, n));
  return x.map((v) => v * g);
}
