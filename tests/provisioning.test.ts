// SPDX-License-Identifier: Apache-2.0
/*
 * provisioning/ and the local stack's configs, checked without Grafana,
 * Docker, Envoy or Prometheus:
 * - the "Envoy wakeups" dashboard JSON is what envoy-wakeups.ts (typed
 *   against @grafana/schema's Dashboard) writes; every panel's plugin and
 *   every data source is in this repository or in Grafana core; every
 *   wakeflow query is one the frontend's model keeps as written; the
 *   variables chain as the Istio dashboards' do;
 * - the alert rule file has the structure Grafana's file provisioning
 *   reads, its query is a time-series query (the backend's alertable
 *   frames: the browser suite runs it through the real backend), and its
 *   annotations point at the dashboard's preemption panel;
 * - the Envoy and Prometheus configs agree with the compose file.
 * Run: node --import tsx --test tests/provisioning.test.ts
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

import { parse as parseYaml } from 'yaml';

import { normalizeQuery } from '../src/datasource/query';
import type { StoredQuery } from '../src/datasource/types';
import { QUERY_TYPES } from '../src/shared/query';
import { DASHBOARD_UID, dashboard } from '../provisioning/dashboards/envoy-wakeups';

const ROOT = path.resolve(import.meta.dirname, '..');
const PROV = path.join(ROOT, 'provisioning');
type Json = Record<string, any>;
const yaml = (file: string) => parseYaml(readFileSync(path.join(ROOT, file), 'utf8')) as Json;
const json = (file: string) => JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as Json;

/** Panel plugins Grafana ships (public/app/plugins/panel) that the dashboard may use. */
const CORE_PANELS = new Set([
  'row',
  'timeseries',
  'nodeGraph',
  'flamegraph',
  'table',
  'stat',
  'text',
  'barchart',
  'bargauge',
  'gauge',
  'piechart',
  'heatmap',
]);
const CORE_DATASOURCES = new Set(['prometheus', 'datasource', '__expr__']);
const ourPlugins = () =>
  ['src/plugin.json', 'src/datasource/plugin.json', 'src/panel/plugin.json'].map(
    (f) => json(f) as { id: string; type: string }
  );

describe('the "Envoy wakeups" dashboard', () => {
  const file = json('provisioning/dashboards/envoy-wakeups.json');
  const panels = file.panels as Json[];

  test('the JSON is what envoy-wakeups.ts writes (node --import tsx provisioning/dashboards/envoy-wakeups.ts)', () => {
    assert.deepEqual(file, JSON.parse(JSON.stringify(dashboard)));
    assert.equal(file.uid, DASHBOARD_UID);
    assert.equal(file.title, 'Envoy wakeups');
  });

  test('every panel is a plugin of this repository or of Grafana core, with a data source that exists', () => {
    const ours = ourPlugins();
    const panelIds = new Set(ours.filter((p) => p.type === 'panel').map((p) => p.id));
    const dsTypes = new Set(ours.filter((p) => p.type === 'datasource').map((p) => p.id));
    for (const p of panels) {
      assert.ok(CORE_PANELS.has(p.type) || panelIds.has(p.type), `panel "${p.title}": unknown plugin ${p.type}`);
      if (p.type === 'row') {
        continue;
      }
      for (const ref of [p.datasource, ...(p.targets ?? []).map((t: Json) => t.datasource)]) {
        assert.ok(ref, `panel "${p.title}" names its data source`);
        assert.ok(
          dsTypes.has(ref.type) || CORE_DATASOURCES.has(ref.type),
          `panel "${p.title}": unknown data source ${ref.type}`
        );
        const variable = /^\$\{(\w+)\}$/.exec(ref.uid)?.[1];
        assert.ok(variable, `panel "${p.title}" takes its data source from a variable`);
        const v = (file.templating.list as Json[]).find((x) => x.name === variable);
        assert.equal(v?.type, 'datasource');
        assert.equal(v?.query, ref.type, `variable ${variable} lists ${ref.type} data sources`);
      }
    }
    const types = panels.map((p) => p.type);
    for (const needed of ['wakeflow-chains-panel', 'timeseries', 'nodeGraph', 'flamegraph', 'table']) {
      assert.ok(types.includes(needed), `a ${needed} panel`);
    }
  });

  test('every wakeflow query is one the query model keeps as written, filtered by the Istio variables', () => {
    const used = new Set<string>();
    for (const p of panels) {
      for (const t of (p.targets ?? []) as Json[]) {
        if (t.datasource.type !== 'wakeflow-offwake-datasource') {
          continue;
        }
        assert.ok(
          (QUERY_TYPES as readonly string[]).includes(t.queryType),
          `panel "${p.title}": query type ${t.queryType}`
        );
        const { datasource, ...model } = t;
        assert.deepEqual(
          normalizeQuery(t as StoredQuery),
          { ...model, datasource },
          `panel "${p.title}": the model changes its query`
        );
        assert.deepEqual([t.namespace, t.workload, t.pod], [['$namespace'], ['$workload'], ['$pod']]);
        used.add(t.queryType);
      }
    }
    for (const q of ['chains', 'categories', 'preemption', 'flamegraph']) {
      assert.ok(used.has(q), `a ${q} query`);
    }
  });

  test('namespace, workload and pod are chained query variables of the data source, multi-value with All', () => {
    const list = file.templating.list as Json[];
    assert.deepEqual(
      list.map((v) => v.name),
      ['ds', 'prometheus', 'namespace', 'workload', 'pod']
    );
    const q = (name: string) => list.find((v) => v.name === name)!;
    assert.deepEqual(q('namespace').query, { refId: 'variable', resource: 'namespaces' });
    assert.deepEqual(q('workload').query, { refId: 'variable', resource: 'workloads', namespace: ['$namespace'] });
    assert.deepEqual(q('pod').query, {
      refId: 'variable',
      resource: 'pods',
      namespace: ['$namespace'],
      workload: ['$workload'],
    });
    for (const name of ['namespace', 'workload', 'pod']) {
      assert.equal(q(name).multi, true);
      assert.equal(q(name).includeAll, true);
      // No custom "All" value: All must reach the data source as $__all, which it sends as no filter.
      assert.equal(q(name).allValue, undefined);
    }
  });

  test('panels do not overlap on the grid', () => {
    const cells = new Set<string>();
    for (const p of panels) {
      const { x, y, w, h } = p.gridPos;
      assert.ok(x >= 0 && x + w <= 24, `panel "${p.title}" fits the 24 columns`);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          const key = `${i},${j}`;
          assert.ok(!cells.has(key), `panel "${p.title}" overlaps another at ${key}`);
          cells.add(key);
        }
      }
    }
  });

  test('the dashboard provider reads the folder the file is in', () => {
    const providers = yaml('provisioning/dashboards/dashboards.yml').providers as Json[];
    assert.equal(providers.length, 1);
    assert.equal(providers[0].options.path, '/etc/grafana/provisioning/dashboards');
    assert.ok(readdirSync(path.join(PROV, 'dashboards')).includes('envoy-wakeups.json'));
  });
});

describe('the alert rule "Envoy preemption ratio high"', () => {
  const groups = yaml('provisioning/alerting/envoy-preemption.yml').groups as Json[];
  const rule = groups[0].rules[0] as Json;

  test('has what Grafana’s alerting file provisioning requires', () => {
    assert.equal(yaml('provisioning/alerting/envoy-preemption.yml').apiVersion, 1);
    assert.equal(groups.length, 1);
    for (const key of ['orgId', 'name', 'folder', 'interval']) {
      assert.ok(groups[0][key], `group ${key}`);
    }
    assert.match(groups[0].interval, /^\d+[sm]$/);
    for (const key of ['uid', 'title', 'condition', 'data', 'for', 'noDataState', 'execErrState']) {
      assert.ok(rule[key] !== undefined, `rule ${key}`);
    }
    assert.equal(rule.title, 'Envoy preemption ratio high');
    assert.ok(rule.uid.length <= 40, 'a rule uid is at most 40 characters');
    assert.ok(['OK', 'NoData', 'Alerting', 'KeepLast'].includes(rule.noDataState));
    assert.ok(['OK', 'Error', 'Alerting', 'KeepLast'].includes(rule.execErrState));
    const refs = (rule.data as Json[]).map((d) => d.refId);
    assert.ok(refs.includes(rule.condition), 'the condition is one of the queries');
    for (const d of rule.data as Json[]) {
      assert.equal(d.model.refId, d.refId);
    }
  });

  test('A is a preemption query on the provisioned wakeflow data source; B reduces it, C thresholds B', () => {
    const [a, b, c] = rule.data as Json[];
    const wakeflow = (yaml('provisioning/datasources/datasources.yml').datasources as Json[]).find(
      (d) => d.type === 'wakeflow-offwake-datasource'
    )!;
    assert.equal(a.datasourceUid, wakeflow.uid);
    assert.ok(a.relativeTimeRange.from > 0 && a.relativeTimeRange.to === 0);
    const { intervalMs, maxDataPoints, ...model } = a.model;
    assert.deepEqual(normalizeQuery(model as StoredQuery), model, 'the query model keeps the query as written');
    assert.equal(model.queryType, 'preemption', 'a time-series query, the frames Grafana Alerting reduces');
    assert.deepEqual([intervalMs, maxDataPoints], [1000, 43200], "what Grafana's alert engine sends");
    assert.deepEqual([b.datasourceUid, b.model.type, b.model.expression], ['__expr__', 'reduce', 'A']);
    assert.deepEqual([c.datasourceUid, c.model.type, c.model.expression], ['__expr__', 'threshold', 'B']);
    assert.equal(c.model.conditions[0].evaluator.type, 'gt');
    assert.equal(c.model.conditions[0].evaluator.params[0], 0.2);
  });

  test('labels and annotations point to the dashboard’s preemption panel', () => {
    assert.ok(rule.labels.severity);
    assert.match(rule.annotations.summary, /\$labels\.pod/);
    assert.equal(rule.annotations.__dashboardUid__, DASHBOARD_UID);
    const p = (json('provisioning/dashboards/envoy-wakeups.json').panels as Json[]).find(
      (x) => String(x.id) === rule.annotations.__panelId__
    );
    assert.ok(p, 'the panel exists');
    assert.equal(p.targets[0].queryType, 'preemption');
  });
});

describe('the local stack: Grafana, Envoy, Prometheus', () => {
  const compose = yaml('docker-compose.yaml');
  const s = compose.services as Json;

  test('Grafana is a pinned -ubuntu image with the plugin and provisioning mounted', () => {
    assert.match(s.grafana.image, /^grafana\/grafana:\$\{GRAFANA_VERSION:-\d+\.\d+\.\d+\}-ubuntu$/);
    assert.ok(s.grafana.volumes.includes('./dist:/var/lib/grafana/plugins/wakeflow-offwake-app:ro'));
    assert.ok(s.grafana.volumes.includes('./provisioning:/etc/grafana/provisioning:ro'));
    const allowed = String(s.grafana.environment.GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS).split(',');
    for (const p of ourPlugins()) {
      assert.ok(allowed.includes(p.id), `${p.id} may load unsigned`);
    }
    const apps = yaml('provisioning/plugins/apps.yml').apps as Json[];
    assert.deepEqual(
      apps.map((a) => [a.type, a.disabled]),
      [['wakeflow-offwake-app', false]]
    );
  });

  test('the data sources point at compose services', () => {
    const dss = yaml('provisioning/datasources/datasources.yml').datasources as Json[];
    const prom = dss.find((d) => d.type === 'prometheus')!;
    assert.equal(prom.uid, 'prometheus');
    assert.ok(s[new URL(prom.url).hostname], `${prom.url} is a compose service`);
  });

  test('Envoy: a listener proxying to the upstream service, admin for Prometheus, dispatcher stats on', () => {
    assert.match(s.envoy.image, /^envoyproxy\/envoy:\$\{ENVOY_VERSION:-v\d+\.\d+\.\d+\}$/);
    const mount = (s.envoy.volumes as string[]).find((v) => v.endsWith(':/etc/envoy/envoy.yaml:ro'))!;
    const envoy = yaml(mount.split(':')[0]);
    assert.ok(s.envoy.command.includes('/etc/envoy/envoy.yaml'));
    assert.equal(envoy.enable_dispatcher_stats, true);
    const listener = envoy.static_resources.listeners[0];
    assert.equal(listener.address.socket_address.port_value, 10000);
    const hcm = listener.filter_chains[0].filters[0];
    assert.equal(hcm.name, 'envoy.filters.network.http_connection_manager');
    const route = hcm.typed_config.route_config.virtual_hosts[0].routes[0].route;
    const cluster = (envoy.static_resources.clusters as Json[]).find((c) => c.name === route.cluster)!;
    assert.ok(cluster, `cluster ${route.cluster} exists`);
    const addr = cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
    assert.ok(s[addr.address], `the upstream ${addr.address} is a compose service`);
    assert.ok(
      hcm.typed_config.http_filters.some((f: Json) => f.name === 'envoy.filters.http.router'),
      'the router filter terminates the chain'
    );
    assert.equal(envoy.admin.address.socket_address.port_value, 9901);
    assert.ok(
      String(s.loadgen.command).includes(`http://envoy:${listener.address.socket_address.port_value}/`),
      'the load generator targets the listener'
    );
  });

  test('Prometheus scrapes Envoy’s admin stats and the agent with its token', () => {
    const mount = (s.prometheus.volumes as string[]).find((v) => v.endsWith(':/etc/prometheus/prometheus.yml:ro'))!;
    const prom = yaml(mount.split(':')[0]);
    const jobs = Object.fromEntries((prom.scrape_configs as Json[]).map((j) => [j.job_name, j]));
    assert.equal(jobs.envoy.metrics_path, '/stats/prometheus');
    assert.deepEqual(jobs.envoy.static_configs[0].targets, ['envoy:9901']);
    assert.deepEqual(jobs['wakeflow-agent'].static_configs[0].targets, ['agent:9781']);
    const agentListen = (s.agent.command as string[]).find((a) => a.startsWith('--listen='));
    assert.equal(agentListen, '--listen=0.0.0.0:9781');
    const secret = path.posix.basename(jobs['wakeflow-agent'].authorization.credentials_file);
    assert.ok(s.prometheus.secrets.includes(secret), 'the token file is a compose secret of the Prometheus service');
    assert.equal(jobs['wakeflow-agent'].authorization.type, 'Bearer');
  });
});
