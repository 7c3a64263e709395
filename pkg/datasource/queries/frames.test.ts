// SPDX-License-Identifier: Apache-2.0
/*
 * Frame builders alone (no agents): series summed by labels, the off-wake
 * flame graph's nested set, the Node Graph's nodes, edges and arcs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { readEdgesAnswer } from '../agent-edges';
import { CHAIN_FIELDS } from '../../../src/shared/frames';
import { chainsTable, nodeGraphFrames } from './chains';
import { EdgeRow } from './edges';
import { FlameTrie, addOffWakePath, buildFlamegraph } from './flamegraph';
import { groupLabels, groupName, pickLabels, sumSeries } from './series';

const base = {
  id: 1,
  waker: { comm: 'poster', proc: 'envoy', pid: 1, tid: 2, context: 'task' },
  target: { comm: 'worker_0', proc: 'envoy', pid: 1, tid: 3, role: 'worker' },
  kind: 'blocked',
  category: 'ipc.eventfd',
  activity: 'none',
  count: 10,
  offcpu_us: 2_000_000,
  runq_us: 10,
  waker_stack: ['w_leaf', 'w_root'],
  target_stack: ['t_leaf', 't_mid', 't_root'],
};

/** Edges as an agent would answer them, read back the way the backend reads answers. */
function rowsOf(node: string, edges: Array<Record<string, unknown>>): EdgeRow[] {
  const answer = readEdgesAnswer(Buffer.from(JSON.stringify({ edges: edges.map((e) => ({ ...base, ...e })) })));
  assert.ok(answer);
  return Array.from({ length: answer.edges.length }, (_, row) => ({ node, batch: answer.edges, row }));
}

const series = (labels: Record<string, string>, points: Array<[number, number]>) => ({
  labels,
  t: Float64Array.from(points, (p) => p[0]),
  v: Float64Array.from(points, (p) => p[1]),
});
const columns = (f: { fields: Array<{ name: string; values: ArrayLike<unknown> | { toArray(): unknown[] } }> }) =>
  Object.fromEntries(
    f.fields.map((x) => [
      x.name,
      'toArray' in x.values ? x.values.toArray() : Array.from(x.values as ArrayLike<unknown>),
    ])
  );

test('series from several agents are summed point by point, by the labels kept', () => {
  const a = [
    series({ namespace: 'n', workload: 'w', pod: 'p1' }, [
      [0, 1],
      [10, 2],
    ]),
  ];
  const b = [
    series({ namespace: 'n', workload: 'w', pod: 'p2' }, [
      [10, 3],
      [20, 4],
    ]),
  ];
  const byWorkload = sumSeries(
    [
      { node: 'a:1', series: a },
      { node: 'b:1', series: b },
    ],
    pickLabels(['namespace', 'workload'])
  );
  assert.equal(byWorkload.size, 1);
  const s = [...byWorkload.values()][0];
  assert.deepEqual(s.labels, { namespace: 'n', workload: 'w' });
  assert.deepEqual([...s.t], [0, 10, 20]);
  assert.deepEqual([...s.v], [1, 5, 4]);
  const noWorkload = sumSeries(
    [{ node: 'a:1', series: [series({ namespace: 'n', pod: 'p' }, [])] }],
    pickLabels(['namespace', 'workload', 'pod'])
  );
  assert.deepEqual([...noWorkload.values()][0].labels, { namespace: 'n', pod: 'p' }, 'an unknown workload stays out');
  // A group of one series (one pod, one agent) carries the group's labels too, not the pod's.
  const onePod = sumSeries([{ node: 'a:1', series: a }], pickLabels(['namespace', 'workload']));
  assert.deepEqual([...onePod.values()][0].labels, { namespace: 'n', workload: 'w' });
});

test("outside Kubernetes a pod or workload series is its node's, named after it; inside, namespace/pod", () => {
  // What an agent answers by=pod for a process outside Kubernetes (docs/api.md): empty namespace and pod.
  const host = { namespace: '', pod: '' };
  const k8s = { namespace: 'shop', workload: 'cart', pod: 'cart-1' };
  const lists = [
    { node: 'node-a:9781', series: [series(host, [[0, 1]]), series(k8s, [[0, 2]])] },
    { node: 'node-b:9781', series: [series(host, [[0, 4]]), series(k8s, [[0, 8]])] },
  ];
  const byPod = [...sumSeries(lists, groupLabels('pod')).values()];
  const names = byPod.map((s) => [groupName('pod', s.labels), s.labels, [...s.v]]);
  assert.deepEqual(
    names.sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    [
      ['node-a:9781', { namespace: '', pod: '', node: 'node-a:9781' }, [1]],
      ['node-b:9781', { namespace: '', pod: '', node: 'node-b:9781' }, [4]],
      ['shop/cart-1', k8s, [10]],
    ],
    "one series per host outside Kubernetes, never '/'; a pod seen by two agents is summed"
  );
  const byWorkload = [...sumSeries(lists, groupLabels('workload')).values()].map((s) =>
    groupName('workload', s.labels)
  );
  assert.deepEqual(byWorkload.sort(), ['node-a:9781', 'node-b:9781', 'shop/cart']);
  // Other groupings are summed over agents as they are, without a node label.
  const byRole = [
    ...sumSeries(
      lists.map((l) => ({ ...l, series: [series({ role: 'worker' }, [[0, 1]])] })),
      groupLabels('role')
    ).values(),
  ];
  assert.deepEqual(
    byRole.map((s) => [s.labels, groupName('role', s.labels), [...s.v]]),
    [[{ role: 'worker' }, 'worker', [2]]]
  );
  // A namespace without a pod name (never sent today) still names what it has; no labels at all: the fallback.
  assert.equal(groupName('pod', { namespace: 'shop', pod: '' }), 'shop');
  assert.equal(groupName('pod', {}), 'outside Kubernetes');
});

test('summing merges sorted parts: equal times add up, each time once', () => {
  const parts = [
    series({ a: '1' }, [
      [0, 1],
      [20, 1],
      [40, 1],
    ]),
    series({ a: '1' }, [
      [10, 2],
      [20, 2],
    ]),
    series({ a: '1' }, [[40, 4]]),
  ];
  const s = [...sumSeries([{ node: 'a:1', series: parts }]).values()][0];
  assert.deepEqual([...s.t], [0, 10, 20, 40]);
  assert.deepEqual([...s.v], [1, 2, 3, 5]);
});

test('off-wake path: target name, its stack root first, --, the waker stack from where it woke, the waker', () => {
  const path = (e: Record<string, unknown>) => {
    const [r] = rowsOf('n1', [e]);
    const trie = new FlameTrie();
    assert.ok(trie.begin(1));
    addOffWakePath(trie, r.batch, r.row);
    // One path: the nested set is the path itself, under `total`.
    return columns(trie.frame('s')).label.slice(1);
  };
  assert.deepEqual(path({}), ['worker_0', 't_root', 't_mid', 't_leaf', '--', 'w_leaf', 'w_root', 'poster']);
  const irq = path({ waker: { comm: 'swapper/1', context: 'softirq' }, waker_stack: [], stacks_sampled: false });
  assert.deepEqual(irq.slice(-3), ['--', '[stack not sampled]', '[softirq]']);
});

test('flame graph nested set: depth-first rows, value = self + children, heaviest first', () => {
  const f = buildFlamegraph(
    [
      { path: ['a', 'b'], value: 1 },
      { path: ['a', 'c'], value: 3 },
      { path: ['a'], value: 0.5 },
      { path: ['d'], value: 0 },
    ],
    's'
  );
  const cols = columns(f);
  assert.deepEqual(cols.label, ['total', 'a', 'c', 'b']);
  assert.deepEqual(cols.level, [0, 1, 2, 2]);
  assert.deepEqual(cols.value, [4.5, 4.5, 3, 1]);
  assert.deepEqual(cols.self, [0, 0.5, 3, 1]);
  assert.equal(f.meta?.preferredVisualisationType, 'flamegraph');
});

test('flame graph nested set: the same rows as a plain recursive build, whatever the paths (fast-check)', () => {
  // The reference: every node a Map of children, written depth first, heaviest child first, ties by label.
  type Ref = { total: number; self: number; kids: Map<string, Ref> };
  const reference = (paths: Array<{ path: string[]; value: number }>) => {
    const root: Ref = { total: 0, self: 0, kids: new Map() };
    for (const { path, value } of paths.filter((p) => p.value > 0)) {
      root.total += value;
      let at = root;
      for (const l of path) {
        const next = at.kids.get(l) ?? { total: 0, self: 0, kids: new Map() };
        at.kids.set(l, next);
        next.total += value;
        at = next;
      }
      at.self += value;
    }
    const out = { label: [] as string[], level: [] as number[], value: [] as number[], self: [] as number[] };
    const walk = (label: string, n: Ref, depth: number) => {
      out.label.push(label);
      out.level.push(depth);
      out.value.push(n.total);
      out.self.push(n.self);
      const kids = [...n.kids.entries()].sort(
        ([la, a], [lb, b]) => b.total - a.total || (la < lb ? -1 : la > lb ? 1 : 0)
      );
      kids.forEach(([l, k]) => walk(l, k, depth + 1));
    };
    walk('total', root, 0);
    return out;
  };
  const paths = fc.array(
    fc.record({
      path: fc.array(fc.constantFrom('a', 'b', 'c', 'd', '--', 'é'), { maxLength: 6 }),
      value: fc.oneof(fc.constant(0), fc.constant(1), fc.double({ min: -1, max: 100, noNaN: true })),
    }),
    { maxLength: 30 }
  );
  fc.assert(
    fc.property(paths, (ps) => {
      const cols = columns(buildFlamegraph(ps, 's'));
      const ref = reference(ps);
      assert.deepEqual(cols.label, ref.label);
      assert.deepEqual(cols.level, ref.level);
      assert.deepEqual(cols.value, ref.value);
      assert.deepEqual(cols.self, ref.self);
    }),
    { numRuns: 300 }
  );
});

test('node graph: a node per thread or context, arcs are shares of the target node, edges join nodes', () => {
  const rows = rowsOf('n1', [
    { id: 1 },
    { id: 2, category: 'net.tcp.data', offcpu_us: 6_000_000 },
    { id: 3, waker: { comm: 'x', context: 'hardirq' } },
  ]);
  const [nodes, edges] = nodeGraphFrames(rows);
  const n = columns(nodes);
  assert.deepEqual(n.id, ['n1/1/2', 'n1/1/3', 'n1/hardirq']);
  assert.deepEqual(n.title, ['poster', 'worker_0', 'hardirq']);
  assert.deepEqual(n.mainstat, [0, 10, 0]);
  assert.deepEqual(n['arc__net.tcp.data'], [0, 0.6, 0]);
  assert.deepEqual(n['arc__ipc.eventfd'], [0, 0.4, 0]);
  const e = columns(edges);
  assert.deepEqual(e.source, ['n1/1/2', 'n1/1/2', 'n1/hardirq']);
  assert.deepEqual(e.target, ['n1/1/3', 'n1/1/3', 'n1/1/3']);
  assert.deepEqual(e.color, ['green', 'blue', 'green']);
});

test('chains table: every CHAIN_FIELDS field in order, exact seconds, nulls, stacks joined, explanation as sent', () => {
  const explanation = {
    category: { rule: 'eventfd-post', when: 'waker.frame=eventfd_write', frames: [{ stack: 'waker', index: 0 }] },
    activity: null,
  };
  const rows = rowsOf('10.0.0.7:9781', [
    {
      id: 9,
      offcpu_us: 165_780,
      offcpu_max_us: 112_684,
      runq_us: 3,
      explanation,
      labels: { namespace: 'ns', pod: 'p', n: 3 },
      facts: ['fd=eventfd'],
    },
    {
      id: 10,
      waker: { comm: 'swapper/0', context: 'softirq' },
      target: { comm: 'w', tid: 4 },
      offcpu_max_us: null,
      explanation: 'x',
      stacks_sampled: true,
    },
  ]);
  const f = chainsTable(rows, 42);
  assert.deepEqual(
    f.fields.map((x) => x.name),
    Object.values(CHAIN_FIELDS)
  );
  assert.deepEqual(f.meta?.custom, { matched: 42 });
  const c = columns(f);
  assert.deepEqual(c.id, ['10.0.0.7:9781/9', '10.0.0.7:9781/10']);
  assert.deepEqual(c.offcpu, [0.16578, 2]);
  assert.deepEqual(c.offcpu_max, [0.112684, NaN]);
  assert.deepEqual(c.waker_pid, [1, NaN]);
  assert.deepEqual(c.target_pid, [1, NaN]);
  assert.deepEqual(c.waker_context, ['task', 'softirq']);
  assert.deepEqual(c.waker_stack, ['w_leaf\nw_root', 'w_leaf\nw_root']);
  assert.deepEqual(c.target_stack, ['t_leaf\nt_mid\nt_root', 't_leaf\nt_mid\nt_root']);
  assert.deepEqual(JSON.parse(c.explanation[0] as string), explanation);
  assert.equal(c.explanation[1], '', 'an explanation that is not an object is none');
  assert.deepEqual(c.facts, ['fd=eventfd', '']);
  assert.deepEqual(c.labels, [JSON.stringify({ namespace: 'ns', pod: 'p', n: '3' }), '{}']);
  assert.deepEqual(c.namespace, ['ns', '']);
  assert.deepEqual(c.stacks_sampled, [0, 1]);
  assert.deepEqual(
    f.fields.filter((x) => x.nullable).map((x) => x.name),
    [
      'waker_pid',
      'waker_tid',
      'target_pid',
      'target_tid',
      'offcpu_max',
      'waker_stack_kernel_frames',
      'target_stack_kernel_frames',
    ]
  );
});
