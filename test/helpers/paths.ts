import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const MODEL = resolve(REPO, 'models/ser-cnn.onnx');
/** CREMA-D is read from beside the repository, never copied into it. */
export const CREMA_D = resolve(REPO, '../shared/data/crema-d-8k');
export const CLIPS = resolve(CREMA_D, 'clips');
export const HAVE_CREMA_D = existsSync(CLIPS);
export const ASTERISK = resolve(REPO, '../shared/asterisk');
