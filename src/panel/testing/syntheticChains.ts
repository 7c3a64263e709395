// SPDX-License-Identifier: Apache-2.0
/*
 * Chains frames made up for tests and the panel benchmark, in the exact shape
 * of the backend's `chains` table (src/shared/frames.ts). Named as what they
 * are: the browser tests draw frames from the real backend over a real agent;
 * these are for panel logic in Jest and for `npm run bench:panel`, which needs
 * 2,000 edges a live workload does not produce on demand. Deterministic: the
 * same seed gives the same frame.
 */
import {
  CHAIN_FIELDS,
  CHAIN_FRAMES,
  CHAIN_HOP_FIELDS,
  CHAIN_LINK_FIELDS,
  CHAIN_PATH_FIELDS,
  chainText,
} from '../../shared/frames';
import { CATEGORIES } from '../../shared/taxonomy';

export interface ChainSpec {
  id?: string;
  node?: string;
  wakerComm?: string;
  wakerTid?: number | null;
  wakerContext?: string;
  targetComm?: string;
  targetProc?: string;
  targetTid?: number | null;
  targetRole?: string;
  kind?: string;
  category?: string;
  activity?: string;
  count?: number;
  offcpu?: number;
  offcpuMax?: number;
  runq?: number;
  preemptor?: string;
  wakerStack?: string[];
  wakerKernelFrames?: number;
  targetStack?: string[];
  targetKernelFrames?: number;
  explanation?: unknown;
  facts?: string[];
  pod?: string;
  namespace?: string;
  workload?: string;
  labels?: Record<string, string>;
  /** The waker's process (a multi-hop table's `hop1_proc`). */
  wakerProc?: string;
  /** Hops before the waker, the first cause first, each with the link by which it woke the next hop. */
  earlier?: EarlierHop[];
  endedBy?: string;
}

export interface EarlierHop {
  comm: string;
  proc?: string;
  tid?: number | null;
  context?: string;
  category: string;
  activity?: string;
  wakerStack?: string[];
  targetStack?: string[];
}

/** A plain frame object as Grafana hands panels their data (fields of arrays), without importing @grafana/data. */
export interface PlainFrame {
  name: string;
  refId: string;
  length: number;
  fields: Array<{ name: string; type: string; values: unknown[]; config: Record<string, unknown> }>;
  meta?: Record<string, unknown>;
}

const STRING = 'string';
const NUMBER = 'number';
const BOOLEAN = 'boolean';

/** `depth` > 1: the multi-hop table of that depth (the backend's columns for /api/v1/chains). */
export function chainsFrame(specs: ChainSpec[], meta?: Record<string, unknown>, depth = 1): PlainFrame {
  const F = CHAIN_FIELDS;
  const col = (name: string, type: string, get: (s: ChainSpec, i: number) => unknown, unit?: string) => ({
    name,
    type,
    values: specs.map(get),
    config: unit ? { unit } : {},
  });
  return {
    name: CHAIN_FRAMES.table,
    refId: 'A',
    length: specs.length,
    meta,
    fields: [
      col(F.id, STRING, (s, i) => s.id ?? `agent-1/${i + 1}`),
      col(F.node, STRING, (s) => s.node ?? '127.0.0.1:9781'),
      col(F.wakerComm, STRING, (s) => s.wakerComm ?? 'kubelet'),
      col(F.wakerPid, NUMBER, (s) => (s.wakerTid === null ? null : 600)),
      col(F.wakerTid, NUMBER, (s, i) => (s.wakerTid === undefined ? 606 + i : s.wakerTid)),
      col(F.wakerContext, STRING, (s) => s.wakerContext ?? 'task'),
      col(F.targetProc, STRING, (s) => s.targetProc ?? 'envoy'),
      col(F.targetComm, STRING, (s) => s.targetComm ?? 'wrk:worker_0'),
      col(F.targetPid, NUMBER, () => 4400),
      col(F.targetTid, NUMBER, (s, i) => (s.targetTid === undefined ? 4450 + (i % 4) : s.targetTid)),
      col(F.targetRole, STRING, (s) => s.targetRole ?? 'worker'),
      col(F.kind, STRING, (s) => s.kind ?? 'blocked'),
      col(F.category, STRING, (s) => s.category ?? 'net.tcp.data'),
      col(F.activity, STRING, (s) => s.activity ?? ''),
      col(F.count, NUMBER, (s) => s.count ?? 10),
      col(F.offcpu, NUMBER, (s) => s.offcpu ?? 0.01, 's'),
      col(F.offcpuMax, NUMBER, (s) => s.offcpuMax ?? 0.002, 's'),
      col(F.runq, NUMBER, (s) => s.runq ?? 0.0001, 's'),
      col(F.preemptor, STRING, (s) => s.preemptor ?? ''),
      col(F.wakerStack, STRING, (s) => (s.wakerStack ?? []).join('\n')),
      col(F.wakerStackKernelFrames, NUMBER, (s) => s.wakerKernelFrames ?? 0),
      col(F.targetStack, STRING, (s) => (s.targetStack ?? []).join('\n')),
      col(F.targetStackKernelFrames, NUMBER, (s) => s.targetKernelFrames ?? 0),
      col(F.stacksSampled, BOOLEAN, (s) => (s.wakerStack ?? s.targetStack) !== undefined),
      col(F.explanation, STRING, (s) => (s.explanation === undefined ? '' : JSON.stringify(s.explanation))),
      col(F.facts, STRING, (s) => (s.facts ?? []).join('\n')),
      col(F.namespace, STRING, (s) => s.namespace ?? 'bookinfo'),
      col(F.workload, STRING, (s) => s.workload ?? 'productpage-v1'),
      col(F.pod, STRING, (s) => s.pod ?? 'productpage-v1-7d9f8c6b5-x2k4q'),
      col(F.labels, STRING, (s) => JSON.stringify(s.labels ?? { namespace: s.namespace ?? 'bookinfo' })),
      ...(depth > 1 ? chainColumns(specs, depth, col) : []),
    ],
  };
}

type Column = (name: string, type: string, get: (s: ChainSpec, i: number) => unknown) => PlainFrame['fields'][number];

/** The hop and link columns of a multi-hop table; hop k and link k are counted back from the target. */
function chainColumns(specs: ChainSpec[], depth: number, col: Column): Array<PlainFrame['fields'][number]> {
  const H = CHAIN_HOP_FIELDS;
  const L = CHAIN_LINK_FIELDS;
  const earlier = (s: ChainSpec) => s.earlier ?? [];
  /** Hop k back (k >= 2) of a spec, or undefined. */
  const back = (s: ChainSpec, k: number) => earlier(s)[earlier(s).length - (k - 1)];
  const out = [
    col(CHAIN_PATH_FIELDS.hops, NUMBER, (s) => earlier(s).length + 2),
    col(CHAIN_PATH_FIELDS.chain, STRING, (s) =>
      chainText(
        [...earlier(s).map((h) => h.comm), s.wakerComm ?? 'kubelet', s.targetComm ?? 'wrk:worker_0'],
        [...earlier(s).map((h) => h.category), s.category ?? 'net.tcp.data']
      )
    ),
    col(CHAIN_PATH_FIELDS.endedBy, STRING, (s) => s.endedBy ?? 'none'),
    col(H.comm(1), STRING, (s) => s.wakerComm ?? 'kubelet'),
    col(H.proc(1), STRING, (s) => s.wakerProc ?? ''),
    col(H.pid(1), NUMBER, () => 600),
    col(H.tid(1), NUMBER, (s, i) => (s.wakerTid === undefined ? 606 + i : s.wakerTid)),
    col(H.context(1), STRING, (s) => s.wakerContext ?? 'task'),
  ];
  for (let k = 2; k <= depth; k++) {
    out.push(
      col(H.comm(k), STRING, (s) => back(s, k)?.comm ?? ''),
      col(H.proc(k), STRING, (s) => back(s, k)?.proc ?? ''),
      col(H.pid(k), NUMBER, (s) => (back(s, k) ? 700 : null)),
      col(H.tid(k), NUMBER, (s) => (back(s, k) ? (back(s, k)!.tid ?? 700 + k) : null)),
      col(H.context(k), STRING, (s) => (back(s, k) ? (back(s, k)!.context ?? 'task') : ''))
    );
  }
  for (let k = 2; k <= depth; k++) {
    out.push(
      col(L.category(k), STRING, (s) => back(s, k)?.category ?? ''),
      col(L.activity(k), STRING, (s) => back(s, k)?.activity ?? ''),
      col(L.stacksSampled(k), BOOLEAN, (s) => Boolean(back(s, k)?.wakerStack ?? back(s, k)?.targetStack)),
      col(L.wakerStack(k), STRING, (s) => (back(s, k)?.wakerStack ?? []).join('\n')),
      col(L.wakerStackKernelFrames(k), NUMBER, (s) => (back(s, k)?.wakerStack ? 1 : null)),
      col(L.targetStack(k), STRING, (s) => (back(s, k)?.targetStack ?? []).join('\n')),
      col(L.targetStackKernelFrames(k), NUMBER, (s) => (back(s, k)?.targetStack ? 1 : null))
    );
  }
  return out;
}

/** A small xorshift generator: the same seed, the same frame. */
function random(seed: number) {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) % 1_000_000) / 1_000_000;
  };
}

/**
 * A two-hop chain ending at an Envoy worker: wf-a posts to wf-b through an
 * eventfd, then wf-b (not Envoy) writes a pipe to the worker. Tests that need
 * a multi-hop chain start from this and change only what they look at.
 */
export const pipelineChain: ChainSpec = {
  id: 'a:1/chain/17',
  wakerComm: 'wf-b',
  wakerProc: 'wf-pipeline',
  wakerTid: 12,
  targetComm: 'worker_0',
  targetTid: 41,
  category: 'ipc.pipe',
  offcpu: 2.5,
  wakerStack: ['pipe_write', 'stage_b'],
  targetStack: ['pipe_read', 'stage_c'],
  earlier: [
    {
      comm: 'wf-a',
      proc: 'wf-pipeline',
      tid: 11,
      category: 'ipc.eventfd',
      wakerStack: ['eventfd_write', 'stage_a'],
      targetStack: ['eventfd_read', 'stage_b'],
    },
  ],
};

/**
 * `n` edges shaped like a busy Envoy node: a few dozen wakers, worker and
 * main threads over many pods, every category, weights spread over four
 * orders of magnitude (a long tail, as real chains have).
 */
export function syntheticChains(n: number, seed = 7): ChainSpec[] {
  const rnd = random(seed);
  const wakers = [
    'kubelet',
    'pilot-agent',
    'coredns',
    'swapper/0',
    'wrk:worker_0',
    'wrk:worker_1',
    'envoy',
    'containerd',
    'kworker/u4:1',
  ];
  const threads = [
    'wrk:worker_0',
    'wrk:worker_1',
    'wrk:worker_2',
    'wrk:worker_3',
    'envoy',
    'AccessLogFlush',
    'dog:main',
  ];
  const specs: ChainSpec[] = [];
  for (let i = 0; i < n; i++) {
    const category = CATEGORIES[Math.floor(rnd() * CATEGORIES.length)].id;
    const preempted = category.startsWith('preempt.');
    const count = 1 + Math.floor(rnd() ** 3 * 5000);
    specs.push({
      id: `node-${i % 3}/${i + 1}`,
      node: `10.0.0.${1 + (i % 3)}:9781`,
      wakerComm: preempted ? '' : `${wakers[Math.floor(rnd() * wakers.length)]}`,
      wakerTid: preempted ? null : 100 + Math.floor(rnd() * 400),
      wakerContext: preempted ? 'none' : rnd() < 0.15 ? 'softirq' : 'task',
      kind: preempted ? 'preempted' : 'blocked',
      preemptor: preempted ? `stress-ng-${Math.floor(rnd() * 3)}` : '',
      targetComm: threads[Math.floor(rnd() * threads.length)],
      targetTid: 4000 + Math.floor(rnd() * 600),
      pod: `productpage-v1-${Math.floor(rnd() * 40)}`,
      category,
      count,
      offcpu: count * (1e-5 + rnd() ** 2 * 2e-3),
      wakerStack: [
        '__wake_up_common',
        'ep_poll_callback',
        'sock_def_readable',
        'tcp_data_queue',
        'tcp_v4_rcv',
        'ip_rcv',
        'do_syscall_64',
        'write',
        'main',
      ],
      wakerKernelFrames: 7,
      targetStack: [
        'finish_task_switch',
        'schedule',
        'ep_poll',
        'do_epoll_wait',
        'epoll_wait',
        'event_base_loop',
        'start_thread',
      ],
      targetKernelFrames: 4,
      explanation: {
        category: { rule: 'tcp-data', frames: [{ stack: 'waker', index: 3 }], facts: ['waker.fd=socket'] },
      },
    });
  }
  return specs;
}

/**
 * A depth-3 panel shaped like the browser suite's chain pod: one four-hop chain
 * [timer] → wf-a → wf-b → wf-c, the heaviest into its target, among two-hop
 * chains into six other threads. Its first cause and second hop are alone in
 * their columns, so they sit at mid-height, while wf-c heads the targets'
 * column: the chain spans more than half the diagram's height.
 */
export function spreadChains(): ChainSpec[] {
  const others = ['wf-unix-recv', 'wf-loop', 'wf-tgt', 'wf-srv', 'wf-poster', 'wf-udp-recv'].map(
    (target, i): ChainSpec => ({
      id: `a:1/chain/${30 + i}`,
      wakerComm: i % 2 ? '[timer]' : `${target}-waker`,
      wakerTid: i % 2 ? null : 60 + i,
      wakerContext: i % 2 ? 'hardirq' : 'task',
      targetComm: target,
      targetTid: 50 + i,
      category: i % 2 ? 'timer' : 'net.unix',
      offcpu: 13 - i,
    })
  );
  return [
    {
      ...pipelineChain,
      targetComm: 'wf-c',
      targetProc: 'wf-chainload',
      targetTid: 13,
      offcpu: 14,
      earlier: [{ comm: '[timer]', tid: null, context: 'hardirq', category: 'timer' }, ...pipelineChain.earlier!],
    },
    ...others,
  ];
}

/**
 * A depth-1 panel like the browser suite's partial answer: one interrupt
 * waking twenty threads for seconds each, a few threads waking one other,
 * and two preemptions a thousand times lighter than the rest, whose nodes
 * are a pixel or two tall at the bottom of both columns.
 */
export function thinPreemptions(): ChainSpec[] {
  const timers = Array.from({ length: 20 }, (_, i): ChainSpec => ({
    id: `a:1/${i + 1}`,
    wakerComm: '[timer]',
    wakerTid: null,
    wakerContext: 'hardirq',
    targetComm: `wf-thread-${i}`,
    targetTid: 100 + i,
    category: 'timer',
    offcpu: 3 + (i % 5) * 0.1,
  }));
  const pairs = ['wf-signaler', 'wf-unix-send', 'wf-udp-send', 'wf-b', 'wf-poster', 'wf-srv'].map(
    (waker, i): ChainSpec => ({
      id: `a:1/${30 + i}`,
      wakerComm: waker,
      wakerTid: 200 + i,
      targetComm: `${waker}-peer`,
      targetTid: 300 + i,
      category: 'net.unix',
      offcpu: 2 - i * 0.1,
    })
  );
  const preemptions = ['stress-a', 'stress-b'].map((by, i): ChainSpec => ({
    id: `a:1/${40 + i}`,
    wakerComm: '',
    wakerTid: null,
    wakerContext: 'none',
    kind: 'preempted',
    preemptor: by,
    targetComm: `wf-spinner-${i}`,
    targetTid: 400 + i,
    category: 'preempt.involuntary',
    offcpu: 0.004 - i * 0.001,
  }));
  return [...timers, ...pairs, ...preemptions];
}
