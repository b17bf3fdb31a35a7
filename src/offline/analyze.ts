import { resampleTo8k } from '../audio/resample.js';
import { EnergyVad } from '../audio/vad.js';
import type { DecodedWav } from '../audio/wav.js';
import { Windower, type AudioWindow } from '../audio/windower.js';
import { NEGATIVE_LABELS, type Probs } from '../emotion/tracker.js';
import type { InferenceEngine } from '../inference/engine.js';

export interface AnalyzeOptions {
  minSpeechRatio: number;
  /** Negativity at or above which a window counts toward a "dissatisfied moment". */
  negativityThreshold: number;
}

export interface WindowResult {
  channel: number;
  start: number;
  end: number;
  speech: boolean;
  speechRatio: number;
  dbfs: number;
  probs: Probs | null;
  dominant: string | null;
  negativity: number | null;
}

export interface Moment {
  channel: number;
  start: number;
  end: number;
  peakNegativity: number;
  dominant: string;
}

export interface ChannelSummary {
  channel: number;
  windows: number;
  speechWindows: number;
  meanProbs: Probs | null;
  dominant: string | null;
  meanNegativity: number | null;
  peakNegativity: { value: number; start: number; end: number } | null;
}

export interface FileAnalysis {
  file: string;
  sampleRate: number;
  format: string;
  channels: number;
  duration: number;
  windows: WindowResult[];
  summary: { channels: ChannelSummary[]; moments: Moment[] };
}

const FRAME = 160;

/** The live path's windowing, VAD and model over a recorded call; each channel of a stereo file is one party. */
export async function analyzeWav(
  file: string,
  wav: DecodedWav,
  engine: InferenceEngine,
  opts: AnalyzeOptions,
): Promise<FileAnalysis> {
  const rate = engine.card.sampleRate;
  const labels = engine.labels;
  const negIdx = NEGATIVE_LABELS.map((l) => labels.indexOf(l)).filter((i) => i >= 0);
  const windows: WindowResult[] = [];
  let duration = 0;
  for (let ch = 0; ch < wav.channels.length; ch++) {
    const audio = resampleTo8k(wav.channels[ch]!, wav.sampleRate);
    duration = Math.max(duration, audio.length / rate);
    const found = windowsOf(audio, engine);
    const results = await Promise.all(
      found.map(async (w): Promise<WindowResult> => {
        const base = { channel: ch, start: w.startSample / rate, end: w.endSample / rate, speechRatio: w.speechRatio, dbfs: w.dbfs };
        const speech = w.speechRatio >= opts.minSpeechRatio && w.samples.length >= engine.minSamples;
        if (!speech) return { ...base, speech: false, probs: null, dominant: null, negativity: null };
        const { probs } = await engine.infer(w.samples);
        let top = 0;
        for (let i = 1; i < probs.length; i++) if (probs[i]! > probs[top]!) top = i;
        return {
          ...base,
          speech: true,
          probs: Object.fromEntries(labels.map((l, i) => [l, probs[i]!])),
          dominant: labels[top]!,
          negativity: negIdx.reduce((s, i) => s + probs[i]!, 0),
        };
      }),
    );
    windows.push(...results);
  }
  return {
    file,
    sampleRate: wav.sampleRate,
    format: wav.format,
    channels: wav.channels.length,
    duration,
    windows,
    summary: {
      channels: wav.channels.map((_, ch) => summarise(ch, windows.filter((w) => w.channel === ch), labels)),
      moments: moments(windows, opts.negativityThreshold),
    },
  };
}

function windowsOf(audio: Float32Array, engine: InferenceEngine): AudioWindow[] {
  const windower = new Windower(
    { sampleRate: engine.card.sampleRate, windowSamples: engine.windowSamples, hopSamples: engine.hopSamples },
    new EnergyVad(),
  );
  const out: AudioWindow[] = [];
  for (let i = 0; i < audio.length; i += FRAME) {
    const w = windower.push(audio, i, Math.min(FRAME, audio.length - i));
    if (w) out.push(w);
  }
  const last = windower.flush();
  if (last) out.push(last);
  return out;
}

function summarise(channel: number, ws: WindowResult[], labels: readonly string[]): ChannelSummary {
  const speech = ws.filter((w) => w.probs !== null);
  if (speech.length === 0) {
    return { channel, windows: ws.length, speechWindows: 0, meanProbs: null, dominant: null, meanNegativity: null, peakNegativity: null };
  }
  const mean: Probs = Object.fromEntries(labels.map((l) => [l, speech.reduce((s, w) => s + w.probs![l]!, 0) / speech.length]));
  const dominant = labels.reduce((a, b) => (mean[b]! > mean[a]! ? b : a));
  const peak = speech.reduce((a, b) => (b.negativity! > a.negativity! ? b : a));
  return {
    channel,
    windows: ws.length,
    speechWindows: speech.length,
    meanProbs: mean,
    dominant,
    meanNegativity: speech.reduce((s, w) => s + w.negativity!, 0) / speech.length,
    peakNegativity: { value: peak.negativity!, start: peak.start, end: peak.end },
  };
}

/** Runs of overlapping windows whose negativity reaches the threshold, merged per channel. */
function moments(ws: WindowResult[], threshold: number): Moment[] {
  const out: Moment[] = [];
  const byChannel = new Map<number, WindowResult[]>();
  for (const w of ws) if (w.negativity !== null && w.negativity >= threshold) byChannel.set(w.channel, [...(byChannel.get(w.channel) ?? []), w]);
  for (const [channel, hits] of byChannel) {
    hits.sort((a, b) => a.start - b.start);
    let cur: Moment | null = null;
    const counts = new Map<string, number>();
    const close = (): void => {
      if (!cur) return;
      cur.dominant = [...counts.entries()].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
      out.push(cur);
      counts.clear();
    };
    for (const w of hits) {
      if (cur && w.start <= cur.end) {
        cur.end = Math.max(cur.end, w.end);
        cur.peakNegativity = Math.max(cur.peakNegativity, w.negativity!);
      } else {
        close();
        cur = { channel, start: w.start, end: w.end, peakNegativity: w.negativity!, dominant: '' };
      }
      counts.set(w.dominant!, (counts.get(w.dominant!) ?? 0) + 1);
    }
    close();
  }
  return out.sort((a, b) => a.channel - b.channel || a.start - b.start);
}
