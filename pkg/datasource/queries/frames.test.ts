// SPDX-License-Identifier: Apache-2.0
/*
 * Frame builders alone (no agents): series summed by labels, the off-wake
 * flame graph's nested set, the Node Graph's nodes, edges and arcs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { AgentEdge, normaliseEdge } from '../agent-api';
import { nodeGraphFrames } from './chains';
import { buildFlamegraph, offWakePath } from './flamegraph';
import { pickLabels, sumSeries } from './series';

const edge = (over: Record<string, unknown>): AgentEdge =>
  normaliseEdge({
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
    ...over,
  });

test('series from several agents are summed point by point, by the labels kept', () => {
  const a = [
    {
      labels: { namespace: 'n', workload: 'w', pod: 'p1' },
      points: [
        [0, 1],
        [10, 2],
      ] as Array<[number, number]>,
    },
  ];
  const b = [
    {
      labels: { namespace: 'n', workload: 'w', pod: 'p2' },
      points: [
        [10, 3],
        [20, 4],
      ] as Array<[number, number]>,
    },
  ];
  const byWorkload = sumSeries([a, b], pickLabels(['namespace', 'workload']));
  assert.equal(byWorkload.size, 1);
  const s = [...byWorkload.values()][0];
  assert.deepEqual(s.labels, { namespace: 'n', workload: 'w' });
  assert.deepEqual(
    [...s.points.entries()].sort((x, y) => x[0] - y[0]),
    [
      [0, 1],
      [10, 5],
      [20, 4],
    ]
  );
  const noWorkload = sumSeries(
    [[{ labels: { namespace: 'n', pod: 'p' }, points: [] }]],
    pickLabels(['namespace', 'workload', 'pod'])
  );
  assert.deepEqual([...noWorkload.values()][0].labels, { namespace: 'n', pod: 'p' }, 'an unknown workload stays out');
});

test('off-wake path: target name, its stack root first, --, the waker stack from where it woke, the waker', () => {
  assert.deepEqual(offWakePath(edge({})), [
    'worker_0',
    't_root',
    't_mid',
    't_leaf',
    '--',
    'w_leaf',
    'w_root',
    'poster',
  ]);
  const irq = edge({ waker: { comm: 'swapper/1', context: 'softirq' }, waker_stack: [], stacks_sampled: false });
  assert.deepEqual(offWakePath(irq).slice(-3), ['--', '[stack not sampled]', '[softirq]']);
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
  const cols = Object.fromEntries(f.fields.map((x) => [x.name, x.values]));
  assert.deepEqual(cols.label, ['total', 'a', 'c', 'b']);
  assert.deepEqual(cols.level, [0, 1, 2, 2]);
  assert.deepEqual(cols.value, [4.5, 4.5, 3, 1]);
  assert.deepEqual(cols.self, [0, 0.5, 3, 1]);
  assert.equal(f.meta?.preferredVisualisationType, 'flamegraph');
});

test('node graph: a node per thread or context, arcs are shares of the target node, edges join nodes', () => {
  const rows = [
    { node: 'n1', edge: edge({ id: 1 }) },
    { node: 'n1', edge: edge({ id: 2, category: 'net.tcp.data', offcpu_us: 6_000_000 }) },
    { node: 'n1', edge: edge({ id: 3, waker: { comm: 'x', context: 'hardirq' } }) },
  ];
  const [nodes, edges] = nodeGraphFrames(rows);
  const n = Object.fromEntries(nodes.fields.map((x) => [x.name, x.values]));
  assert.deepEqual(n.id, ['n1/1/2', 'n1/1/3', 'n1/hardirq']);
  assert.deepEqual(n.title, ['poster', 'worker_0', 'hardirq']);
  assert.deepEqual(n.mainstat, [0, 10, 0]);
  assert.deepEqual(n['arc__net.tcp.data'], [0, 0.6, 0]);
  assert.deepEqual(n['arc__ipc.eventfd'], [0, 0.4, 0]);
  const e = Object.fromEntries(edges.fields.map((x) => [x.name, x.values]));
  assert.deepEqual(e.source, ['n1/1/2', 'n1/1/2', 'n1/hardirq']);
  assert.deepEqual(e.target, ['n1/1/3', 'n1/1/3', 'n1/1/3']);
  assert.deepEqual(e.color, ['green', 'blue', 'green']);
});

test('garbage in an edge becomes empty values, not exceptions', () => {
  const e = normaliseEdge({
    waker: 'x',
    target: null,
    count: 'many',
    waker_stack: [1, null],
    explanation: { category: { frames: [{ stack: 'evil', index: 1 }] } },
  });
  assert.equal(e.count, 0);
  assert.equal(e.waker.comm, '');
  assert.deepEqual(e.wakerStack, ['1', 'null']);
  assert.deepEqual(e.explanation?.category?.frames, []);
});
