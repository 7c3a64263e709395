// SPDX-License-Identifier: Apache-2.0
/*
 * /api/v1/chains answers (the shape docs/api.md gives) read by the backend,
 * and the frames built from them: the chains table's hop and link columns,
 * the Node Graph's multi-hop edges. No agent: JSON answers of that shape.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CHAIN_FIELDS, CHAIN_HOP_FIELDS, CHAIN_LINK_FIELDS, chainText } from '../../src/shared/frames';
import { Frame } from '../protocol/frame';
import { readChainsAnswer } from './agent-chains';
import { chainNodeGraphFrames, chainPathsTable } from './queries/chains';
import { ChainRef } from './queries/chain-rows';

const hop = (comm: string, proc: string, pid: number, tid: number) => ({ comm, proc, pid, tid });
const link = (category: string, extra: Record<string, unknown> = {}) => ({
  category,
  activity: null,
  context: 'task',
  stacks_sampled: false,
  ...extra,
});

/** The three-stage pipeline of issue 12: A posts to B through an eventfd, B writes a pipe to C. */
const pipeline = {
  hops: [hop('wf-a', 'wf-pipeline', 10, 11), hop('wf-b', 'wf-pipeline', 10, 12), hop('wf-c', 'wf-pipeline', 10, 13)],
  links: [
    link('ipc.eventfd', {
      stacks_sampled: true,
      waker_stack: ['eventfd_write', 'ksys_write', 'stage_a'],
      waker_stack_kernel_frames: 2,
      target_stack: ['eventfd_read', 'stage_b'],
      target_stack_kernel_frames: 1,
    }),
    link('ipc.pipe', {
      stacks_sampled: true,
      waker_stack: ['pipe_write', 'stage_b'],
      waker_stack_kernel_frames: 1,
      target_stack: ['pipe_read', 'stage_c'],
      target_stack_kernel_frames: 1,
    }),
  ],
  count: 5210,
  offcpu_us: 2_573_100.0,
  runq_us: 31_200.0,
  ended_by: 'none',
  id: 17,
  labels: { pod: 'p', namespace: 'n' },
  first_seen_ms: 1000,
  last_seen_ms: 2000,
};
/** Two processes: a client's UDP datagram wakes a server thread, which wakes a target over a unix socket. */
const crossProcess = {
  hops: [hop('wf-client', 'wf-client', 20, 20), hop('wf-srv', 'wf-server', 30, 31), hop('worker_0', 'envoy', 40, 41)],
  links: [link('net.udp'), link('ipc.unix', { activity: 'envoy.xds' })],
  count: 3,
  offcpu_us: 1_000_000,
  runq_us: 10,
  ended_by: 'untracked',
  id: 18,
  labels: { pod: 'q', namespace: 'n' },
  first_seen_ms: 1,
  last_seen_ms: 2,
};
/** Cut by an interrupt: a softirq woke the waker. */
const interrupted = {
  hops: [hop('[net-rx]', '', 0, 0), hop('worker_0', 'envoy', 40, 41)],
  links: [link('net.tcp.data', { context: 'softirq' })],
  count: 1,
  offcpu_us: 500_000,
  runq_us: 0,
  ended_by: 'interrupt',
  id: 19,
  labels: {},
  first_seen_ms: 1,
  last_seen_ms: 2,
};

const answer = (chains: unknown[], extra: Record<string, unknown> = {}) =>
  Buffer.from(JSON.stringify({ from_ms: 1, to_ms: 2, depth: 3, matched: 12, truncated: false, chains, ...extra }));

const values = (f: Frame, name: string): unknown[] => {
  const x = f.fields.find((y) => y.name === name);
  assert.ok(x, `field ${name}`);
  const v = x.values as ArrayLike<unknown> | { toArray(): unknown[] };
  return 'toArray' in v ? v.toArray() : Array.from(v as ArrayLike<unknown>);
};

test('a chains answer: hops from the first cause to the target, one link fewer, stacks where sampled', () => {
  const a = readChainsAnswer(answer([pipeline, crossProcess]));
  assert.ok(a);
  assert.equal(a.matched, 12);
  assert.equal(a.malformed, 0);
  const [p, x] = a.chains;
  assert.deepEqual(
    p.hops.map((h) => [h.comm, h.proc, h.pid, h.tid]),
    [
      ['wf-a', 'wf-pipeline', 10, 11],
      ['wf-b', 'wf-pipeline', 10, 12],
      ['wf-c', 'wf-pipeline', 10, 13],
    ]
  );
  assert.deepEqual(
    p.links.map((l) => [l.category, l.activity, l.context, l.stacksSampled]),
    [
      ['ipc.eventfd', '', 'task', true],
      ['ipc.pipe', '', 'task', true],
    ]
  );
  assert.deepEqual(p.links[0].wakerStack, ['eventfd_write', 'ksys_write', 'stage_a']);
  assert.equal(p.links[0].wakerKernelFrames, 2);
  assert.deepEqual([p.id, p.count, p.offcpuUs, p.runqUs, p.endedBy], [17, 5210, 2_573_100, 31_200, 'none']);
  assert.deepEqual(p.labels, { pod: 'p', namespace: 'n' });
  assert.equal(x.links[1].activity, 'envoy.xds');
  assert.deepEqual(x.links[0].wakerStack, [], 'no stacks where not sampled');
  assert.ok(Number.isNaN(x.links[0].wakerKernelFrames));
});

test('chains answers read defensively: wrong types are empty values, a chain that is not a path is left out and counted', () => {
  const odd = {
    ...pipeline,
    hops: [{ comm: 5, proc: null, pid: 'x' }, 'not a hop', hop('c', 'p', 1, 2)],
    links: [{ category: 7, context: [], waker_stack: [{ toString: false }, 5, 'f'] }, link('ipc.pipe')],
    count: 'many',
    labels: 'none',
    ended_by: 3,
  };
  const a = readChainsAnswer(answer([odd, { ...pipeline, links: [link('ipc.pipe')] }, { hops: [] }, 42]));
  assert.ok(a);
  assert.equal(a.chains.length, 1);
  assert.equal(a.malformed, 3);
  const c = a.chains[0];
  assert.deepEqual([c.hops[0].comm, c.hops[0].proc, Number.isNaN(c.hops[0].pid)], ['', '', true]);
  assert.equal(c.hops[1].comm, '');
  assert.deepEqual([c.links[0].category, c.links[0].context], ['other', 'unknown']);
  // A frame that is not a string shows as its JSON text (String() would throw on this one).
  assert.deepEqual(c.links[0].wakerStack, ['{"toString":false}', '5', 'f']);
  assert.deepEqual([c.count, c.endedBy, c.labels], [0, 'none', {}]);
  // Not an agent's chains answer at all.
  assert.equal(readChainsAnswer(Buffer.from('{"edges": []}')), undefined);
  assert.equal(readChainsAnswer(Buffer.from('{"chains": {}}')), undefined);
  assert.equal(readChainsAnswer(Buffer.from('<html>')), undefined);
  assert.equal(readChainsAnswer(Buffer.from('{"chains": [')), undefined);
});

const refs = (node: string, chains: unknown[]): ChainRef[] => {
  const a = readChainsAnswer(answer(chains));
  assert.ok(a);
  return a.chains.map((chain) => ({ node, chain }));
};

test('the chains table at depth 3: CHAIN_FIELDS from the last link, hops counted back from the target, earlier links', () => {
  const rows = [...refs('a:1', [pipeline, interrupted]), ...refs('b:1', [crossProcess])];
  const t = chainPathsTable(rows, 12, 3);
  const names = t.fields.map((f) => f.name);
  // Every CHAIN_FIELDS column first, in order, so the table and the panel read a chain like an edge.
  assert.deepEqual(names.slice(0, Object.keys(CHAIN_FIELDS).length), Object.values(CHAIN_FIELDS));
  const H = CHAIN_HOP_FIELDS;
  const L = CHAIN_LINK_FIELDS;
  assert.deepEqual(names.slice(Object.keys(CHAIN_FIELDS).length), [
    'hops',
    'chain',
    'ended_by',
    ...[1, 2, 3].flatMap((k) => [H.comm(k), H.proc(k), H.pid(k), H.tid(k), H.context(k)]),
    ...[2, 3].flatMap((k) => [
      L.category(k),
      L.activity(k),
      L.stacksSampled(k),
      L.wakerStack(k),
      L.wakerStackKernelFrames(k),
      L.targetStack(k),
      L.targetStackKernelFrames(k),
    ]),
  ]);
  assert.deepEqual(values(t, 'id'), ['a:1/chain/17', 'a:1/chain/19', 'b:1/chain/18']);
  assert.deepEqual(values(t, 'waker_comm'), ['wf-b', '[net-rx]', 'wf-srv']);
  assert.deepEqual(values(t, 'waker_context'), ['task', 'softirq', 'task']);
  assert.deepEqual(values(t, 'target_comm'), ['wf-c', 'worker_0', 'worker_0']);
  assert.deepEqual(values(t, 'category'), ['ipc.pipe', 'net.tcp.data', 'ipc.unix']);
  assert.deepEqual(values(t, 'activity'), ['', '', 'envoy.xds']);
  assert.deepEqual(values(t, 'waker_stack')[0], 'pipe_write\nstage_b');
  assert.deepEqual(values(t, 'offcpu'), [2.5731, 0.5, 1]);
  assert.deepEqual(values(t, 'count'), [5210, 1, 3]);
  assert.deepEqual(values(t, 'hops'), [3, 2, 3]);
  assert.deepEqual(values(t, 'chain'), [
    'wf-a -[ipc.eventfd]-> wf-b -[ipc.pipe]-> wf-c',
    '[net-rx] -[net.tcp.data]-> worker_0',
    'wf-client -[net.udp]-> wf-srv -[ipc.unix]-> worker_0',
  ]);
  assert.deepEqual(values(t, 'ended_by'), ['none', 'interrupt', 'untracked']);
  // The middle hop that is not Envoy shows its process.
  assert.deepEqual(values(t, 'hop1_proc'), ['wf-pipeline', '', 'wf-server']);
  assert.deepEqual(values(t, 'hop2_comm'), ['wf-a', '', 'wf-client']);
  assert.deepEqual(values(t, 'hop2_context'), ['task', '', 'task']);
  assert.deepEqual(values(t, 'hop3_comm'), ['', '', ''], 'no chain here has four hops');
  assert.ok(
    values(t, 'hop3_tid').every((v) => Number.isNaN(v)),
    'missing hops are null'
  );
  assert.deepEqual(values(t, 'link2_category'), ['ipc.eventfd', '', 'net.udp']);
  assert.deepEqual(values(t, 'link2_waker_stack'), ['eventfd_write\nksys_write\nstage_a', '', '']);
  assert.deepEqual(values(t, 'link2_stacks_sampled'), [1, 0, 0]);
  assert.deepEqual(values(t, 'link2_waker_stack_kernel_frames')[0], 2);
  assert.equal(t.meta?.custom?.matched, 12);
  assert.equal(t.meta?.custom?.depth, 3);
  // The frame's shape depends on the depth asked for only, not on the chains found.
  assert.deepEqual(
    chainPathsTable([], 0, 3).fields.map((f) => f.name),
    names
  );
  assert.equal(chainPathsTable(rows, 12, 4).fields.length, names.length + 5 + 7);
});

test('the Node Graph at depth 3: every link of every chain, shared links summed, interrupts one node per context', () => {
  const second = { ...pipeline, id: 20, hops: [...pipeline.hops.slice(0, 2), hop('wf-d', 'wf-pipeline', 10, 14)] };
  const rows = refs('a:1', [pipeline, second, interrupted]);
  const [nodes, edges] = chainNodeGraphFrames(rows);
  const ids = values(nodes, 'id') as string[];
  assert.deepEqual(ids, ['a:1/10/11', 'a:1/10/12', 'a:1/10/13', 'a:1/10/14', 'a:1/softirq', 'a:1/40/41']);
  assert.deepEqual(values(nodes, 'subtitle').slice(0, 2), ['wf-pipeline', 'wf-pipeline']);
  assert.deepEqual(values(nodes, 'title')[4], 'softirq');
  const source = values(edges, 'source') as string[];
  const target = values(edges, 'target') as string[];
  for (const end of [...source, ...target]) {
    assert.ok(ids.includes(end), `edge end ${end} is a node`);
  }
  // wf-a -> wf-b is in both pipeline chains: one edge, their numbers summed.
  const ab = source.findIndex((s, i) => s === 'a:1/10/11' && target[i] === 'a:1/10/12');
  assert.equal(values(edges, 'mainstat')[ab], 2 * 2.5731);
  assert.equal(values(edges, 'secondarystat')[ab], 2 * 5210);
  assert.equal(values(edges, 'detail__category')[ab], 'ipc.eventfd');
  assert.equal(source.length, 4, 'a->b (shared), b->c, b->d, softirq->worker');
  assert.equal(new Set(values(edges, 'id')).size, 4);
  // wf-b is a middle hop: woken (eventfd), so it has an arc.
  const b = ids.indexOf('a:1/10/12');
  assert.equal(values(nodes, 'arc__ipc.eventfd')[b], 1);
  assert.equal(values(nodes, 'mainstat')[b], 2 * 2.5731);
});

test("chainText writes a chain as the agent's text output does", () => {
  assert.equal(chainText(['X', 'W', 'T'], ['net.udp', 'ipc.unix']), 'X -[net.udp]-> W -[ipc.unix]-> T');
});
