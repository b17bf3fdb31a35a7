import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root folder, from src/config or dist/config alike. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A relative path from the config is looked up in the working directory first, then in the package. */
export function resolveDataPath(path: string, cwd = process.cwd()): string {
  if (isAbsolute(path)) return path;
  const local = resolve(cwd, path);
  return existsSync(local) ? local : resolve(PACKAGE_ROOT, path);
}
