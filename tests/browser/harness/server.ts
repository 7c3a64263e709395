// SPDX-License-Identifier: Apache-2.0
/*
 * A stand-in for the Grafana server's HTTP side, for browser tests (a test
 * double of Grafana core, named as such; no Grafana server can run here):
 * serves the built plugin from dist/ at Grafana's plugin URLs, the icons
 * @grafana/ui asks for, the harness page, and Grafana's data source API —
 * /api/ds/query, /api/datasources/uid/:uid/resources/*, .../health — each
 * answered by a PluginHost, which in the tests is the real backend executable
 * over gRPC (plugin-host.ts). Bound to 127.0.0.1 on a free port.
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import { ROOT } from './bundle';

export interface DataSourceState {
  uid: string;
  jsonData: Record<string, unknown>;
  /** Kept here only, as Grafana keeps secure fields encrypted: never sent to the browser. */
  secureJsonData: Record<string, string>;
  /** Grafana's `updated` time: the backend rebuilds its settings when it changes. */
  lastUpdatedMS: number;
}

/** What Grafana's server does with the data source API calls: ask the plugin. */
export interface PluginHost {
  /** /api/ds/query: the body as the browser sent it; answers Grafana's JSON (`results` per refId) and the HTTP status. */
  query(ds: DataSourceState, body: QueryBody): Promise<{ status: number; json: unknown }>;
  resource(ds: DataSourceState, pathAndQuery: string): Promise<{ status: number; json: unknown }>;
  health(ds: DataSourceState): Promise<{ status: number; json: unknown }>;
}

export interface QueryBody {
  queries: Array<Record<string, unknown> & { refId?: string }>;
  from: string;
  to: string;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.html': 'text/html',
  '.map': 'application/json',
  '.md': 'text/markdown',
};

export interface HarnessServer {
  url: string;
  ds: DataSourceState;
  close: () => Promise<void>;
  /** Requests the page made that the server could not answer (missing files): tests assert none. */
  misses: string[];
}

function page(theme: 'light' | 'dark'): string {
  // Grafana's index.html sets grafanaBootData before any script; @grafana/runtime reads it on load.
  const boot = {
    settings: {
      buildInfo: { version: '12.4.0', commit: 'harness', env: 'production' },
      featureToggles: {},
      appSubUrl: '',
    },
    user: { theme, lightTheme: theme === 'light', timezone: 'utc', locale: 'en-US', language: 'en-US' },
    navTree: [],
  };
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>wakeflow plugin harness</title>
<script>window.grafanaBootData = ${JSON.stringify(boot)}; window.__grafana_public_path__ = '/public/';</script>
</head><body><div id="root"></div><script src="/harness.js"></script></body></html>`;
}

function send(res: ServerResponse, status: number, body: string | Buffer, type = 'application/json') {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(body);
}

function sendFile(res: ServerResponse, file: string) {
  res.writeHead(200, {
    'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
    'Cache-Control': 'no-store',
  });
  createReadStream(file).pipe(res);
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) {
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString();
}

/** A file under `dir` for a URL path under `prefix`, refusing `..`. */
function under(dir: string, prefix: string, urlPath: string): string | undefined {
  const rel = decodeURIComponent(urlPath.slice(prefix.length));
  const file = path.resolve(dir, rel);
  return file.startsWith(dir + path.sep) && existsSync(file) && statSync(file).isFile() ? file : undefined;
}

export async function startHarnessServer(opts: {
  bundle: string;
  host?: PluginHost;
  ds: DataSourceState;
  theme?: 'light' | 'dark';
  dist?: string;
}): Promise<HarnessServer> {
  const dist = opts.dist ?? path.join(ROOT, 'dist');
  const icons = path.join(ROOT, 'node_modules', '@grafana', 'ui', 'dist', 'public', 'img', 'icons');
  const misses: string[] = [];
  const ds = opts.ds;
  // Grafana serves the app at its id, and each nested plugin both under the app and at its own id.
  const statics: Array<[string, string]> = [
    ['/public/plugins/wakeflow-offwake-app/', dist],
    ['/public/plugins/wakeflow-offwake-datasource/', path.join(dist, 'datasource')],
    ['/public/plugins/wakeflow-chains-panel/', path.join(dist, 'panel')],
    ['/public/build/img/icons/', icons],
  ];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://harness');
    try {
      if (url.pathname === '/' || url.pathname === '/index.html') {
        return send(
          res,
          200,
          page((url.searchParams.get('theme') as 'light' | 'dark') ?? opts.theme ?? 'dark'),
          'text/html'
        );
      }
      if (url.pathname === '/harness.js') {
        return send(res, 200, readFileSync(opts.bundle), 'text/javascript');
      }
      for (const [prefix, dir] of statics) {
        if (url.pathname.startsWith(prefix)) {
          const file = under(dir, prefix, url.pathname);
          if (file) {
            return sendFile(res, file);
          }
        }
      }
      const api = /^\/api\/datasources\/uid\/([^/]+)\/(resources\/(.*)|health)$/.exec(url.pathname);
      if (url.pathname === '/api/harness/datasource' && req.method === 'POST') {
        // Grafana's save: secure fields are stored and only their presence is returned.
        const saved = JSON.parse(await body(req)) as {
          jsonData?: Record<string, unknown>;
          secureJsonData?: Record<string, string>;
        };
        ds.jsonData = saved.jsonData ?? {};
        for (const [k, v] of Object.entries(saved.secureJsonData ?? {})) {
          if (v === '') {
            delete ds.secureJsonData[k];
          } else {
            ds.secureJsonData[k] = v;
          }
        }
        ds.lastUpdatedMS = Date.now();
        const secureJsonFields = Object.fromEntries(Object.keys(ds.secureJsonData).map((k) => [k, true]));
        return send(res, 200, JSON.stringify({ jsonData: ds.jsonData, secureJsonFields }));
      }
      if (!opts.host) {
        misses.push(url.pathname);
        return send(res, 404, JSON.stringify({ message: 'this harness runs without a plugin backend' }));
      }
      if (url.pathname === '/api/ds/query' && req.method === 'POST') {
        const answer = await opts.host.query(ds, JSON.parse(await body(req)) as QueryBody);
        return send(res, answer.status, JSON.stringify(answer.json));
      }
      if (api && api[1] === ds.uid) {
        const answer =
          api[2] === 'health' ? await opts.host.health(ds) : await opts.host.resource(ds, `${api[3]}${url.search}`);
        return send(res, answer.status, JSON.stringify(answer.json));
      }
      misses.push(url.pathname);
      send(res, 404, JSON.stringify({ message: `not found: ${url.pathname}` }));
    } catch (err) {
      send(res, 500, JSON.stringify({ message: `harness: ${String(err)}` }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    ds,
    misses,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
