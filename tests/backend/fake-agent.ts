// SPDX-License-Identifier: Apache-2.0
/*
 * FAKE agent: a small HTTP server that answers like a wakeflow agent, or
 * fails the ways a real one cannot be made to on demand (garbage JSON, 500,
 * a hang past the timeout, an answer too large, a wrong token, a web server
 * that is not an agent). Only for fault tests; every other backend test talks
 * to the real agent daemon.
 */
import { once } from 'node:events';
import http from 'node:http';
import { AddressInfo } from 'node:net';

export type FakeBehaviour = 'ok' | 'error500' | 'garbage' | 'hang' | 'huge' | 'html' | 'close';

export interface FakeAgent {
  url: string;
  name: string;
  /** Requests seen: path with query, and the Authorization header. */
  requests: Array<{ url: string; auth?: string }>;
  behaviour: FakeBehaviour;
  close: () => Promise<void>;
}

export interface FakeAgentOptions {
  behaviour?: FakeBehaviour;
  /** Required Bearer token (401 otherwise, as the agent does). */
  token?: string;
  /** Listen on '::' (dual stack) so 'localhost' reaches it over IPv4 and IPv6. */
  host?: string;
  /** Scales every value this fake returns, so merged sums can be checked. */
  scale?: number;
  /** Name of the pod its one target runs in. */
  pod?: string;
  /**
   * Answer /api/v1/chains (docs/api.md's shape) as an agent with multi-hop
   * chains does; without it the path is a 404, as on an agent from before
   * chains (issue 12).
   */
  chains?: boolean;
}

const STEP = 10_000;

function seriesAnswer(u: URL, scale: number, pod: string) {
  const from = Number(u.searchParams.get('from'));
  const to = Number(u.searchParams.get('to'));
  const step = Math.max(STEP, Math.ceil(Number(u.searchParams.get('step') ?? STEP) / STEP) * STEP);
  const by = u.searchParams.get('by') ?? 'category';
  const metric = u.searchParams.get('metric') ?? 'offcpu';
  const start = Math.ceil(from / step) * step;
  const groups: Array<Record<string, string>> =
    by === 'category'
      ? [{ category: 'ipc.eventfd' }, { category: 'net.tcp.data' }]
      : by === 'activity'
        ? [{ activity: 'envoy.dispatcher_post' }, { activity: 'none' }]
        : by === 'role'
          ? [{ role: 'worker' }]
          : by === 'thread'
            ? [{ thread: 'wrk:worker_0' }]
            : by === 'workload'
              ? [{ namespace: 'shop', workload: 'cart' }]
              : [{ namespace: 'shop', workload: 'cart', pod }];
  const perMetric: Record<string, number> = {
    oncpu: 0.3,
    preempted: 0.1,
    switches: 100,
    involuntary: 10,
    throttled: 0.05,
    offcpu: 0.5,
    wakeups: 40,
    runq: 0.01,
  };
  const series = groups.map((labels, gi) => {
    const points: Array<[number, number]> = [];
    for (let t = start; t < to && points.length < 5000; t += step) {
      points.push([t, (perMetric[metric] ?? 1) * scale * (gi + 1)]);
    }
    return { labels, points };
  });
  return { step_ms: step, from_ms: from, to_ms: to, metric, by, series };
}

function edge(id: number, scale: number, pod: string) {
  return {
    waker: { comm: 'wf-poster', proc: 'envoy', pid: 4242, tid: 4243 + id, context: id % 3 === 2 ? 'softirq' : 'task' },
    target: { comm: `wrk:worker_${id % 2}`, proc: 'envoy', pid: 4242, tid: 4300 + id, role: 'worker' },
    kind: 'blocked',
    preemptor: null,
    category: id % 2 === 0 ? 'ipc.eventfd' : 'net.tcp.data',
    activity: id % 2 === 0 ? 'envoy.dispatcher_post' : '',
    count: 100 * scale + id,
    offcpu_us: (1_000_000 - id * 1000) * scale,
    offcpu_max_us: 1840,
    runq_us: 3000 + id,
    stacks_sampled: true,
    waker_stack: ['eventfd_write', 'ksys_write', 'Envoy::Event::DispatcherImpl::post'],
    waker_stack_kernel_frames: 2,
    target_stack: ['schedule', 'ep_poll', 'epoll_wait', 'event_base_loop'],
    target_stack_kernel_frames: 2,
    facts: ['waker.syscall=write', 'waker.fd=eventfd'],
    explanation: {
      category: {
        rule: 'eventfd-write',
        when: 'waker.fd=eventfd',
        frames: [{ stack: 'waker', index: 0 }],
        facts: ['waker.fd=eventfd'],
      },
      activity: null,
    },
    first_seen: '2025-11-23T15:00:00.000Z',
    last_seen: '2025-11-23T16:00:00.000Z',
    id,
    labels: { namespace: 'shop', workload: 'cart', pod },
    first_seen_ms: 1763910000000,
    last_seen_ms: 1763913600000,
  };
}

/** The chain of docs/api.md's example: wf-a posts to wf-b (eventfd), wf-b writes a pipe to Envoy's worker. */
function chain(id: number, scale: number, pod: string, depth: number) {
  const hops = [
    { comm: 'wf-a', proc: 'wf-pipeline', pid: 4300, tid: 4300 + id },
    { comm: 'wf-b', proc: 'wf-pipeline', pid: 4300, tid: 4310 + id },
    { comm: `wrk:worker_${id % 2}`, proc: 'envoy', pid: 4242, tid: 4250 + (id % 2) },
  ];
  const links = [
    {
      category: 'ipc.eventfd',
      activity: null,
      context: 'task',
      stacks_sampled: true,
      waker_stack: ['eventfd_write', 'ksys_write', 'stage_a'],
      waker_stack_kernel_frames: 2,
      target_stack: ['schedule', 'eventfd_read', 'stage_b'],
      target_stack_kernel_frames: 2,
    },
    { category: 'ipc.pipe', activity: null, context: 'task', stacks_sampled: false },
  ];
  // Cut to the depth asked for, as the agent does (the links nearest the target).
  const keep = Math.min(links.length, depth);
  return {
    hops: hops.slice(hops.length - keep - 1),
    links: links.slice(links.length - keep),
    count: 100 * id * scale,
    offcpu_us: 1000 * id * scale,
    runq_us: 10 * id * scale,
    ended_by: keep < links.length ? 'depth' : 'none',
    id,
    labels: { namespace: 'shop', workload: 'cart', pod },
    first_seen_ms: 1763910000000,
    last_seen_ms: 1763913600000,
  };
}

export async function startFakeAgent(opts: FakeAgentOptions = {}): Promise<FakeAgent> {
  const scale = opts.scale ?? 1;
  const pod = opts.pod ?? 'cart-1';
  const requests: FakeAgent['requests'] = [];
  const sockets = new Set<import('node:net').Socket>();
  const fake: FakeAgent = {
    url: '',
    name: '',
    requests,
    behaviour: opts.behaviour ?? 'ok',
    close: async () => {
      for (const s of sockets) {
        s.destroy();
      }
      server.close();
      await once(server, 'close');
    },
  };
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://fake');
    requests.push({ url: req.url ?? '', auth: req.headers.authorization });
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    switch (fake.behaviour) {
      case 'hang':
        return; // never answers
      case 'close':
        req.socket.destroy();
        return;
      case 'error500':
        return send(500, { error: 'store: database disk image is malformed' });
      case 'garbage':
        res.writeHead(200, { 'Content-Type': 'application/json' });
        return res.end('{"series": [ {"labels": tru');
      case 'html':
        res.writeHead(200, { 'Content-Type': 'text/html' });
        return res.end('<html><body>It works!</body></html>');
      case 'huge': {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        const chunk = Buffer.alloc(1 << 20, 0x20);
        let n = 0;
        const pump = () => {
          while (n < 200 && res.write(chunk)) {
            n++;
          }
          if (n < 200) {
            res.once('drain', pump);
          } else {
            res.end('{}');
          }
        };
        res.on('error', () => undefined);
        return pump();
      }
      case 'ok':
        break;
    }
    if (opts.token && req.headers.authorization !== `Bearer ${opts.token}`) {
      res.writeHead(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Bearer realm="wakeflow"' });
      return res.end(JSON.stringify({ error: 'missing or wrong token' }));
    }
    switch (u.pathname) {
      case '/api/v1/status':
        return send(200, {
          version: '0.1.0',
          kernel: '6.18.0',
          uptime_s: 10,
          targets: 1,
          targets_known: 1,
          store: { state: 'ok' },
          lost: { edges_dropped: 0, stacks_dropped: 1, ringbuf_dropped: 0 },
        });
      case '/api/v1/targets':
        return send(200, {
          targets: [
            {
              pid: 4242,
              comm: 'envoy',
              exe: '/usr/local/bin/envoy',
              labels: { namespace: 'shop', workload: 'cart', pod, container: 'istio-proxy' },
              alive: true,
              first_seen_ms: Date.now() - 3_600_000,
              last_seen_ms: Date.now(),
            },
          ],
        });
      case '/api/v1/series':
        return send(200, seriesAnswer(u, scale, pod));
      case '/api/v1/edges': {
        const limit = Math.min(1000, Number(u.searchParams.get('limit') ?? 100));
        const edges = Array.from({ length: Math.min(limit, 6) }, (_, i) => edge(i + 1, scale, pod));
        return send(200, { from_ms: 0, to_ms: 0, matched: 6, edges });
      }
      case '/api/v1/chains':
        if (opts.chains) {
          const limit = Math.min(1000, Number(u.searchParams.get('limit') ?? 100));
          const depth = Number(u.searchParams.get('depth') ?? 3);
          const chains = Array.from({ length: Math.min(limit, 4) }, (_, i) => chain(i + 1, scale, pod, depth));
          return send(200, { from_ms: 0, to_ms: 0, depth, matched: 4, truncated: limit < 4, chains });
        }
        return send(404, { error: `no such endpoint: ${u.pathname}` });
      default:
        return send(404, { error: `unknown path ${u.pathname}` });
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, opts.host ?? '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  fake.url = `http://127.0.0.1:${port}`;
  fake.name = `127.0.0.1:${port}`;
  return fake;
}
