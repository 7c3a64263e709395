// SPDX-License-Identifier: Apache-2.0
/*
 * A proxy in front of one real agent daemon that records the requests it
 * forwards, and can play an agent from before `fields=` on /api/v1/edges
 * (mode 'before-fields'): it then refuses that parameter with the sentence
 * such an agent's query parser gives every unknown parameter
 * (agent/src/query/query.c), and forwards everything else. Partly FAKE, for
 * that one refusal only: every answer it passes on is the real agent's, so
 * the backend's one-phase and two-phase chains queries can be compared on
 * the same agents' data, under the same agent names.
 */
import http from 'node:http';
import { AddressInfo } from 'node:net';

export type ProxyMode = 'pass' | 'before-fields';

export interface AgentProxy {
  url: string;
  mode: ProxyMode;
  /** Path and query of every request seen, in order. */
  requests: string[];
  close: () => Promise<void>;
}

export async function startAgentProxy(agentUrl: string): Promise<AgentProxy> {
  const proxy: AgentProxy = { url: '', mode: 'pass', requests: [], close: async () => {} };
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    proxy.requests.push(url);
    if (proxy.mode === 'before-fields' && new URL(url, 'http://proxy/').searchParams.has('fields')) {
      const body = JSON.stringify({ error: "unknown parameter 'fields'" });
      res.writeHead(400, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
      return;
    }
    fetch(agentUrl + url, { headers: req.headers.authorization ? { authorization: req.headers.authorization } : {} })
      .then(async (r) => {
        const body = Buffer.from(await r.arrayBuffer());
        res.writeHead(r.status, { 'Content-Type': 'application/json', 'Content-Length': body.length }).end(body);
      })
      .catch((e: unknown) => res.writeHead(502).end(JSON.stringify({ error: String(e) })));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}
