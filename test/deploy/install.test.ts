import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/paths.js';

const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };

describe('npm install skips onnxruntime-node\'s CUDA download, offline, with npm 10 and 11', () => {
  it('the project .npmrc tells the install script to skip, and npm hands the setting to scripts', () => {
    expect(readFileSync(join(REPO, '.npmrc'), 'utf8')).toMatch(/^onnxruntime-node-install=skip$/m);
    // what npm sets for a lifecycle script run in this project
    const r = spawnSync('npm', ['exec', '--', 'node', '-p', 'process.env.npm_config_onnxruntime_node_install'], { cwd: REPO, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('skip');
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
