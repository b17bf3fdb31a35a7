import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/paths.js';

const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };

describe('issue 16: npm install skips the CUDA download without an npm warning', () => {
  it('npm in the checkout prints no warning (no unknown keys in a project .npmrc)', () => {
    const r = spawnSync('npm', ['pkg', 'get', 'name'], { cwd: REPO, encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'warn' } });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('"ser-ari"');
    expect(r.stderr).not.toMatch(/npm warn/i);
    if (existsSync(join(REPO, '.npmrc'))) expect(readFileSync(join(REPO, '.npmrc'), 'utf8')).not.toMatch(/onnxruntime/);
  });

  it('package.json denies onnxruntime-node\'s install script (npm 11) and allows esbuild\'s', () => {
    expect(pkg.allowScripts).toEqual({ 'onnxruntime-node': false, esbuild: true });
  });

  it('the Dockerfile and .ci/run set ONNXRUNTIME_NODE_INSTALL=skip before npm ci (npm 10 ignores allowScripts)', () => {
    for (const file of ['Dockerfile', '.ci/run']) {
      const text = readFileSync(join(REPO, file), 'utf8');
      const skip = text.search(/^(ENV|export) ONNXRUNTIME_NODE_INSTALL=skip$/m);
      const install = text.search(/npm ci/);
      expect(skip, file).toBeGreaterThanOrEqual(0);
      expect(skip, file).toBeLessThan(install);
    }
  });

  it('onnxruntime-node\'s install script exits at once, without network, when that variable says skip', () => {
    const script = join(REPO, 'node_modules/onnxruntime-node/script/install.js');
    const t0 = Date.now();
    execFileSync(process.execPath, [script], { cwd: join(REPO, 'node_modules/onnxruntime-node'), env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' }, stdio: 'pipe' });
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});
