// SPDX-License-Identifier: Apache-2.0
/*
 * The frames the backend returns, by name, and the fields the panel and the
 * built-in visualisations read. Times are Arrow Timestamp(ns); durations are
 * seconds (Float64, field unit `s`); counts are Float64 in time series (what
 * alerting reads) and Int64 in tables; text is Utf8. `docs/backend.md` shows
 * each frame with an example.
 *
 * Every response of a query that some agent failed to answer carries a
 * `warning` notice per failed agent (`meta.notices`) on its first frame; when
 * no data frame exists it is an empty frame named `notices` (no fields:
 * Grafana Alerting reads it as "no data").
 */

/** Time series frames (`categories`, `preemption`): `meta.type` `timeseries-multi`, `meta.typeVersion` [0, 1]. */
export const TIMESERIES = {
  type: 'timeseries-multi',
  typeVersion: [0, 1] as [number, number],
  /** The time field of every series frame. */
  time: 'time',
} as const;

/**
 * categories: one frame per group, named after the metric (`offcpu`,
 * `wakeups`, `runq`); its value field has the same name and carries the
 * group's labels (`{category: "ipc.eventfd"}`, `{namespace, pod}`, ...).
 * preemption: one frame per pod or workload with a value field named
 * `preemption_ratio` (or `preemption_count_ratio`), labels `namespace`,
 * `workload` and (by pod) `pod`; with `throttled: true` also one frame per
 * group whose value field is `throttled`.
 */
export const SERIES_VALUE_FIELDS = {
  preemptionTime: 'preemption_ratio',
  preemptionCount: 'preemption_count_ratio',
  throttled: 'throttled',
} as const;

/** The `chains` query answers three frames: the table, then the Node Graph pair. */
export const CHAIN_FRAMES = { table: 'chains', nodes: 'nodes', edges: 'edges' } as const;

/** Fields of the `chains` table frame, in order: one row per waker → target edge. */
export const CHAIN_FIELDS = {
  /** `<node>/<edge id>`: unique across agents and stable for the edge's life. */
  id: 'id',
  /** The agent that recorded it (its URL's host:port, or the DNS record's address). */
  node: 'node',
  wakerComm: 'waker_comm',
  wakerPid: 'waker_pid',
  wakerTid: 'waker_tid',
  /** `task`, `softirq`, `hardirq`, `none` (preempted), `unknown`. */
  wakerContext: 'waker_context',
  targetProc: 'target_proc',
  targetComm: 'target_comm',
  targetPid: 'target_pid',
  targetTid: 'target_tid',
  targetRole: 'target_role',
  /** `blocked`, `preempted`, `unknown`. */
  kind: 'kind',
  category: 'category',
  /** Empty string when no activity applies. */
  activity: 'activity',
  count: 'count',
  offcpu: 'offcpu',
  offcpuMax: 'offcpu_max',
  runq: 'runq',
  /** The task that took the CPU, for preemptions; empty otherwise. */
  preemptor: 'preemptor',
  /** Frames innermost first, one per line, as the agent returns them. */
  wakerStack: 'waker_stack',
  wakerStackKernelFrames: 'waker_stack_kernel_frames',
  targetStack: 'target_stack',
  targetStackKernelFrames: 'target_stack_kernel_frames',
  stacksSampled: 'stacks_sampled',
  /** JSON of the agent's `explanation` (which rule set the category and the activity, and the frames that decided). */
  explanation: 'explanation',
  /** The cheap facts, one `key=value` per line. */
  facts: 'facts',
  namespace: 'namespace',
  workload: 'workload',
  pod: 'pod',
  /** JSON object of all the target's labels. */
  labels: 'labels',
  firstSeen: 'first_seen',
  lastSeen: 'last_seen',
} as const;

/**
 * Chains of more than one hop (`depth` > 1, /api/v1/chains): the table keeps
 * every CHAIN_FIELDS column, filled from the chain's last link (the target's
 * own wakeup: `waker_*` is the hop that woke the target, `category` that
 * link's), with `id` `<node>/chain/<chain id>` and empty `explanation`,
 * `facts`, `preemptor`, `offcpu_max` (the agent keeps them per edge only).
 * After them come the chain's own columns, for a query of depth D:
 *
 * - `hops` (Int64, 2..D+1), `chain` (`wf-a -[ipc.eventfd]-> wf-b -[ipc.pipe]-> wf-c`), `ended_by`
 *   (`interrupt`, `depth`, `untracked`, `none`: why there is no earlier hop);
 * - for k = 1..D, hop k counted back from the target (hop 1 woke the target, hop 2 woke hop 1, ...):
 *   `hop<k>_comm`, `hop<k>_proc`, `hop<k>_pid`, `hop<k>_tid`, `hop<k>_context`; empty (null numbers) when
 *   the chain is shorter;
 * - for k = 2..D, link k is the wakeup of hop k-1 by hop k (link 1 is the table's own category, activity
 *   and stacks): `link<k>_category`, `link<k>_activity`, `link<k>_stacks_sampled`, `link<k>_waker_stack`,
 *   `link<k>_waker_stack_kernel_frames`, `link<k>_target_stack`, `link<k>_target_stack_kernel_frames`.
 *
 * The same number of columns for every row and refresh of one query (D fixes them), so tables,
 * transformations and the panel read them by name.
 */
export const CHAIN_PATH_FIELDS = {
  hops: 'hops',
  chain: 'chain',
  endedBy: 'ended_by',
} as const;

export const CHAIN_HOP_FIELDS = {
  comm: (k: number) => `hop${k}_comm`,
  proc: (k: number) => `hop${k}_proc`,
  pid: (k: number) => `hop${k}_pid`,
  tid: (k: number) => `hop${k}_tid`,
  context: (k: number) => `hop${k}_context`,
} as const;

export const CHAIN_LINK_FIELDS = {
  category: (k: number) => `link${k}_category`,
  activity: (k: number) => `link${k}_activity`,
  stacksSampled: (k: number) => `link${k}_stacks_sampled`,
  wakerStack: (k: number) => `link${k}_waker_stack`,
  wakerStackKernelFrames: (k: number) => `link${k}_waker_stack_kernel_frames`,
  targetStack: (k: number) => `link${k}_target_stack`,
  targetStackKernelFrames: (k: number) => `link${k}_target_stack_kernel_frames`,
} as const;

/** How the `chain` column and the panel write a chain: `X -[category]-> W -[category]-> T`. */
export function chainText(hops: readonly string[], categories: readonly string[]): string {
  return hops.map((h, i) => (i === 0 ? h : ` -[${categories[i - 1] ?? '?'}]-> ${h}`)).join('');
}

/**
 * Node Graph frames (Grafana's field names; `meta.preferredVisualisationType`
 * `nodeGraph`). Nodes: `id`, `title` (thread), `subtitle` (process or
 * context), `mainstat` (off-CPU seconds), `secondarystat` (count), one
 * `arc__<category>` field per category present (its share of the target
 * node's off-CPU time, coloured by the category's fixed colour), `detail__*`.
 * Edges: `id`, `source`, `target`, `mainstat`, `secondarystat`,
 * `detail__category`, `detail__activity`, `color`.
 */
export const NODE_GRAPH = {
  id: 'id',
  title: 'title',
  subtitle: 'subtitle',
  mainstat: 'mainstat',
  secondarystat: 'secondarystat',
  arcPrefix: 'arc__',
  detailPrefix: 'detail__',
  source: 'source',
  target: 'target',
  color: 'color',
} as const;

/**
 * flamegraph: one frame named `flamegraph` in Grafana's nested-set shape
 * (`meta.preferredVisualisationType` `flamegraph`), rows in depth-first order:
 * `level` (Int64), `value` and `self` (Float64, seconds or a count), `label`.
 * Each path is the target's stack from its root, then a `--` frame, then the
 * waker's stack innermost first, then the waker itself, as in Brendan Gregg's
 * off-wake flame graphs and offwaketime's folded output.
 */
export const FLAMEGRAPH = {
  frame: 'flamegraph',
  level: 'level',
  value: 'value',
  self: 'self',
  label: 'label',
  separator: '--',
} as const;

/** targets: one table frame named `targets`, one row per traced process per agent. */
export const TARGET_FIELDS = {
  frame: 'targets',
  node: 'node',
  pid: 'pid',
  comm: 'comm',
  exe: 'exe',
  namespace: 'namespace',
  workload: 'workload',
  pod: 'pod',
  container: 'container',
  alive: 'alive',
  firstSeen: 'first_seen',
  lastSeen: 'last_seen',
} as const;

/** The frame that carries notices when there is no data frame to put them on. */
export const NOTICES_FRAME = 'notices';
