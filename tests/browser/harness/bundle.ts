// SPDX-License-Identifier: Apache-2.0
/*
 * The harness page's script: the real @grafana/data, @grafana/ui,
 * @grafana/runtime, React, ReactDOM, rxjs and emotion bundled once with
 * esbuild, with SystemJS and the page driver (tests/browser/page/). Cached
 * under node_modules/.cache by the hash of package-lock.json and the page's
 * sources, so a test run rebuilds it only when either changed (~10 s).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { build } from 'esbuild';

export const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
const PAGE_DIR = path.join(ROOT, 'tests', 'browser', 'page');
const CACHE_DIR = path.join(ROOT, 'node_modules', '.cache', 'wakeflow-browser');

function sourcesHash(): string {
  const h = createHash('sha256');
  h.update(readFileSync(path.join(ROOT, 'package-lock.json')));
  for (const f of readdirSync(PAGE_DIR).sort()) {
    h.update(f);
    h.update(readFileSync(path.join(PAGE_DIR, f)));
  }
  return h.digest('hex').slice(0, 16);
}

/** Path of the bundled page script, building it if needed. */
export async function pageBundle(log: (s: string) => void = () => {}): Promise<string> {
  const out = path.join(CACHE_DIR, `harness-${sourcesHash()}.js`);
  if (existsSync(out)) {
    return out;
  }
  mkdirSync(CACHE_DIR, { recursive: true });
  log('bundling @grafana/* and React for the test page (once per dependency change)');
  const t0 = Date.now();
  const result = await build({
    entryPoints: [path.join(PAGE_DIR, 'main.tsx')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    sourcemap: false,
    write: false,
    jsx: 'transform',
    define: { 'process.env.NODE_ENV': '"production"', global: 'window' },
    // Styles of chart and grid libraries @grafana/ui imports; the plugins draw none of them.
    loader: { '.css': 'empty', '.svg': 'empty', '.woff': 'empty', '.woff2': 'empty' },
    logLevel: 'error',
  });
  writeFileSync(out, result.outputFiles[0].contents);
  log(
    `bundled in ${((Date.now() - t0) / 1000).toFixed(1)} s (${(result.outputFiles[0].contents.length / 1e6).toFixed(1)} MB)`
  );
  return out;
}
