import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { resolveDataPath } from '../config/paths.js';
import { InferenceEngine } from '../inference/engine.js';
import { createLogger } from '../log/logger.js';
import { AudioPath } from '../pipeline/audio-path.js';
import { parsePortRange, PortPool } from '../rtp/port-pool.js';
import { CREMA_D_CLIPS, concatenate, loadClips } from '../sim/demo-audio.js';
import { RtpPacer, RtpStream } from '../sim/rtp-sender.js';

/**
 * `ser-ari run`. Without an ARI URL it runs the demo: simulated callers stream RTP over loopback into
 * the real audio path and model, and every emotion update is logged.
 */
export async function runCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string' }, audio: { type: 'string' }, seconds: { type: 'string' } },
  });
  const { config, source } = loadConfig(values.config ? { file: values.config } : {});
  const logger = createLogger(config.log.level);
  logger.info({ configFile: source, ari: config.ari.url ?? 'simulator', app: config.ari.app }, 'starting ser-ari');
  if (config.ari.url) {
    logger.error('this build has the audio path and model only; the Asterisk ARI app is not in it yet (unset SER_ARI_URL to run the demo)');
    return 2;
  }
  const engine = await InferenceEngine.open({ ...config.model, modelPath: resolveDataPath(config.model.path) });
  logger.info({ model: engine.card.name, labels: engine.labels, workers: config.model.workers }, 'model loaded');
  const { min, max } = parsePortRange(config.rtp.ports);
  const path = new AudioPath({
    engine,
    ports: new PortPool(min, max),
    rtpHost: config.rtp.host,
    slin16PayloadType: config.rtp.slin16PayloadType,
    jitterPackets: config.rtp.jitterPackets,
    minSpeechRatio: config.audio.minSpeechRatio,
    smoothing: config.emotion.smoothing,
    vad: { thresholdDb: config.audio.vadThresholdDb, minSpeechDbfs: config.audio.vadMinSpeechDbfs },
    logger,
  });
  path.on('emotion', (u) =>
    logger.info(
      { callId: u.callId, t: u.end, speech: u.speech, dominant: u.dominant, confidence: round(u.confidence), negativity: round(u.negativity), dbfs: round(u.loudnessDbfs) },
      'emotion',
    ),
  );

  const folder = values.audio ?? CREMA_D_CLIPS;
  const callers = [
    { id: 'demo-calm', clips: loadClips(folder, /_NEU_/, 12) },
    { id: 'demo-frustrated', clips: loadClips(folder, /_(ANG|DIS)_HI|_ANG_XX/, 12) },
    { id: 'demo-sad', clips: loadClips(folder, /_SAD_XX/, 12) },
  ].filter((c) => c.clips.length > 0);
  if (callers.length === 0) {
    logger.error({ folder }, 'no WAV files for the demo callers: pass --audio <folder of WAV files>');
    await engine.close();
    return 2;
  }
  const pacer = await RtpPacer.create(config.rtp.host);
  for (const c of callers) {
    const tap = await path.openCall(c.id, { expectedSource: { address: config.rtp.host } });
    if (!tap) continue;
    pacer.add(new RtpStream({ audio: concatenate(c.clips), to: tap, loop: true }));
    logger.info({ callId: c.id, port: tap.port, clips: c.clips.length }, 'demo caller streaming');
  }

  const stop = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    if (values.seconds) setTimeout(resolve, Number(values.seconds) * 1000);
  });
  await stop;
  logger.info('shutting down');
  await pacer.close();
  await path.close();
  await engine.close();
  return 0;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
