// SPDX-License-Identifier: Apache-2.0
/*
 * For npm run bench:backend: an HTTP server in front of one real agent that
 * records the agent's answer to each request once and then replays those
 * bytes. Pointed at it, the backend gets real answers at no agent cost, so
 * its own share of a query (reading answers, merging, frames, Arrow, gRPC) is
 * measured apart from the agents'. Not a fake agent: every byte it serves came
 * from the real one, for the same request (the time range aside).
 */
import http from 'node:http';
import { AddressInfo } from 'node:net';

/** A request's identity without its time range (the bench's rounds move `now`). */
function replayKey(url: string): string {
  const u = new URL(url, 'http://replay/');
  const params = [...u.searchParams].filter(([k]) => k !== 'from' && k !== 'to').sort();
  return `${u.pathname}?${new URLSearchParams(params)}`;
}

export interface ReplayAgent {
  url: string;
  /** Answers recorded so far, by request. */
  recorded: () => number;
  close: () => Promise<void>;
}

export async function startReplayAgent(agentUrl: string): Promise<ReplayAgent> {
  const answers = new Map<string, { status: number; body: Buffer }>();
  const server = http.createServer((req, res) => {
    const key = replayKey(req.url ?? '/');
    const send = (a: { status: number; body: Buffer }) =>
      res.writeHead(a.status, { 'Content-Type': 'application/json', 'Content-Length': a.body.length }).end(a.body);
    const known = answers.get(key);
    if (known) {
      send(known);
      return;
    }
    fetch(agentUrl + (req.url ?? '/'), {
      headers: req.headers.authorization ? { authorization: req.headers.authorization } : {},
    })
      .then(async (r) => {
        const a = { status: r.status, body: Buffer.from(await r.arrayBuffer()) };
        if (r.status === 200) {
          answers.set(key, a);
        }
        send(a);
      })
      .catch((e: unknown) => res.writeHead(502).end(JSON.stringify({ error: String(e) })));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    recorded: () => answers.size,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
