// SPDX-License-Identifier: Apache-2.0
/*
 * agentGet over kept-alive connections. The server here is a fake (named
 * so): it closes a kept-alive connection the moment the next request arrives
 * on it, unanswered, which is the race a real agent's idle close (Keep-Alive:
 * timeout=15) makes with a client that reuses the connection just then, and
 * which cannot be produced on demand with the real daemon.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { AddressInfo, Socket } from 'node:net';
import { after, before, test } from 'node:test';

import { AgentError, agentGet, closeConnections, jsonReader } from './agent-client';

const isOk = (v: unknown): v is { ok: number } => typeof v === 'object' && v !== null && 'ok' in v;

let fakeAgent: http.Server;
let url = '';
let resetEveryFreshConnection = false;
const requestsOn = new Map<Socket, number>();

before(async () => {
  fakeAgent = http.createServer((req, res) => {
    const n = (requestsOn.get(req.socket) ?? 0) + 1;
    requestsOn.set(req.socket, n);
    if (n > 1 || resetEveryFreshConnection) {
      req.socket.resetAndDestroy(); // closed unanswered, as an idle close racing the request
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Keep-Alive': 'timeout=15' });
    res.end(JSON.stringify({ ok: n }));
  });
  await new Promise<void>((resolve) => fakeAgent.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(fakeAgent.address() as AddressInfo).port}`;
});

after(() => {
  closeConnections();
  fakeAgent.close();
});

const opts = { timeoutMs: 5000, maxBytes: 1 << 20 };
const agent = () => ({ name: 'fake-agent', url });

test('a GET on a kept-alive connection the agent closed unanswered is sent again, once, on a new one', async () => {
  resetEveryFreshConnection = false;
  const first = await agentGet(agent(), '/api/v1/status', [], opts, jsonReader(isOk));
  assert.deepEqual(first, { ok: 1 });
  // The same pooled connection is reused and closed by the fake agent: the answer comes from a second connection.
  const second = await agentGet(agent(), '/api/v1/status', [], opts, jsonReader(isOk));
  assert.deepEqual(second, { ok: 1 });
  assert.equal(requestsOn.size, 2);
});

test('a fresh connection closed unanswered is not retried: one clear error', async () => {
  closeConnections();
  resetEveryFreshConnection = true;
  const before = requestsOn.size;
  await assert.rejects(
    agentGet(agent(), '/api/v1/status', [], opts, jsonReader(isOk)),
    (e: unknown) =>
      e instanceof AgentError && e.kind === 'unreachable' && /closed the connection before answering/.test(e.message)
  );
  assert.equal(requestsOn.size, before + 1);
});
