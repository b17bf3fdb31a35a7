/**
 * The benchmark's caller side, in its own process so its CPU is not counted as ours: streams one RTP
 * stream per target port, paced in real time, until told to stop.
 *
 * IPC in: { ports: number[], host: string, clipsFolder: string, seed: number } then 'stop'.
 * IPC out: 'ready' once streaming, then { sent } on stop.
 */
import { CREMA_D_CLIPS, concatenate, loadClips, type DemoClip } from '../sim/demo-audio.js';
import { RtpPacer, RtpStream } from '../sim/rtp-sender.js';

interface Start {
  ports: number[];
  host: string;
  clipsFolder?: string;
}

let clips: DemoClip[] | null = null;

function callAudio(i: number, folder: string): Float32Array {
  clips ??= loadClips(folder, undefined, 300);
  if (clips.length === 0) return syntheticSpeech(20, i);
  // Each call gets its own run of 12 clips, so calls differ.
  const pick = Array.from({ length: 12 }, (_, k) => clips![(i * 7 + k * 13) % clips!.length]!);
  return concatenate(pick);
}

/** Voiced, syllable-rate modulated harmonics: enough for VAD when CREMA-D is not present. */
function syntheticSpeech(seconds: number, seed: number): Float32Array {
  const out = new Float32Array(seconds * 8000);
  const f0 = 110 + (seed % 7) * 15;
  for (let n = 0; n < out.length; n++) {
    const t = n / 8000;
    const env = Math.max(0, Math.sin(2 * Math.PI * 3 * t));
    let s = 0;
    for (let h = 1; h <= 12; h++) s += Math.sin(2 * Math.PI * f0 * h * t) / h;
    out[n] = 0.15 * env * s;
  }
  return out;
}

let pacer: RtpPacer | null = null;
const streams: RtpStream[] = [];

process.on('message', (msg: Start | 'stop') => {
  if (msg === 'stop') {
    const sent = streams.reduce((n, s) => n + s.stats.sent, 0);
    void pacer?.close().then(() => {
      process.send?.({ sent }, () => process.exit(0));
    });
    return;
  }
  void (async () => {
    pacer = await RtpPacer.create(msg.host);
    msg.ports.forEach((port, i) => {
      const s = new RtpStream({ audio: callAudio(i, msg.clipsFolder ?? CREMA_D_CLIPS), to: { host: msg.host, port }, loop: true });
      streams.push(s);
      pacer!.add(s, (i * 7.3) % 20);
    });
    process.send?.('ready');
  })();
});
