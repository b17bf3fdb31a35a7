import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { SerError } from '../errors.js';

/** The labels the product understands; a model may list them in any order. */
export const EMOTION_LABELS = ['ANG', 'DIS', 'FEA', 'HAP', 'NEU', 'SAD'] as const;
export type EmotionLabel = (typeof EMOTION_LABELS)[number];

const perClass = z.object({ precision: z.number(), recall: z.number(), f1: z.number(), support: z.int() });

export const modelCardSchema = z.object({
  name: z.string().min(1),
  labels: z.array(z.enum(EMOTION_LABELS)).min(2).refine((l) => new Set(l).size === l.length, 'labels must be unique'),
  sampleRate: z.literal(8000, 'the product feeds 8 kHz audio: sampleRate must be 8000'),
  windowSeconds: z.number().positive().max(30),
  hopSeconds: z.number().positive().max(30),
  minSeconds: z.number().positive().max(30),
  input: z.object({ name: z.string().min(1) }),
  output: z.object({ name: z.string().min(1) }),
  sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  fileBytes: z.int().positive().optional(),
  metrics: z
    .object({
      test: z.object({ accuracy: z.number(), macroF1: z.number(), perClass: z.record(z.string(), perClass) }).loose(),
    })
    .loose()
    .optional(),
}).loose();

export type ModelCard = z.infer<typeof modelCardSchema>;

export function cardPathFor(modelPath: string): string {
  return modelPath.replace(/\.onnx$/i, '') + '.json';
}

/** Reads and checks `<name>.json` beside `<name>.onnx`; the file's checksum must match the card's. */
export function loadModelCard(modelPath: string): ModelCard {
  if (!existsSync(modelPath)) {
    throw new SerError('MODEL_NOT_FOUND', `model file not found: ${modelPath} (set model.path or SER_MODEL)`);
  }
  const cardPath = cardPathFor(modelPath);
  if (!existsSync(cardPath)) {
    throw new SerError('MODEL_NOT_FOUND', `model card not found: ${cardPath} (every model ships with its JSON card)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(cardPath, 'utf8'));
  } catch (err) {
    throw new SerError('MODEL_CARD_INVALID', `model card ${cardPath} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = modelCardSchema.safeParse(json);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ');
    throw new SerError('MODEL_CARD_INVALID', `model card ${cardPath} is invalid: ${detail}`);
  }
  const card = parsed.data;
  const bytes = readFileSync(modelPath);
  if (card.fileBytes !== undefined && bytes.length !== card.fileBytes) {
    throw new SerError('MODEL_CORRUPT', `model ${modelPath} has ${bytes.length} bytes, its card says ${card.fileBytes}`);
  }
  if (card.sha256 !== undefined) {
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== card.sha256) {
      throw new SerError('MODEL_CORRUPT', `model ${modelPath} does not match its card (sha256 ${actual}, card ${card.sha256})`);
    }
  }
  if (card.hopSeconds > card.windowSeconds || card.minSeconds > card.windowSeconds) {
    throw new SerError('MODEL_CARD_INVALID', `model card ${cardPath}: hop and minimum length must not exceed the window`);
  }
  return card;
}
