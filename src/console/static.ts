import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PACKAGE_ROOT } from '../config/paths.js';

interface Asset {
  type: string;
  body: Buffer;
}

/** The page's files live in src/console/page whether the app runs from src/ (tsx) or dist/ (tsc). */
export const PAGE_DIR = join(PACKAGE_ROOT, 'src', 'console', 'page');

function uplotDir(): string {
  return dirname(createRequire(import.meta.url).resolve('uplot'));
}

/**
 * The console's static files, read once at start-up (a missing file fails then, not on first visit)
 * and served from memory. uPlot comes from node_modules: nothing is fetched from a CDN.
 */
export class StaticAssets {
  readonly #assets = new Map<string, Asset>();

  constructor(pageDir = PAGE_DIR) {
    const uplot = uplotDir();
    const files: [string, string, string][] = [
      ['/', join(pageDir, 'index.html'), 'text/html; charset=utf-8'],
      ['/app.js', join(pageDir, 'app.js'), 'text/javascript; charset=utf-8'],
      ['/style.css', join(pageDir, 'style.css'), 'text/css; charset=utf-8'],
      ['/vendor/uPlot.iife.min.js', join(uplot, 'uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
      ['/vendor/uPlot.min.css', join(uplot, 'uPlot.min.css'), 'text/css; charset=utf-8'],
    ];
    for (const [path, file, type] of files) this.#assets.set(path, { type, body: readFileSync(file) });
    this.#assets.set('/index.html', this.#assets.get('/')!);
  }

  has(path: string): boolean {
    return this.#assets.has(path);
  }

  serve(path: string, res: ServerResponse, head: boolean): boolean {
    const asset = this.#assets.get(path);
    if (!asset) return false;
    res.writeHead(200, {
      'Content-Type': asset.type,
      'Content-Length': asset.body.length,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      // The page loads only its own files and talks only to this server.
      'Content-Security-Policy': "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    });
    res.end(head ? undefined : asset.body);
    return true;
  }
}
