// SPDX-License-Identifier: Apache-2.0
/*
 * The built backend executable under a Grafana-like host (tests/backend/
 * grafana-host.ts): the launch environment, the handshake, signals, and the
 * agent faults, against FAKE agents (tests/backend/fake-agent.ts) only for
 * faults a real agent cannot produce on demand (garbage, HTML, too large, a
 * hang, an agent from before chains, a wrong token). Every service, frame,
 * resource, the alert path, bad queries and CollectMetrics are tested against
 * real agent daemons: backend-e2e.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { Type } from '@uwdata/flechette';

import {
  GRAFANA_ENV,
  PluginProcess,
  backendExe,
  checkHealth,
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
