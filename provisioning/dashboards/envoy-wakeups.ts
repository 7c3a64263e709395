// SPDX-License-Identifier: Apache-2.0
/*
 * The "Envoy wakeups" dashboard, written against @grafana/schema's dashboard
 * types (a wrong field or panel shape is a type error), and written out as
 * envoy-wakeups.json, the file Grafana provisions:
 *
 *   node --import tsx provisioning/dashboards/envoy-wakeups.ts
 *
 * tests/provisioning.test.ts fails when the JSON is not this file's output.
 * Variables are the Istio Workload dashboard's (`namespace`, `workload`) plus
 * `pod`, so its panels can be copied there as they are (docs/grafana.md).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

import {
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
  type Dashboard,
  type DataSourceRef,
  type FieldConfigSource,
  type Panel,
  type RowPanel,
  type VariableModel,
} from '@grafana/schema';

import { normalizeQuery } from '../../src/datasource/query';
import type { WakeflowQueryModel } from '../../src/shared/query';
import { CATEGORIES } from '../../src/shared/taxonomy';

export const DASHBOARD_UID = 'wakeflow-envoy-wakeups';
const WAKEFLOW: DataSourceRef = { type: 'wakeflow-offwake-datasource', uid: '${ds}' };
const PROMETHEUS: DataSourceRef = { type: 'prometheus', uid: '${prometheus}' };
/** Every wakeflow query of the dashboard narrows to the chosen pods (All sends no filter). */
const FILTERS = { namespace: ['$namespace'], workload: ['$workload'], pod: ['$pod'] };

type Q = Partial<WakeflowQueryModel> & Pick<WakeflowQueryModel, 'queryType'>;
/** A query as the query editor saves it: complete, every option of its type set (normalizeQuery). */
const wakeflow = (refId: string, q: Q): Record<string, unknown> => ({
  ...normalizeQuery({ refId, datasource: WAKEFLOW, ...FILTERS, ...q }),
});
const promql = (refId: string, expr: string, legendFormat: string) => ({
  refId,
  datasource: PROMETHEUS,
  expr,
  legendFormat,
  range: true,
});

const POD_FILTER = 'namespace=~"$namespace", workload=~"$workload", pod=~"$pod"';
const rateByPod = (metric: string) =>
  `sum by (namespace, pod, instance) (rate(${metric}{${POD_FILTER}}[$__rate_interval]))`;
const preemptionRatioByPod = `${rateByPod('wakeflow_preempted_seconds_total')} / (${rateByPod('wakeflow_oncpu_seconds_total')} + ${rateByPod('wakeflow_preempted_seconds_total')})`;

/**
 * A `wakeflow_group` label named as the backend names its per-pod series (`namespace/pod`, and outside
 * Kubernetes, where targets have no pod labels, the agent's host:port), so legends never read "/". Prometheus
 * knows the agent as its scrape `instance`, the address it scrapes (`agent:9781` in the local stack), which the
 * backend may know by another (the DNS record's address).
 */
const podOrAgent = (expr: string) =>
  `label_replace(label_join(label_join(${expr}, "wakeflow_group", "/", "namespace", "pod"), "wakeflow_key", "@", "wakeflow_group", "instance"), "wakeflow_group", "$1", "wakeflow_key", "/@(.*)")`;

let nextId = 1;
const grid = (x: number, y: number, w: number, h: number) => ({ x, y, w, h });

function panel(p: Omit<Panel, 'id'>): Panel {
  return { id: nextId++, ...p };
}

function row(title: string, y: number): RowPanel {
  return { id: nextId++, type: 'row', title, collapsed: false, gridPos: grid(0, y, 24, 1), panels: [] };
}

/** Series coloured by category the way the backend colours them and the chains panel draws them. */
const categoryOverrides: FieldConfigSource['overrides'] = CATEGORIES.map((c) => ({
  matcher: { id: 'byRegexp', options: `^${c.id.replace(/\./g, '\\.')}$` },
  properties: [{ id: 'color', value: { mode: 'fixed', fixedColor: c.color } }],
}));

const stacked = (unit: string): FieldConfigSource => ({
  defaults: {
    unit,
    custom: { stacking: { mode: 'normal', group: 'A' }, fillOpacity: 40, lineWidth: 1, showPoints: 'never' },
  },
  overrides: categoryOverrides,
});

function queryVariable(name: string, label: string, resource: string, above: string[]): VariableModel {
  const query: Record<string, unknown> = { refId: 'variable', resource };
  for (const a of above) {
    query[a] = [`$${a}`];
  }
  return {
    type: 'query',
    name,
    label,
    datasource: WAKEFLOW,
    query,
    refresh: VariableRefresh.onTimeRangeChanged,
    multi: true,
    includeAll: true,
    current: { text: ['All'], value: ['$__all'] },
    sort: VariableSort.alphabeticalAsc,
  };
}

const variables: VariableModel[] = [
  {
    type: 'datasource',
    name: 'ds',
    label: 'Wakeflow',
    query: 'wakeflow-offwake-datasource',
    current: { text: 'wakeflow', value: 'wakeflow' },
  },
  {
    type: 'datasource',
    name: 'prometheus',
    label: 'Prometheus',
    query: 'prometheus',
    current: { text: 'Prometheus', value: 'prometheus' },
  },
  queryVariable('namespace', 'Namespace', 'namespaces', []),
  queryVariable('workload', 'Workload', 'workloads', ['namespace']),
  queryVariable('pod', 'Pod', 'pods', ['namespace', 'workload']),
];

const panels: Array<Panel | RowPanel> = [
  row('Who wakes Envoy', 0),
  panel({
    type: 'wakeflow-chains-panel',
    title: 'Wake chains: who woke the waker → Envoy thread',
    description:
      'Each chain is the wakeups that made an Envoy thread runnable, up to three hops back (one column per hop); each link is as thick as its off-CPU time and coloured by category. Click a link to light its whole chain and read each hop’s stacks; click a category in the breakdown to show only its chains.',
    gridPos: grid(0, 1, 24, 14),
    datasource: WAKEFLOW,
    targets: [wakeflow('A', { queryType: 'chains', sort: 'offcpu', limit: 200, depth: 3 })],
    options: {
      weight: 'offcpu',
      maxLinks: 100,
      wakerIdentity: 'name',
      showBreakdown: true,
      showActivities: true,
      breakdownWidth: 320,
    },
  }),
  row('Where the time goes', 15),
  panel({
    type: 'timeseries',
    title: 'Off-CPU time by wake category',
    description:
      'Seconds off CPU per second, summed over the selected pods’ Envoy threads. Waiting in epoll for traffic is normal; the rest is what to look at.',
    gridPos: grid(0, 16, 12, 9),
    datasource: WAKEFLOW,
    targets: [wakeflow('A', { queryType: 'categories', metric: 'offcpu', groupBy: 'category' })],
    fieldConfig: stacked('s'),
    options: {
      legend: { displayMode: 'table', placement: 'right', calcs: ['mean'] },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
  }),
  panel({
    type: 'timeseries',
    title: 'Wakeups by Envoy activity',
    description:
      'Intervals ended per second by what Envoy was doing: dispatcher posts, stats flushes, access-log flushes, xDS, DNS.',
    gridPos: grid(12, 16, 12, 9),
    datasource: WAKEFLOW,
    targets: [wakeflow('A', { queryType: 'categories', metric: 'wakeups', groupBy: 'activity' })],
    fieldConfig: { defaults: { unit: 'wps', custom: { fillOpacity: 10, showPoints: 'never' } }, overrides: [] },
    options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi', sort: 'desc' } },
  }),
  panel({
    type: 'timeseries',
    title: 'Run-queue delay by pod',
    description: 'Seconds per second that woken Envoy threads waited for a CPU: added straight to request latency.',
    gridPos: grid(0, 25, 12, 8),
    datasource: WAKEFLOW,
    targets: [wakeflow('A', { queryType: 'categories', metric: 'runq', groupBy: 'pod' })],
    fieldConfig: { defaults: { unit: 's', custom: { showPoints: 'never' } }, overrides: [] },
    options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi', sort: 'desc' } },
  }),
  panel({
    type: 'timeseries',
    title: 'Preemption ratio and CPU throttling by pod',
    description:
      'Preempted ÷ (on CPU + preempted) per pod (left), and the pod cgroup’s throttled seconds per second (right). A high ratio with throttling is the pod’s own CPU limit; without it, the node is busy. The alert rule "Envoy preemption ratio high" fires above the red line.',
    gridPos: grid(12, 25, 12, 8),
    datasource: WAKEFLOW,
    targets: [wakeflow('A', { queryType: 'preemption', groupBy: 'pod', ratio: 'time', throttled: true })],
    fieldConfig: {
      defaults: {
        unit: 'percentunit',
        min: 0,
        thresholds: {
          mode: ThresholdsMode.Absolute,
          steps: [
            { color: 'green', value: null },
            { color: 'red', value: 0.2 },
          ],
        },
        custom: { thresholdsStyle: { mode: 'line+area' }, showPoints: 'never' },
      },
      overrides: [
        {
          matcher: { id: 'byRegexp', options: '.* throttled$' },
          properties: [
            { id: 'unit', value: 's' },
            { id: 'custom.axisPlacement', value: 'right' },
            { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
            { id: 'custom.thresholdsStyle', value: { mode: 'off' } },
          ],
        },
      ],
    },
    options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi', sort: 'desc' } },
  }),
  row('Chains, stacks and code paths', 33),
  panel({
    type: 'nodeGraph',
    title: 'Wake graph',
    description: 'The same chains as a node graph: rings on the target threads show their off-CPU time by category.',
    gridPos: grid(0, 34, 12, 12),
    datasource: WAKEFLOW,
    targets: [wakeflow('A', { queryType: 'chains', sort: 'offcpu', limit: 100 })],
  }),
  panel({
    type: 'flamegraph',
    title: 'Off-wake flame graph',
    description:
      "The target's stack from its root, then --, then the waker's stack: the code paths, waker included, that hold Envoy off CPU.",
    gridPos: grid(12, 34, 12, 12),
    datasource: WAKEFLOW,
    targets: [wakeflow('A', { queryType: 'flamegraph', value: 'offcpu', limit: 500 })],
  }),
  panel({
    type: 'table',
    title: 'Top chains',
    description: 'The heaviest waker → target edges with their numbers; the stacks are in the wake-chains panel.',
    gridPos: grid(0, 46, 24, 10),
    datasource: WAKEFLOW,
    targets: [wakeflow('A', { queryType: 'chains', sort: 'offcpu', limit: 50 })],
    transformations: [
      { id: 'filterByRefId', options: { include: 'A' } },
      {
        id: 'organize',
        options: {
          excludeByName: {
            id: true,
            waker_pid: true,
            target_pid: true,
            waker_stack: true,
            waker_stack_kernel_frames: true,
            target_stack: true,
            target_stack_kernel_frames: true,
            stacks_sampled: true,
            explanation: true,
            facts: true,
            labels: true,
          },
        },
      },
    ],
    fieldConfig: { defaults: {}, overrides: [] },
    options: { showHeader: true, sortBy: [{ displayName: 'offcpu', desc: true }] },
  }),
  row('Envoy and the wakeflow agents (Prometheus)', 56),
  panel({
    type: 'timeseries',
    title: 'Envoy event-loop duration, p99',
    description:
      "Envoy's own dispatcher stats (bootstrap enable_dispatcher_stats): long loops on a worker mean work that blocks it; compare with the chains above.",
    gridPos: grid(0, 57, 8, 8),
    datasource: PROMETHEUS,
    targets: [
      promql(
        'A',
        'histogram_quantile(0.99, sum by (le, envoy_worker_id) (rate(envoy_listener_manager_worker_dispatcher_loop_duration_us_bucket[$__rate_interval])))',
        'worker {{envoy_worker_id}}'
      ),
      promql(
        'B',
        'histogram_quantile(0.99, sum by (le) (rate(envoy_server_dispatcher_loop_duration_us_bucket[$__rate_interval])))',
        'main'
      ),
    ],
    fieldConfig: { defaults: { unit: 'µs', custom: { showPoints: 'never' } }, overrides: [] },
  }),
  panel({
    type: 'timeseries',
    title: 'Envoy poll delay, p99',
    description:
      'How late the event loop woke after a timeout: scheduler delay as Envoy sees it, the run-queue delay above as the kernel does.',
    gridPos: grid(8, 57, 8, 8),
    datasource: PROMETHEUS,
    targets: [
      promql(
        'A',
        'histogram_quantile(0.99, sum by (le, envoy_worker_id) (rate(envoy_listener_manager_worker_dispatcher_poll_delay_us_bucket[$__rate_interval])))',
        'worker {{envoy_worker_id}}'
      ),
      promql(
        'B',
        'histogram_quantile(0.99, sum by (le) (rate(envoy_server_dispatcher_poll_delay_us_bucket[$__rate_interval])))',
        'main'
      ),
    ],
    fieldConfig: { defaults: { unit: 'µs', custom: { showPoints: 'never' } }, overrides: [] },
  }),
  panel({
    type: 'timeseries',
    title: 'Preemption ratio from the agents’ metrics',
    description:
      'The same ratio computed in PromQL from wakeflow_* counters (docs/metrics.md): the second path, through Prometheus alone.',
    gridPos: grid(16, 57, 8, 8),
    datasource: PROMETHEUS,
    targets: [promql('A', podOrAgent(preemptionRatioByPod), '{{wakeflow_group}}')],
    fieldConfig: { defaults: { unit: 'percentunit', min: 0, custom: { showPoints: 'never' } }, overrides: [] },
  }),
  panel({
    type: 'timeseries',
    title: 'Wakeups by category (agents’ metrics)',
    gridPos: grid(0, 65, 12, 8),
    datasource: PROMETHEUS,
    targets: [
      promql(
        'A',
        'sum by (category) (rate(wakeflow_wakeups_total{namespace=~"$namespace", workload=~"$workload", pod=~"$pod"}[$__rate_interval]))',
        '{{category}}'
      ),
    ],
    fieldConfig: { defaults: { unit: 'wps', custom: { showPoints: 'never' } }, overrides: categoryOverrides },
  }),
  panel({
    type: 'timeseries',
    title: 'Agent health: events lost and window drain time',
    description:
      'Events the agents could not record in full (by reason), and how long each window took to drain and classify.',
    gridPos: grid(12, 65, 12, 8),
    datasource: PROMETHEUS,
    targets: [
      // The agents export a reason's counter from its first loss on; `or on()` draws "lost: none" at 0 while
      // no agent has lost anything, so a healthy stack reads as such rather than as "No data".
      promql(
        'A',
        'sum by (reason) (rate(wakeflow_agent_lost_events_total[$__rate_interval])) or on() label_replace(0 * sum(rate(wakeflow_agent_windows_total[$__rate_interval])), "reason", "none", "", "")',
        'lost: {{reason}}'
      ),
      promql('B', 'max by (instance) (wakeflow_agent_window_drain_seconds)', 'drain {{instance}}'),
    ],
    fieldConfig: {
      defaults: { custom: { showPoints: 'never' } },
      overrides: [
        {
          matcher: { id: 'byFrameRefID', options: 'B' },
          properties: [
            { id: 'unit', value: 's' },
            { id: 'custom.axisPlacement', value: 'right' },
          ],
        },
      ],
    },
  }),
];

// @grafana/schema types a dashboard's panels as Panel only; rows are panels of type "row" in the JSON model.
export const dashboard: Dashboard = {
  uid: DASHBOARD_UID,
  title: 'Envoy wakeups',
  description: 'Who wakes Envoy: off-CPU time by cause, preemption, wake chains with stacks (wakeflow).',
  tags: ['envoy', 'istio', 'wakeflow', 'ebpf'],
  editable: true,
  graphTooltip: 1,
  schemaVersion: 39,
  version: 1,
  time: { from: 'now-1h', to: 'now' },
  refresh: '30s',
  timepicker: {},
  templating: { list: variables },
  annotations: { list: [] },
  links: [],
  panels: panels as Panel[],
};

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const out = path.join(import.meta.dirname, 'envoy-wakeups.json');
  writeFileSync(out, `${JSON.stringify(dashboard, null, 2)}\n`);
  process.stdout.write(`wrote ${path.relative(process.cwd(), out)}\n`);
}
