// SPDX-License-Identifier: Apache-2.0
/*
 * The provisioned dashboard's PromQL, run for real: a real agent daemon
 * (real BPF) traces CPU spinners that preempt each other; Debian's
 * Prometheus scrapes its /metrics with the local stack's own scrape config
 * (deploy/compose/prometheus.yml: the bearer token from a file), with only
 * the addresses, the token file's path and the interval changed; then every
 * Prometheus query of "Envoy wakeups", its variables replaced the way
 * Grafana replaces them, goes through /api/v1/query. Each must parse; the
 * wakeflow_* ones must return series (Envoy's own metrics only parse here:
 * no Envoy runs). promtool checks the compose config and the one run here.
 * Loads BPF: run under `flock /tmp/wakeflow-bpf.lock` (npm test does).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  freePort,
  startDaemon,
  startWorkload,
  stopDaemon,
  stopWorkload,
  waitFor,
  type Daemon,
  type Workload,
} from '../agent/tests/lib/serve-daemon';
import { dashboard } from '../provisioning/dashboards/envoy-wakeups';

const ROOT = path.resolve(import.meta.dirname, '..');
const COMPOSE_CONFIG = path.join(ROOT, 'deploy', 'compose', 'prometheus.yml');
const TOKEN = 'promql-token-' + Math.random().toString(36).slice(2);
/** Prometheus's scrape interval here (the compose stack's is 15 s): a few scrapes in a few seconds. */
const SCRAPE_S = 1;

interface PromTarget {
  refId: string;
  expr: string;
  datasource?: { type?: string };
}
interface PromAnswer {
  status: string;
  errorType?: string;
  error?: string;
  data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

/** Every Prometheus query of the dashboard, named by its panel. */
function dashboardPromQueries(): Array<{ panel: string; refId: string; expr: string }> {
  const out: Array<{ panel: string; refId: string; expr: string }> = [];
  for (const p of dashboard.panels ?? []) {
    for (const t of ((p as { targets?: PromTarget[] }).targets ?? []) as PromTarget[]) {
      if (t.datasource?.type === 'prometheus') {
        out.push({ panel: p.title ?? `panel ${p.id}`, refId: t.refId, expr: t.expr });
      }
    }
  }
  return out;
}

/**
 * What Grafana's Prometheus data source sends for an expression: the Istio variables replaced by a regex
 * (`All` as `.*`, a multi-value selection as `(a|b)`), `$__interval` by the panel's step and `$__rate_interval`
 * by max($__interval + scrape interval, 4 × scrape interval), Grafana's rule.
 */
function interpolate(expr: string, vars: Record<string, string>, intervalS: number): string {
  const rateS = Math.max(intervalS + SCRAPE_S, 4 * SCRAPE_S);
  let s = expr.replaceAll('$__rate_interval', `${rateS}s`).replaceAll('$__interval', `${intervalS}s`);
  for (const [name, value] of Object.entries(vars)) {
    s = s.replaceAll(`\${${name}}`, value).replace(new RegExp(`\\$${name}\\b`, 'g'), value);
  }
  // `$1` is label_replace's capture group, not a variable.
  assert.doesNotMatch(s, /\$[A-Za-z_]/, `a variable is left in ${s}`);
  return s;
}

describe('the dashboard’s PromQL on a real Prometheus scraping a real agent', () => {
  let dir: string;
  let spin: Workload;
  let agent: Daemon;
  let prom: ChildProcess | undefined;
  let promLog = '';
  let promUrl: string;
  let promConfig: string;

  const promQuery = async (expr: string): Promise<PromAnswer> => {
    const r = await fetch(`${promUrl}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    return (await r.json()) as PromAnswer;
  };

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'wakeflow-promql-'));
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, TOKEN + '\n');
    chmodSync(tokenFile, 0o600);
    spin = await startWorkload('preempt', ['--cpu', '1']);
    agent = await startDaemon([
      '--db',
      path.join(dir, 'agent.db'),
      '--pid',
      String(spin.pid),
      '--window',
      '1',
      '--token-file',
      tokenFile,
    ]);

    // The compose stack's scrape config, pointed at this machine: the same jobs, paths and authorization.
    const compose = readFileSync(COMPOSE_CONFIG, 'utf8');
    const envoyPort = await freePort(); // nothing listens there: the envoy job's target is down, as expected
    const rewritten = compose
      .replace(/scrape_interval: 15s/, `scrape_interval: ${SCRAPE_S}s`)
      .replace('/run/secrets/wakeflow_agent_token', tokenFile)
      .replace("'agent:9781'", `'${new URL(agent.url).host}'`)
      .replace("'envoy:9901'", `'127.0.0.1:${envoyPort}'`);
    for (const from of ['scrape_interval: 15s', '/run/secrets/wakeflow_agent_token', "'agent:9781'", "'envoy:9901'"]) {
      assert.ok(compose.includes(from), `deploy/compose/prometheus.yml no longer has ${from}: update this test`);
    }
    promConfig = path.join(dir, 'prometheus.yml');
    writeFileSync(promConfig, rewritten);

    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prom = spawn(
      'prometheus',
      [
        `--config.file=${promConfig}`,
        `--storage.tsdb.path=${path.join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] }
    );
    prom.stdout!.on('data', (d) => (promLog += d));
    prom.stderr!.on('data', (d) => (promLog += d));
    prom.on(
      'error',
      (e) => (promLog += `\n${e.message} (is Debian's prometheus installed? scripts/setup installs it)`)
    );

    await waitFor(
      'Prometheus to answer',
      async () => prom!.exitCode === null && (await fetch(`${promUrl}/-/ready`)).status === 200,
      30000
    ).catch((e) => {
      throw new Error(`${(e as Error).message}\n${promLog}`);
    });
    // A few scrapes of the agent with its token, each after a window with the workload in it.
    await waitFor(
      'five successful scrapes of the agent',
      async () => {
        const a = await promQuery('sum_over_time(up{job="wakeflow-agent"}[30s])');
        return Number(a.data?.result[0]?.value[1] ?? 0) >= 5;
      },
      40000
    ).catch(async (e) => {
      const targets = await (await fetch(`${promUrl}/api/v1/targets`)).text();
      throw new Error(`${(e as Error).message}\ntargets: ${targets}\n${promLog}`);
    });
  });

  after(async () => {
    if (prom && prom.exitCode === null && prom.signalCode === null) {
      const exited = new Promise((resolve) => prom!.once('exit', resolve));
      prom.kill('SIGTERM');
      const timer = setTimeout(() => prom!.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(timer);
    }
    if (spin) {
      await stopWorkload(spin);
    }
    if (agent) {
      assert.equal(await stopDaemon(agent), 0, agent.log());
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('promtool: the compose stack’s config is valid, and so is the one run here (its files exist)', () => {
    const compose = spawnSync('promtool', ['check', 'config', '--syntax-only', COMPOSE_CONFIG], { encoding: 'utf8' });
    assert.equal(compose.status, 0, compose.stdout + compose.stderr);
    const here = spawnSync('promtool', ['check', 'config', promConfig], { encoding: 'utf8' });
    assert.equal(here.status, 0, here.stdout + here.stderr);
  });

  test('the agent was scraped with its token, and Envoy’s target (none runs) is the only one down', async () => {
    const t = (await (await fetch(`${promUrl}/api/v1/targets`)).json()) as {
      data: { activeTargets: Array<{ labels: { job: string }; health: string; lastError: string }> };
    };
    const byJob = Object.fromEntries(t.data.activeTargets.map((x) => [x.labels.job, x]));
    assert.equal(byJob['wakeflow-agent']?.health, 'up', JSON.stringify(byJob['wakeflow-agent']));
    assert.equal(
      byJob.envoy?.health,
      'down',
      `the envoy job is scraped too, and fails: ${JSON.stringify(byJob.envoy)}`
    );
  });

  const queries = dashboardPromQueries();

  test('the dashboard has Prometheus queries of both kinds', () => {
    assert.ok(
      queries.some((q) => q.expr.includes('wakeflow_')),
      JSON.stringify(queries)
    );
    assert.ok(
      queries.some((q) => q.expr.includes('envoy_')),
      JSON.stringify(queries)
    );
  });

  // The variables as "All" (Grafana's `.*` for a regex matcher) and as a two-value selection: both must parse.
  const selections: Array<[string, Record<string, string>]> = [
    ['All', { namespace: '.*', workload: '.*', pod: '.*' }],
    [
      'two pods',
      {
        namespace: '(istio\\\\-system|shop)',
        workload: '(cart)',
        pod: '(cart\\\\-7f9c\\\\-abcde|cart\\\\-7f9c\\\\-fghij)',
      },
    ],
  ];
  for (const q of queries) {
    test(`${q.panel} / ${q.refId}: parses${q.expr.includes('wakeflow_') ? ' and returns series' : ''}`, async () => {
      for (const [what, vars] of selections) {
        for (const intervalS of [1, 15]) {
          const expr = interpolate(q.expr, vars, intervalS);
          const a = await promQuery(expr);
          assert.equal(a.status, 'success', `${what}, $__interval=${intervalS}s: ${a.errorType}: ${a.error}\n${expr}`);
        }
      }
      if (!q.expr.includes('wakeflow_')) {
        return;
      }
      const expr = interpolate(q.expr, selections[0][1], 1);
      const a = await promQuery(expr);
      assert.ok(a.data && a.data.result.length > 0, `no series for\n${expr}\n${JSON.stringify(a)}`);
      for (const s of a.data.result) {
        const v = Number(s.value[1]);
        assert.ok(Number.isFinite(v) && v >= 0, `${JSON.stringify(s)} for ${expr}`);
        // The legends' label: outside Kubernetes (no namespace/pod labels) the agent's address, never "/".
        if (q.expr.includes('wakeflow_group')) {
          assert.equal(s.metric.wakeflow_group, new URL(agent.url).host, JSON.stringify(s.metric));
        }
      }
    });
  }

  test('the preemption ratio from the agent’s counters is a ratio, and the spinners were preempted', async () => {
    const q = queries.find((x) => x.expr.includes('wakeflow_preempted_seconds_total'));
    assert.ok(q, 'the dashboard has the PromQL preemption ratio');
    const a = await promQuery(interpolate(q.expr, selections[0][1], 1));
    const v = Number(a.data!.result[0].value[1]);
    assert.ok(v > 0 && v <= 1, `ratio ${v}`);
  });
});
