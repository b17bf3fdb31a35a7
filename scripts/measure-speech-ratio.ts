/**
 * What `speechRatio` reads on natural speech, for the rules' thresholds (docs/speech-ratio.md):
 * 3 s windows every 1 s over (a) each CREMA-D sentence alone, as a short utterance inside a live
 * window, and (b) "calls": 40 sentences of one actor joined with pauses of 0.2-1.2 s, as a caller
 * talking on. For several pause bridges, the percentiles of the ratio over all windows.
 * `npx tsx scripts/measure-speech-ratio.ts [bridge ms,...]`
 */
import { windowsOf } from '../src/audio/windower.js';
import { CREMA_D_CLIPS, loadClips, type DemoClip } from '../src/sim/demo-audio.js';

const bridges = (process.argv[2] ?? '0,100,200,300,400').split(',').map(Number);
const clips = loadClips(CREMA_D_CLIPS, /\.wav$/, 1500, true);
if (clips.length === 0) throw new Error(`no clips in ${CREMA_D_CLIPS}`);
let seed = 7;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);

function windows(audio: Float32Array, bridgeMs: number): number[] {
  return windowsOf(audio.subarray(0, audio.length - (audio.length % 160)), { sampleRate: 8000, windowSamples: 24000, hopSamples: 8000 }, undefined, bridgeMs).map((w) => w.speechRatio);
}

function call(actorClips: DemoClip[]): Float32Array {
  const parts: Float32Array[] = [];
  for (const c of actorClips) {
    parts.push(c.audio, new Float32Array(Math.round((0.2 + rand()) * 8000)));
  }
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const byActor = new Map<string, DemoClip[]>();
for (const c of clips) {
  const actor = c.name.slice(0, 4);
  byActor.set(actor, [...(byActor.get(actor) ?? []), c]);
}
const calls = [...byActor.values()].filter((cs) => cs.length >= 10).map((cs) => call(cs.slice(0, 40)));

/** Longest run of windows a rule `above`/`clearBelow` holds for (raised at >= above, held while >= clearBelow). */
function longestEpisode(xs: number[], above: number, clearBelow: number): number {
  let best = 0;
  let run = 0;
  for (const x of xs) {
    if (run > 0 ? x >= clearBelow : x >= above) run++;
    else run = 0;
    best = Math.max(best, run);
  }
  return best;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)]!.toFixed(2);
const share = (xs: number[], t: number) => ((100 * xs.filter((x) => x >= t).length) / xs.length).toFixed(0);
console.log(`${clips.length} sentences, ${calls.length} calls\n`);
console.log('| bridge | what | windows | p10 | p25 | median | p75 | windows >= 0.5 | >= 0.7 |');
console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const b of bridges) {
  const sentence = clips.flatMap((c) => windows(c.audio, b));
  const talking = calls.flatMap((a) => windows(a, b).slice(2)); // from the third window on: a full window of the call
  for (const [what, xs] of [['sentence alone', sentence], ['call, talking on', talking]] as const) {
    console.log(`| ${b} ms | ${what} | ${xs.length} | ${pct(xs, 0.1)} | ${pct(xs, 0.25)} | ${pct(xs, 0.5)} | ${pct(xs, 0.75)} | ${share(xs, 0.5)}% | ${share(xs, 0.7)}% |`);
  }
}

const RULES: Array<[number, number]> = [[0.5, 0.4], [0.5, 0.2], [0.35, 0.2], [0.3, 0.15]];
console.log('\n| bridge | rule (above / clearBelow) | calls whose talking holds it 20 s in a row | median longest episode (s) |');
console.log('| ---: | --- | ---: | ---: |');
for (const b of bridges) {
  const perCall = calls.map((a) => windows(a, b).slice(2));
  for (const [above, clear] of RULES) {
    const runs = perCall.map((xs) => longestEpisode(xs, above, clear));
    console.log(`| ${b} ms | ${above} / ${clear} | ${runs.filter((r) => r >= 20).length} of ${runs.length} | ${pct(runs, 0.5)} |`);
  }
}
