// SPDX-License-Identifier: Apache-2.0
/*
 * The built backend executable under a Grafana-like host (tests/backend/
 * grafana-host.ts): the launch environment, the handshake, every gRPC
 * service, the frames as another Arrow reader sees them, the alert path,
 * bad input and the agent faults, against FAKE agents (tests/backend/
 * fake-agent.ts) for faults a real agent cannot produce on demand. The same
 * services against real agent daemons: backend-e2e.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { TimeUnit, Type } from '@uwdata/flechette';

import {
  GRAFANA_ENV,
  PluginProcess,
  backendExe,
  callResource,
  checkHealth,
  collectMetrics,
  nsValues,
  query,
  queryRequest,
  startPlugin,
  unaryCall,
} from './backend/grafana-host';
import { FakeAgent, startFakeAgent } from './backend/fake-agent';

const HOUR = 3_600_000;
const now = () => Math.floor(Date.now() / 10_000) * 10_000;
const range = () => ({ fromMs: now() - HOUR, toMs: now() });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(() => {
  assert.ok(existsSync(backendExe), `${backendExe} is missing: run npm run build:backend first`);
  assert.equal(statSync(backendExe).mode & 0o777, 0o755, 'the executable must be mode 755');
});

describe('launch and handshake', () => {
  test('started by hand without the cookie: one sentence on stderr, nothing on stdout, exit 1', () => {
    const r = spawnSync(backendExe, [], { env: {}, encoding: 'utf8', timeout: 10000 });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /Grafana/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });

  test('a host offering only protocol 1 is refused with a sentence', () => {
    const r = spawnSync(backendExe, [], {
      env: { ...GRAFANA_ENV, PLUGIN_PROTOCOL_VERSIONS: '1' },
      encoding: 'utf8',
      timeout: 10000,
    });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /protocol/);
  });

  test('only Grafana environment: handshake line first, loopback address, hclog JSON on stderr, SIGINT ignored, Shutdown exits', async () => {
    const p = await startPlugin();
    try {
      assert.match(p.handshake, /^1\|2\|tcp\|127\.0\.0\.1:\d+\|grpc$/);
      const health = await unaryCall<{ status: string }>(p.health, 'Check', { service: 'plugin' });
      assert.equal(health.status, 'SERVING');
      assert.equal((await unaryCall<{ status: string }>(p.health, 'Check', { service: '' })).status, 'SERVING');

      p.proc.kill('SIGINT');
      await sleep(300);
      assert.equal(p.proc.exitCode, null, 'SIGINT must not stop the plugin');
      assert.equal((await unaryCall<{ status: string }>(p.health, 'Check', { service: 'plugin' })).status, 'SERVING');

      const t0 = Date.now();
      await unaryCall(p.controller, 'Shutdown', {});
      const ex = await Promise.race([p.exited, sleep(2000).then(() => null)]);
      assert.ok(ex, 'the plugin must exit within 2 s of Shutdown (Grafana kills it then)');
      assert.equal(ex.code, 0);
      assert.ok(Date.now() - t0 < 2000);

      assert.equal(p.stdout(), p.handshake + '\n', 'nothing but the handshake on stdout');
      const logs = p.logs();
      assert.ok(logs.length >= 2);
      for (const l of logs) {
        for (const k of ['@level', '@message', '@timestamp']) {
          assert.equal(typeof l[k], 'string', `${k} must be a string`);
        }
        assert.match(l['@timestamp'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
        assert.ok(['trace', 'debug', 'info', 'warn', 'error'].includes(l['@level']));
      }
    } finally {
      await p.stop();
    }
  });

  test('SIGTERM exits cleanly', async () => {
    const p = await startPlugin();
    p.proc.kill('SIGTERM');
    const ex = await Promise.race([p.exited, sleep(3000).then(() => null)]);
    assert.ok(ex);
    assert.equal(ex.code, 0);
  });
});

describe('services against fake agents', () => {
  let p: PluginProcess;
  let a: FakeAgent;
  let b: FakeAgent;
  const token = 's3cret-token-value';
  let settings: { jsonData: Record<string, unknown>; secure: Record<string, string> };

  before(async () => {
    a = await startFakeAgent({ token, scale: 1, pod: 'cart-1' });
    b = await startFakeAgent({ token, scale: 2, pod: 'cart-2' });
    settings = { jsonData: { agentUrls: [a.url, b.url], timeoutSeconds: 2 }, secure: { agentToken: token } };
    p = await startPlugin({ env: { ...GRAFANA_ENV, GF_PLUGIN_LOG_LEVEL: 'debug' } });
  });
  after(async () => {
    await p.stop();
    await a.close();
    await b.close();
    assert.ok(!p.stderr().includes(token), 'the token must never be logged');
  });

  test('CheckHealth: OK with the agents, pods and events lost; jsonDetails an object per agent', async () => {
    const h = await checkHealth(p, settings);
    assert.equal(h.status, 'OK');
    assert.equal(h.message, '2 of 2 agents answered (pods traced: 2, events lost: 2)');
    assert.equal(h.details.agents.length, 2);
    assert.equal(h.details.agents[0].ok, true);
    assert.equal(a.requests.at(-1)?.auth, `Bearer ${token}`);
  });

  test('categories: timeseries-multi frames, ns times, Float64 values with labels, series of both agents summed', async () => {
    const r = (await query(p, queryRequest(settings, [{ refId: 'A', model: { queryType: 'categories' }, ...range() }])))
      .A;
    assert.equal(r.status, 200, r.error);
    assert.equal(r.frames.length, 2);
    for (const f of r.frames) {
      assert.equal(f.name, 'offcpu');
      assert.equal(f.refId, 'A');
      assert.equal(f.meta?.type, 'timeseries-multi');
      assert.deepEqual(f.meta?.typeVersion, [0, 1]);
      assert.equal(f.fields.length, 2);
      const [t, v] = f.fields;
      assert.equal(t.name, 'time');
      assert.equal(t.typeId, Type.Timestamp);
      assert.equal(t.unit, TimeUnit.NANOSECOND);
      assert.equal(t.nullable, false);
      assert.equal(v.typeId, Type.Float);
      const ns = nsValues(t);
      assert.ok(ns.length > 300);
      for (let i = 1; i < ns.length; i++) {
        assert.ok(ns[i] > ns[i - 1], 'times ascend');
      }
      assert.ok(ns[0] > 1_600_000_000_000_000_000n, 'times are nanoseconds since the epoch');
      assert.equal(ns[0] % 1_000_000n, 0n);
    }
    const eventfd = r.frames.find((f) => f.fields[1].labels?.category === 'ipc.eventfd')!;
    assert.deepEqual(eventfd.fields[1].labels, { category: 'ipc.eventfd' });
    assert.equal(eventfd.fields[1].config?.color?.fixedColor, 'green');
    // 0.5 from the first agent, 1.0 from the second (scale 2).
    assert.ok(eventfd.fields[1].values.every((x) => Math.abs((x as number) - 1.5) < 1e-9));
    assert.match(eventfd.meta?.executedQueryString ?? '', /^GET \/api\/v1\/series\?/);
  });

  test('preemption: the ratio from summed parts, never averaged; labels namespace, workload, pod; throttled beside it', async () => {
    const r = (
      await query(
        p,
        queryRequest(settings, [
          { refId: 'P', model: { queryType: 'preemption', groupBy: 'workload', throttled: true }, ...range() },
        ])
      )
    ).P;
    assert.equal(r.status, 200, r.error);
    const ratio = r.frames.find((f) => f.fields[1].name === 'preemption_ratio')!;
    assert.deepEqual(ratio.fields[1].labels, { namespace: 'shop', workload: 'cart' });
    // preempted 0.1+0.2, on CPU 0.3+0.6: 0.3 / 1.2 = 0.25 (both agents have ratio 0.25; a workload of two equal halves).
    assert.ok(ratio.fields[1].values.every((x) => Math.abs((x as number) - 0.25) < 1e-9));
    const thr = r.frames.find((f) => f.fields[1].name === 'throttled')!;
    // Two pods (one per agent) summed into the workload: 0.05 + 0.10.
    assert.ok(thr.fields[1].values.every((x) => Math.abs((x as number) - 0.15) < 1e-9));
    const byPod = (
      await query(
        p,
        queryRequest(settings, [{ refId: 'Q', model: { queryType: 'preemption', ratio: 'count' }, ...range() }])
      )
    ).Q;
    assert.equal(byPod.frames.length, 2);
    assert.deepEqual(
      byPod.frames.map((f) => f.fields[1].labels),
      [
        { namespace: 'shop', workload: 'cart', pod: 'cart-1' },
        { namespace: 'shop', workload: 'cart', pod: 'cart-2' },
      ]
    );
    assert.equal(byPod.frames[0].fields[1].name, 'preemption_count_ratio');
    assert.ok(byPod.frames[0].fields[1].values.every((x) => Math.abs((x as number) - 0.1) < 1e-9));
  });

  test('alert-shaped request: FromAlert headers, intervalMs 1000, maxDataPoints 43200, several queries: the same frames', async () => {
    const req = queryRequest(
      settings,
      [
        { refId: 'A', model: { queryType: 'preemption' }, ...range(), maxDataPoints: 43200, intervalMs: 1000 },
        {
          refId: 'B',
          model: { queryType: 'categories', metric: 'wakeups' },
          ...range(),
          maxDataPoints: 43200,
          intervalMs: 1000,
        },
      ],
      { FromAlert: 'true', 'X-Cache-Skip': 'true', 'X-Rule-Uid': 'abc' }
    );
    const r = await query(p, req);
    for (const refId of ['A', 'B']) {
      assert.equal(r[refId].status, 200);
      assert.ok(r[refId].frames.length > 0);
      for (const f of r[refId].frames) {
        // Grafana's dataplane reader: meta.type with a non-zero typeVersion, one time + one Float64 number field.
        assert.equal(f.meta?.type, 'timeseries-multi');
        assert.ok(f.meta?.typeVersion[0] > 0 || f.meta?.typeVersion[1] > 0);
        assert.deepEqual(
          f.fields.map((x) => x.typeId),
          [Type.Timestamp, Type.Float]
        );
        assert.ok(!f.fields.some((x) => x.typeId === Type.Utf8 || x.typeId === Type.Bool), 'no string or bool field');
      }
    }
  });

  test('chains: the table with every field, then nodes and edges for the Node Graph; merged top N exact', async () => {
    const r = (
      await query(p, queryRequest(settings, [{ refId: 'C', model: { queryType: 'chains', limit: 5 }, ...range() }]))
    ).C;
    assert.equal(r.status, 200, r.error);
    assert.deepEqual(
      r.frames.map((f) => f.name),
      ['chains', 'nodes', 'edges']
    );
    const t = r.frames[0];
    assert.equal(t.field('id').values.length, 5);
    // Agent b (scale 2) has the five heaviest edges.
    assert.deepEqual(t.field('node').values, Array(5).fill(b.name));
    const off = t.field('offcpu').values as number[];
    assert.deepEqual(
      off,
      [...off].sort((x, y) => y - x)
    );
    assert.equal(off[0], 1.998);
    assert.equal(t.field('count').typeId, Type.Int);
    assert.equal(t.field('waker_stack').values[0], 'eventfd_write\nksys_write\nEnvoy::Event::DispatcherImpl::post');
    assert.equal(JSON.parse(t.field('explanation').values[0] as string).category.rule, 'eventfd-write');
    assert.equal(t.field('first_seen').typeId, Type.Timestamp);
    assert.equal(t.field('first_seen').unit, TimeUnit.NANOSECOND);
    assert.equal(t.meta?.custom?.matched, 12);
    const nodes = r.frames[1];
    assert.equal(nodes.meta?.preferredVisualisationType, 'nodeGraph');
    const arc = nodes.fields.filter((f) => f.name.startsWith('arc__'));
    assert.deepEqual(
      arc.map((f) => f.name),
      ['arc__net.tcp.data', 'arc__ipc.eventfd']
    );
    assert.equal(arc[1].config?.color?.fixedColor, 'green');
    const edges = r.frames[2];
    for (const name of ['id', 'source', 'target', 'mainstat', 'secondarystat', 'detail__category', 'color']) {
      assert.ok(edges.field(name));
    }
    const ids = new Set(nodes.field('id').values);
    for (const s of [...edges.field('source').values, ...edges.field('target').values]) {
      assert.ok(ids.has(s), `edge end ${s} is a node`);
    }
  });

  test('flamegraph: nested-set rows, root total, -- between target and waker stacks', async () => {
    const r = (await query(p, queryRequest(settings, [{ refId: 'F', model: { queryType: 'flamegraph' }, ...range() }])))
      .F;
    assert.equal(r.status, 200, r.error);
    const f = r.frames[0];
    assert.equal(f.meta?.preferredVisualisationType, 'flamegraph');
    assert.deepEqual(
      f.fields.map((x) => x.name),
      ['level', 'value', 'self', 'label']
    );
    const level = f.field('level').values.map(Number);
    const label = f.field('label').values as string[];
    assert.equal(level[0], 0);
    assert.equal(label[0], 'total');
    assert.ok(label.includes('--'));
    const value = f.field('value').values as number[];
    const off = 6 * 1 - 0.021 + (6 * 2 - 0.042);
    assert.ok(Math.abs(value[0] - off) < 1e-6, `total ${value[0]} = the off-CPU seconds of all 12 edges`);
  });

  test('targets: one row per process per agent', async () => {
    const r = (
      await query(
        p,
        queryRequest(settings, [{ refId: 'T', model: { queryType: 'targets', pod: 'cart-2' }, ...range() }])
      )
    ).T;
    assert.equal(r.status, 200, r.error);
    assert.equal(r.frames[0].name, 'targets');
    assert.deepEqual(r.frames[0].field('node').values, [b.name]);
    assert.equal(r.frames[0].field('alive').typeId, Type.Bool);
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
    queries.push({ refId: 'INV', model: { queryType: 'targets' }, fromMs: now(), toMs: now() - HOUR });
    const r = await query(p, queryRequest(settings, queries));
    cases.forEach(([, re], i) => {
      assert.equal(r[`E${i}`].status, 400, `E${i}`);
      assert.match(r[`E${i}`].error, re);
      assert.equal(r[`E${i}`].frames.length, 0);
    });
    assert.equal(r.INV.status, 400);
    assert.match(r.INV.error, /time range is empty or inverted/);
    assert.equal(r.OK.status, 200);
  });

  test('resources: every path, filters, 404 and 400 as JSON, always one message', async () => {
    const ns = await callResource(p, settings, 'namespaces');
    assert.equal(ns.code, 200);
    assert.deepEqual(ns.body, { values: ['shop'], warnings: [] });
    assert.deepEqual(ns.headers['Content-Type'], ['application/json']);
    assert.deepEqual((await callResource(p, settings, 'pods?namespace=shop&workload=cart')).body.values, [
      'cart-1',
      'cart-2',
    ]);
    assert.deepEqual((await callResource(p, settings, 'pods?namespace=other')).body.values, []);
    assert.deepEqual((await callResource(p, settings, 'workloads?namespace=shop')).body.values, ['cart']);
    assert.deepEqual((await callResource(p, settings, 'categories')).body.values, ['ipc.eventfd', 'net.tcp.data']);
    assert.deepEqual((await callResource(p, settings, 'activities')).body.values, ['envoy.dispatcher_post', 'none']);
    assert.deepEqual((await callResource(p, settings, 'roles')).body.values, ['worker']);
    assert.deepEqual((await callResource(p, settings, 'threads?pod=cart-1')).body.values, ['wrk:worker_0']);
    const t = await callResource(p, settings, 'targets');
    assert.equal(t.body.targets.length, 2);
    const missing = await callResource(p, settings, 'nope');
    assert.equal(missing.code, 404);
    assert.match(missing.body.error, /Unknown resource 'nope'/);
    const bad = await callResource(p, settings, 'pods?color=red');
    assert.equal(bad.code, 400);
    assert.match(bad.body.error, /Parameter color is not taken by pods/);
    assert.equal((await callResource(p, settings, 'pods', 'POST')).code, 405);
    assert.equal(missing.messages, 1);
  });

  test('CollectMetrics: Prometheus text with queries and per-agent requests', async () => {
    const text = await collectMetrics(p);
    assert.match(text, /^wakeflow_backend_queries_total\{query_type="categories",outcome="ok"\} \d+$/m);
    assert.match(text, new RegExp(`wakeflow_backend_agent_requests_total\\{agent="${a.name}",outcome="ok"\\} \\d+`));
    assert.match(text, /wakeflow_backend_agent_request_duration_seconds_bucket\{agent="[^"]+",le="\+Inf"\} \d+/);
    assert.match(text, /^process_resident_memory_bytes \d+$/m);
  });
});

describe('faults (fake agents)', () => {
  let p: PluginProcess;
  const fakes: FakeAgent[] = [];
  before(async () => {
    p = await startPlugin();
  });
  after(async () => {
    await p.stop();
    await Promise.all(fakes.map((f) => f.close()));
  });
  const fake = async (o: Parameters<typeof startFakeAgent>[0]) => {
    const f = await startFakeAgent(o);
    fakes.push(f);
    return f;
  };
  let uid = 0;
  const ds = (jsonData: Record<string, unknown>, secure: Record<string, string> = {}) => ({
    jsonData,
    secure,
    uid: `fault-${++uid}`,
  });

  test('one of three failing: a warning notice naming it, the other two answer', async () => {
    const good1 = await fake({});
    const good2 = await fake({ scale: 2 });
    const bad = await fake({ behaviour: 'error500' });
    const s = ds({ agentUrls: [good1.url, bad.url, good2.url] });
    const r = (await query(p, queryRequest(s, [{ refId: 'A', model: { queryType: 'categories' }, ...range() }]))).A;
    assert.equal(r.status, 200);
    const notices = r.frames[0].meta?.notices;
    assert.equal(notices.length, 1);
    assert.equal(notices[0].severity, 'warning');
    assert.equal(notices[0].text, `agent ${bad.name} failed (500): store: database disk image is malformed`);
    assert.ok(r.frames[0].fields[1].values.every((x) => Math.abs((x as number) - 1.5) < 1e-9));
    const h = await checkHealth(p, s);
    assert.equal(h.status, 'ERROR');
    assert.match(h.message, new RegExp(`^1 of 3 agents did not answer: agent ${bad.name} failed \\(500\\)`));
    assert.equal(h.details.agents.filter((x: { ok: boolean }) => !x.ok).length, 1);
  });

  test('chains of depth 3: the chains of an agent that has them, a notice to upgrade one that does not; depth 1 unchanged', async () => {
    const current = await fake({ chains: true, scale: 2 });
    const older = await fake({});
    const s = ds({ agentUrls: [current.url, older.url] });
    const r = (
      await query(p, queryRequest(s, [{ refId: 'D', model: { queryType: 'chains', depth: 3, limit: 3 }, ...range() }]))
    ).D;
    assert.equal(r.status, 200, r.error);
    assert.deepEqual(
      r.frames.map((f) => f.name),
      ['chains', 'nodes', 'edges']
    );
    const t = r.frames[0];
    assert.deepEqual(
      t.field('id').values,
      [3, 2, 1].map((i) => `${current.name}/chain/${i}`)
    );
    assert.deepEqual(
      t.field('chain').values,
      [1, 0, 1].map((w) => `wf-a -[ipc.eventfd]-> wf-b -[ipc.pipe]-> wrk:worker_${w}`)
    );
    assert.deepEqual(t.field('hops').values, [3n, 3n, 3n]);
    assert.equal(t.field('hops').typeId, Type.Int);
    assert.deepEqual(t.field('hop1_proc').values, Array(3).fill('wf-pipeline'));
    assert.deepEqual(t.field('hop2_comm').values, Array(3).fill('wf-a'));
    assert.deepEqual(t.field('hop3_comm').values, ['', '', '']);
    assert.equal(t.field('link2_waker_stack').values[0], 'eventfd_write\nksys_write\nstage_a');
    assert.deepEqual(t.field('category').values, Array(3).fill('ipc.pipe'));
    assert.deepEqual(t.field('offcpu').values, [0.006, 0.004, 0.002]);
    assert.equal(t.meta?.custom?.matched, 4);
    assert.match(t.meta?.executedQueryString, /^GET \/api\/v1\/chains\?.*&depth=3/);
    const notices = t.meta?.notices as Array<{ severity: string; text: string }>;
    assert.deepEqual(notices, [
      {
        severity: 'warning',
        text: `agent ${older.name} has no /api/v1/chains (HTTP 404): it predates multi-hop chains; upgrade the agent, or use depth 1`,
      },
    ]);
    const edges = r.frames[2];
    // Three chains, no link shared (each has its own wf-a and wf-b threads): six Node Graph edges.
    assert.deepEqual(edges.field('detail__category').values.slice().sort(), [
      ...Array(3).fill('ipc.eventfd'),
      ...Array(3).fill('ipc.pipe'),
    ]);
    // Depth 2: each chain cut to its last two links by the agent.
    const d2 = (
      await query(p, queryRequest(s, [{ refId: 'E', model: { queryType: 'chains', depth: 2, limit: 1 }, ...range() }]))
    ).E;
    assert.deepEqual(d2.frames[0].fields.filter((f) => /^hop\d/.test(f.name)).length, 10);
    // Depth 1 asks /api/v1/edges of both, as before chains: no notice.
    const one = (
      await query(p, queryRequest(s, [{ refId: 'F', model: { queryType: 'chains', depth: 1 }, ...range() }]))
    ).F;
    assert.equal(one.status, 200, one.error);
    assert.equal(one.frames[0].meta?.notices, undefined);
    assert.equal(new Set(one.frames[0].field('node').values).size, 2);
    assert.equal(
      one.frames[0].fields.find((f) => f.name === 'hops'),
      undefined
    );
    // Only older agents: the query fails, saying what to do.
    const old = (
      await query(
        p,
        queryRequest(ds({ agentUrls: [older.url] }), [
          { refId: 'G', model: { queryType: 'chains', depth: 3 }, ...range() },
        ])
      )
    ).G;
    assert.notEqual(old.status, 200);
    assert.match(old.error, /upgrade the agent, or use depth 1/);
  });

  test('agent down, slow past the timeout, garbage JSON, HTML, too large, connection closed: one sentence each', async () => {
    const down = await fake({});
    const downUrl = down.url;
    await down.close();
    fakes.splice(fakes.indexOf(down), 1);
    const slow = await fake({ behaviour: 'hang' });
    const garbage = await fake({ behaviour: 'garbage' });
    const html = await fake({ behaviour: 'html' });
    const huge = await fake({ behaviour: 'huge' });
    const closer = await fake({ behaviour: 'close' });
    // 64 MiB must arrive before the deadline even on a loaded machine: that case gets 20 s.
    const cases: Array<[string, RegExp, number?]> = [
      [downUrl, /refused the connection: is wakeflow-agent serve running/],
      [slow.url, /did not answer within 1 s/],
      [garbage.url, /not a wakeflow agent's JSON/],
      [html.url, /not a wakeflow agent's JSON/],
      [huge.url, /answered more than 64 MiB/, 20],
      [closer.url, /closed the connection/],
    ];
    for (const [url, re, timeoutSeconds = 1] of cases) {
      const s = ds({ agentUrls: [url], timeoutSeconds });
      const t0 = Date.now();
      const r = (await query(p, queryRequest(s, [{ refId: 'A', model: { queryType: 'chains' }, ...range() }]))).A;
      assert.equal(r.status, 502, url);
      assert.equal(r.errorSource, 'downstream');
      assert.match(r.error, /^The agent did not answer: agent /);
      assert.match(r.error, re);
      assert.ok(Date.now() - t0 < timeoutSeconds * 1000 + 4000, 'bounded by the timeout');
      const h = await checkHealth(p, s);
      assert.equal(h.status, 'ERROR');
      assert.match(h.message, re);
    }
    // Every answer reader meets the garbage: series (categories, preemption), edges (flamegraph), targets.
    const others = ['categories', 'preemption', 'flamegraph', 'targets'];
    for (const url of [garbage.url, html.url]) {
      const s = ds({ agentUrls: [url], timeoutSeconds: 1 });
      const r = await query(
        p,
        queryRequest(
          s,
          others.map((queryType) => ({ refId: queryType, model: { queryType }, ...range() }))
        )
      );
      for (const t of others) {
        assert.equal(r[t].status, 502, `${t} from ${url}`);
        assert.match(r[t].error, /not a wakeflow agent's JSON/, t);
      }
    }
    // Still alive and serving after all of it.
    assert.equal((await unaryCall<{ status: string }>(p.health, 'Check', { service: 'plugin' })).status, 'SERVING');
  });

  test('401: the wrong token is named, not logged', async () => {
    const f = await fake({ token: 'right' });
    const s = ds({ agentUrls: [f.url] }, { agentToken: 'wrong-token-xyz' });
    const h = await checkHealth(p, s);
    assert.equal(h.status, 'ERROR');
    assert.match(h.message, /refused the token \(401\)/);
    assert.ok(!p.stderr().includes('wrong-token-xyz'));
  });

  test('DNS name with no records; DNS discovery of localhost reaches an agent over IPv4 and IPv6', async () => {
    const s = ds({ discovery: 'dns', dnsName: 'no-such-agent.invalid', agentPort: 9781 });
    const h = await checkHealth(p, s);
    assert.equal(h.status, 'ERROR');
    assert.match(h.message, /DNS name no-such-agent\.invalid has no A or AAAA records/);
    const r = (await query(p, queryRequest(s, [{ refId: 'A', model: { queryType: 'targets' }, ...range() }]))).A;
    assert.equal(r.status, 502);
    assert.match(r.error, /no A or AAAA records/);

    const f = await fake({ host: '::' });
    const port = Number(new URL(f.url).port);
    const h2 = await checkHealth(p, ds({ discovery: 'dns', dnsName: 'localhost', agentPort: port }));
    assert.equal(h2.status, 'OK', h2.message);
    assert.match(h2.message, /^\d of \d agents? answered/);
  });

  test('bad settings: CheckHealth names the field, every query is a 400 with the same sentence', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{}, /Setting agentUrls is empty/],
      [{ agentUrls: ['not a url'] }, /Setting agentUrls\[0\] 'not a url' is not a URL/],
      [{ agentUrls: ['http://127.0.0.1:70000'] }, /Setting agentUrls\[0\] .* has port 70000, out of range/],
      [{ agentUrl: 'ftp://x' }, /Setting agentUrl 'ftp:\/\/x' must start with http/],
      [{ discovery: 'dns' }, /Setting dnsName is empty/],
      [{ discovery: 'dns', dnsName: 'a.b', agentPort: 0 }, /Setting agentPort 0 is out of range/],
      [{ agentUrls: ['http://a:1'], timeoutSeconds: 'soon' }, /Setting timeoutSeconds must be a number/],
    ];
    for (const [jsonData, re] of cases) {
      const s = ds(jsonData);
      const h = await checkHealth(p, s);
      assert.equal(h.status, 'ERROR');
      assert.match(h.message, re);
      const r = (await query(p, queryRequest(s, [{ refId: 'A', model: { queryType: 'chains' }, ...range() }]))).A;
      assert.equal(r.status, 400);
      assert.equal(r.error, h.message);
    }
  });

  test('settings are rebuilt when lastUpdatedMS changes', async () => {
    const f = await fake({});
    const s = { jsonData: {}, uid: 'changing', lastUpdatedMS: 1 };
    assert.equal((await checkHealth(p, s)).status, 'ERROR');
    assert.equal(
      (await checkHealth(p, { ...s, jsonData: { agentUrls: [f.url] } })).status,
      'ERROR',
      'same version: cached'
    );
    assert.equal((await checkHealth(p, { ...s, jsonData: { agentUrls: [f.url] }, lastUpdatedMS: 2 })).status, 'OK');
  });
});
