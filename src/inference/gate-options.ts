import { sileroModelPath } from '../audio/silero.js';

/** The engine's speech-gate option from the config's audio section (null when turned off). */
export function speechGateOption(audio: { speechGate: boolean; speechGateMinShare: number }): { modelPath: string; minShare: number } | null {
  return audio.speechGate ? { modelPath: sileroModelPath(), minShare: audio.speechGateMinShare } : null;
}
