import { resampleTo8k } from '../audio/resample.js';
import { SpeechGate } from '../audio/speech-gate.js';
import type { DecodedWav } from '../audio/wav.js';
import { EnergyVad, type VadOptions } from '../audio/vad.js';
import { windowsOf, type AudioWindow } from '../audio/windower.js';
import { CallerBaseline, callerModelFromCard } from '../emotion/caller-baseline.js';
import { NEGATIVE_LABELS, type Probs } from '../emotion/tracker.js';
import type { InferenceEngine } from '../inference/engine.js';

export interface AnalyzeOptions {
  minSpeechRatio: number;
  /** Negativity at or above which a window counts toward a "dissatisfied moment". */
  negativityThreshold: number;
  /** The energy VAD's settings (config `audio.vad*`); its defaults otherwise. */
  vad?: Partial<VadOptions>;
}

export interface WindowResult {
  channel: number;
  start: number;
  end: number;
  speech: boolean;
  /** Loud enough for the energy VAD, but the speech gate (Silero) found no speech: a tone, DTMF, noise, music. */
  nonSpeech: boolean;
  speechRatio: number;
  dbfs: number;
  probs: Probs | null;
  dominant: string | null;
  negativity: number | null;
  /**
   * The window's probabilities relative to this channel's own baseline: the speech windows before it in
   * the recording, exactly as a live call's tracker builds it (a channel is one caller). null without speech.
   */
  adjusted: Probs | null;
  adjustedNegativity: number | null;
  /** Speech windows of this channel before and including this one. */
  baselineWindows: number;
  /** 0..1 how familiar the voice/line is to the model so far; null until enough speech (caller-baseline.ts). */
  familiarity: number | null;
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
  /** Windows the energy VAD passed and the speech gate rejected. */
  nonSpeechWindows: number;
  meanProbs: Probs | null;
  dominant: string | null;
  meanNegativity: number | null;
  peakNegativity: { value: number; start: number; end: number } | null;
  /** Familiarity over the whole channel's speech; null with too little speech. */
  familiarity: number | null;
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
  const caller = callerModelFromCard(engine.card);
  let duration = 0;
  for (let ch = 0; ch < wav.channels.length; ch++) {
    const audio = resampleTo8k(wav.channels[ch]!, wav.sampleRate);
    duration = Math.max(duration, audio.length / rate);
    const { windows: found, outputs, gated } = await scoreChannel(audio, engine, opts.minSpeechRatio, opts.vad);
    // In window order, as the live tracker sees them: each speech window is adjusted by the channel's
    // speech before it, then joins the baseline.
    const baseline = new CallerBaseline(labels.length, caller);
    const adj = new Float64Array(labels.length);
    found.forEach((w, k) => {
      const base = { channel: ch, start: w.startSample / rate, end: w.endSample / rate, speechRatio: w.speechRatio, dbfs: w.dbfs };
      const probs = outputs[k];
      if (!probs) {
        windows.push({ ...base, speech: false, nonSpeech: gated[k]!, probs: null, dominant: null, negativity: null, adjusted: null, adjustedNegativity: null, baselineWindows: baseline.windows, familiarity: nullIfNaN(baseline.familiarity()) });
        return;
      }
      baseline.adjust(probs, adj);
      baseline.add(probs);
      baseline.soften(adj, adj);
      const soft = baseline.soften(probs, new Float64Array(labels.length));
      let top = 0;
      for (let i = 1; i < soft.length; i++) if (soft[i]! > soft[top]!) top = i;
      windows.push({
        ...base,
        speech: true,
        nonSpeech: false,
        probs: Object.fromEntries(labels.map((l, i) => [l, soft[i]!])),
        dominant: labels[top]!,
        negativity: negIdx.reduce((s, i) => s + soft[i]!, 0),
        adjusted: Object.fromEntries(labels.map((l, i) => [l, adj[i]!])),
        adjustedNegativity: negIdx.reduce((s, i) => s + adj[i]!, 0),
        baselineWindows: baseline.windows,
        familiarity: nullIfNaN(baseline.familiarity()),
      });
    });
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

/** A channel's windows (8 kHz audio), each with the model's output when serving would score it. */
export interface ChannelOutputs {
  windows: AudioWindow[];
  /** The model's probabilities for a speech window, null for a window serving does not score. */
  outputs: (Float32Array | null)[];
  /** Windows the energy VAD passed and the speech gate rejected. */
  gated: boolean[];
}

/**
 * The live path's decisions for one caller's audio (8 kHz): its windows as serving cuts them (short
 * recordings give one shorter window), the energy VAD's speech ratio against `minSpeechRatio`, the
 * model's minimum length, the Silero speech gate when the engine has it, and the model's output on
 * every window that passes. Shared by `analyze` and `evaluate` so that they cannot disagree.
 */
export async function scoreChannel(audio: Float32Array, engine: InferenceEngine, minSpeechRatio: number, vad?: Partial<VadOptions>): Promise<ChannelOutputs> {
  const found = windowsOfCall(audio, engine, vad);
  const energy = found.map((w) => w.speechRatio >= minSpeechRatio && w.samples.length >= engine.minSamples);
  const gated = new Array<boolean>(found.length).fill(false);
  let outputs: (Float32Array | null)[];
  if (engine.gated) {
    // As live: the gate's state runs from one window to the next, so a channel's windows go in order.
    const gate = new SpeechGate(engine.windowSamples);
    outputs = [];
    for (const [k, w] of found.entries()) {
      if (!energy[k]) {
        outputs.push(null);
        continue;
      }
      const input = gate.request(w.samples, w.startSample, w.endSample, w.dbfs);
      const r = await engine.infer(w.samples, input);
      if (r.gate) gate.commit(input, r.gate);
      gated[k] = !!r.gate && !r.gate.passed;
      outputs.push(gated[k] ? null : r.probs);
    }
  } else {
    outputs = await Promise.all(found.map((w, k) => (energy[k] ? engine.infer(w.samples).then((r) => r.probs) : null)));
  }
  return { windows: found, outputs, gated };
}

function nullIfNaN(x: number): number | null {
  return Number.isNaN(x) ? null : x;
}

function windowsOfCall(audio: Float32Array, engine: InferenceEngine, vad?: Partial<VadOptions>): AudioWindow[] {
  return windowsOf(audio, { sampleRate: engine.card.sampleRate, windowSamples: engine.windowSamples, hopSamples: engine.hopSamples }, new EnergyVad(vad));
}

function summarise(channel: number, ws: WindowResult[], labels: readonly string[]): ChannelSummary {
  const speech = ws.filter((w) => w.probs !== null);
  if (speech.length === 0) {
    return { channel, windows: ws.length, speechWindows: 0, nonSpeechWindows: ws.filter((w) => w.nonSpeech).length, meanProbs: null, dominant: null, meanNegativity: null, peakNegativity: null, familiarity: null };
  }
  const mean: Probs = Object.fromEntries(labels.map((l) => [l, speech.reduce((s, w) => s + w.probs![l]!, 0) / speech.length]));
  const dominant = labels.reduce((a, b) => (mean[b]! > mean[a]! ? b : a));
  const peak = speech.reduce((a, b) => (b.negativity! > a.negativity! ? b : a));
  return {
    channel,
    windows: ws.length,
    speechWindows: speech.length,
    nonSpeechWindows: ws.filter((w) => w.nonSpeech).length,
    meanProbs: mean,
    dominant,
    meanNegativity: speech.reduce((s, w) => s + w.negativity!, 0) / speech.length,
    peakNegativity: { value: peak.negativity!, start: peak.start, end: peak.end },
    familiarity: speech.at(-1)!.familiarity,
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
