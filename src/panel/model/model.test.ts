// SPDX-License-Identifier: Apache-2.0
import type { DataFrame } from '@grafana/data';

import {
  chainsFrame,
  pipelineChain,
  spreadChains,
  syntheticChains,
  thinPreemptions,
  type ChainSpec,
} from '../testing/syntheticChains';
import { computeBreakdown } from './breakdown';
import { NotChainsError, readChains } from './chains';
import { describeDecision } from './explanation';
import { buildGraph, chainLinkIds, filterRows, OTHER } from './graph';
import { layoutGraph, NODE_WIDTH, type Layout } from './layout';
import { LABEL_LINE, placeLabels, type LabelBox } from './labels';
import { detailsScrollTop, detailsViewHeight, selectionExtent } from './selectionView';
import { chainFoldedLines, chainStacksText, foldedLine, frameAt, offwaketimeText } from './stacks';

const frame = (specs: ChainSpec[], meta?: Record<string, unknown>) => chainsFrame(specs, meta) as unknown as DataFrame;
const options = { weight: 'offcpu' as const, maxLinks: 100, wakerIdentity: 'name' as const };

/** The kubelet → worker TCP close of capture 000 (shared/fixtures/offwaketime), as the agent returns it: innermost first. */
const tcpClose: ChainSpec = {
  wakerComm: 'kubelet',
  wakerTid: 606,
  targetComm: 'wrk:worker_1',
  targetTid: 4450,
  category: 'net.tcp.close',
  count: 1,
  offcpu: 182e-6,
  wakerStack: [
    'autoremove_wake_function',
    'sock_def_wakeup',
    'tcp_fin',
    'tcp_v4_rcv',
    'ip_rcv',
    '__local_bh_enable_ip',
    'tcp_close',
    'close',
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
    category: { rule: 'tcp-close', frames: [{ stack: 'waker', index: 2 }], facts: ['waker.syscall=close'] },
    activity: { rule: 'worker-loop', target_frames: [5] },
  },
};

describe('reading the chains frame', () => {
  it('reads every field of a row, stacks as lists innermost first', () => {
    const { rows } = readChains([frame([tcpClose])]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      wakerComm: 'kubelet',
      wakerTid: 606,
      targetComm: 'wrk:worker_1',
      category: 'net.tcp.close',
      offcpu: 182e-6,
      wakerKernelFrames: 7,
      labels: { namespace: 'bookinfo' },
    });
    expect(rows[0].wakerStack[0]).toBe('autoremove_wake_function');
    expect(rows[0].explanation.decisions.map((d) => d.frames)).toEqual([
      [{ stack: 'waker', index: 2 }],
      [{ stack: 'target', index: 5 }],
    ]);
  });

  it('collects the notices of every frame once (agents that did not answer)', () => {
    const notice = { severity: 'warning', text: 'agent 10.0.0.9:9781 did not answer: timeout after 10 s' };
    const { notices } = readChains([
      frame([tcpClose], { notices: [notice] }),
      { name: 'nodes', fields: [], length: 0, meta: { notices: [notice] } } as DataFrame,
    ]);
    expect(notices).toEqual([notice]);
  });

  it('names the missing fields of a frame that is not a chains table', () => {
    const other = {
      name: 'offcpu',
      length: 1,
      fields: [{ name: 'time', type: 'time', values: [1], config: {} }],
    } as unknown as DataFrame;
    expect(() => readChains([other])).toThrow(NotChainsError);
    expect(() => readChains([other])).toThrow(/no waker_comm, target_comm, category, offcpu field/);
  });

  it('is empty, not an error, for no frames at all', () => {
    expect(readChains([])).toEqual({ rows: [], notices: [] });
  });

  it('drops explanation frames outside the stack and ignores an unreadable explanation', () => {
    const { rows } = readChains([
      frame([
        { ...tcpClose, explanation: { category: { rule: 'r', frames: [{ stack: 'waker', index: 99 }, 1] } } },
        { ...tcpClose, explanation: undefined },
      ]),
    ]);
    expect(rows[0].explanation.decisions[0].frames).toEqual([{ stack: 'waker', index: 1 }]);
    expect(rows[1].explanation.decisions).toEqual([]);
  });
});

describe('stacks as offwaketime prints them', () => {
  const row = readChains([frame([tcpClose])]).rows[0];

  it('prints the waker outermost first, --, the target innermost first, and the value in µs', () => {
    const text = offwaketimeText(row);
    const lines = text.split('\n');
    expect(lines[0]).toBe('    waker:           kubelet 606');
    expect(lines[1]).toBe('    close'); // outermost waker frame first
    expect(lines.indexOf('    --               --')).toBeGreaterThan(0);
    expect(lines[lines.length - 2]).toBe('    target:          wrk:worker_1 4450');
    expect(lines[lines.length - 1]).toBe('        182');
    // `-` between kernel and user frames, as offwaketime -d
    expect(lines.filter((l) => l === '    -')).toHaveLength(2);
  });

  it('marks the frames that decided with the rule, like the annotated captures', () => {
    const text = offwaketimeText(row);
    expect(text).toContain('    tcp_fin <<<< category net.tcp.close (rule tcp-close)');
    expect(text).toContain('    event_base_loop <<<< activity  (rule worker-loop)');
  });

  it('gives the one-line reason', () => {
    const d = row.explanation.decisions[0];
    expect(describeDecision(d, row.category, (ref) => frameAt(row, ref))).toBe(
      'category net.tcp.close by rule tcp-close (waker frame tcp_fin; fact waker.syscall=close)'
    );
  });

  it('folds as offwaketime -f: target outermost first, --, waker innermost first, waker, µs', () => {
    expect(foldedLine(row)).toBe(
      'wrk:worker_1;start_thread;event_base_loop;epoll_wait;do_epoll_wait;ep_poll;schedule;finish_task_switch;--;' +
        'autoremove_wake_function;sock_def_wakeup;tcp_fin;tcp_v4_rcv;ip_rcv;__local_bh_enable_ip;tcp_close;close;kubelet 182'
    );
  });
});

describe('graph of chains', () => {
  it('makes waker and target columns; preemptions and interrupts get their own wakers', () => {
    const { rows } = readChains([
      frame([
        tcpClose,
        {
          ...tcpClose,
          wakerComm: '',
          wakerTid: null,
          wakerContext: 'none',
          kind: 'preempted',
          preemptor: 'stress-ng',
          category: 'preempt.involuntary',
        },
        { ...tcpClose, wakerComm: '[net-rx]', wakerTid: null, wakerContext: 'softirq', category: 'net.udp' },
        { ...tcpClose, wakerTid: 607, targetTid: 4451 },
      ]),
    ]);
    const graph = buildGraph(rows, options);
    expect(graph.columns).toBe(2);
    expect(
      graph.nodes
        .filter((n) => n.column === 0)
        .map((n) => n.title)
        .sort()
    ).toEqual(['[net-rx]', 'kubelet', 'preempted by stress-ng']);
    // Wakers by name: one kubelet node for its two threads, and it says so.
    expect(graph.nodes.find((n) => n.title === 'kubelet')?.subtitle).toBe('2 threads');
    // Targets: the pod first, since every pod's Envoy has the same thread names and a long subtitle is cut at its end.
    expect(graph.nodes.find((n) => n.title === 'wrk:worker_1')?.subtitle).toBe(
      'productpage-v1-7d9f8c6b5-x2k4q · envoy · worker'
    );
    expect(graph.nodes.filter((n) => n.column === 1)).toHaveLength(2);
    expect(graph.links).toHaveLength(4);
  });

  it('tells apart nodes of one column with the same title: by each of pod, process and thread id that does', () => {
    // The kernel's 15-character names repeat: every wakeflow-workload process's main thread is "wakeflow-worklo".
    const worklo = { ...tcpClose, targetComm: 'wakeflow-worklo', targetProc: 'wakeflow-worklo', targetRole: 'other' };
    const targets = (specs: ChainSpec[]) =>
      buildGraph(readChains([frame(specs)]).rows, options)
        .nodes.filter((n) => n.column === 1)
        .map((n) => [n.title, ...n.qualifiers])
        .sort();
    // Pods differ: the pod says it first, the thread id too; a name that does not repeat has no qualifier.
    expect(
      targets([
        { ...worklo, id: 'a/1', targetTid: 10, pod: 'cart-1' },
        { ...worklo, id: 'a/2', targetTid: 20, pod: 'shop-2' },
        { ...tcpClose, id: 'a/3', pod: 'cart-1' },
      ])
    ).toEqual([['wakeflow-worklo', 'cart-1', 'tid 10'], ['wakeflow-worklo', 'shop-2', 'tid 20'], ['wrk:worker_1']]);
    // One pod (or one agent outside Kubernetes), one process name: the thread id.
    expect(
      targets([
        { ...worklo, id: 'a/1', targetTid: 10 },
        { ...worklo, id: 'a/2', targetTid: 20 },
      ])
    ).toEqual([
      ['wakeflow-worklo', 'tid 10'],
      ['wakeflow-worklo', 'tid 20'],
    ]);
    // Two pods holding three of them: the pod does not tell all apart, the thread id does.
    expect(
      targets([
        { ...worklo, id: 'a/1', targetTid: 10, pod: 'cart-1' },
        { ...worklo, id: 'a/2', targetTid: 20, pod: 'cart-1' },
        { ...worklo, id: 'a/3', targetTid: 30, pod: 'shop-2' },
      ])
    ).toEqual([
      ['wakeflow-worklo', 'tid 10'],
      ['wakeflow-worklo', 'tid 20'],
      ['wakeflow-worklo', 'tid 30'],
    ]);
    // Wakers one node per thread: two kubelet threads, told apart by their thread ids.
    const wakers = buildGraph(
      readChains([
        frame([
          { ...tcpClose, id: 'a/1' },
          { ...tcpClose, id: 'a/2', wakerTid: 700 },
        ]),
      ]).rows,
      { ...options, wakerIdentity: 'thread' }
    ).nodes.filter((n) => n.column === 0);
    expect(wakers.map((n) => [n.title, ...n.qualifiers]).sort()).toEqual([
      ['kubelet', 'tid 606'],
      ['kubelet', 'tid 700'],
    ]);
  });

  it('folds chains beyond the cap into one other link per category, keeping the totals', () => {
    const { rows } = readChains([frame(syntheticChains(2000))]);
    const graph = buildGraph(rows, { ...options, maxLinks: 50 });
    const drawn = graph.links.filter((l) => !l.other);
    expect(drawn).toHaveLength(50);
    expect(graph.folded).toBe(1950);
    const others = graph.links.filter((l) => l.other);
    expect(new Set(others.map((l) => l.category)).size).toBe(others.length);
    const sum = (xs: Array<{ offcpu: number }>) => xs.reduce((s, x) => s + x.offcpu, 0);
    expect(sum(graph.links)).toBeCloseTo(sum(rows), 6);
    // The drawn chains are the heaviest.
    const lightestDrawn = Math.min(...drawn.map((l) => l.offcpu));
    expect(others.every((l) => l.rows.every((r) => r.offcpu <= lightestDrawn))).toBe(true);
    expect(graph.nodes.some((n) => n.id.endsWith(`|${OTHER}`))).toBe(true);
  });

  it('weights by wakeups when asked', () => {
    const { rows } = readChains([
      frame([
        { ...tcpClose, count: 5, offcpu: 1 },
        { ...tcpClose, wakerComm: 'coredns', count: 50, offcpu: 0.1 },
      ]),
    ]);
    const graph = buildGraph(rows, { ...options, weight: 'count', maxLinks: 1 });
    expect(graph.links.find((l) => !l.other)?.rows[0].wakerComm).toBe('coredns');
  });

  it('filters by category and by activity (none for no activity)', () => {
    const { rows } = readChains([
      frame([tcpClose, { ...tcpClose, category: 'ipc.eventfd', activity: 'envoy.dispatcher_post' }]),
    ]);
    expect(filterRows(rows, { categories: ['ipc.eventfd'], activities: [] })).toHaveLength(1);
    expect(filterRows(rows, { categories: [], activities: ['none'] }).map((r) => r.category)).toEqual([
      'net.tcp.close',
    ]);
  });

  it('lays out links as thick at both ends, inside the box, on one scale', () => {
    const { rows } = readChains([frame(syntheticChains(300))]);
    const graph = buildGraph(rows, options);
    const layout = layoutGraph(graph, 900, 400);
    for (const box of layout.nodes) {
      expect(box.y).toBeGreaterThanOrEqual(0);
      expect(box.y + box.height).toBeLessThanOrEqual(400.5);
    }
    const heaviest = [...layout.links].sort((a, b) => b.link.value - a.link.value);
    expect(heaviest[0].width).toBeGreaterThanOrEqual(heaviest[heaviest.length - 1].width);
    const ratio = heaviest[0].width / heaviest[0].link.value;
    const nonMinimal = heaviest.filter((l) => l.width > 1);
    for (const l of nonMinimal) {
      expect(l.width / l.link.value).toBeCloseTo(ratio, 6);
    }
  });

  it('lays out any number of columns: a multi-hop chain (issue 12) gets one column per hop', () => {
    // chainPath yields two nodes today; the layout is given a four-column graph by hand, as issue 12's will be.
    const node = (id: string, column: number, value: number) => ({
      id,
      column,
      title: id,
      subtitle: '',
      qualifiers: [],
      value,
      offcpu: value,
      count: 1,
      other: false,
    });
    const link = (source: string, target: string, column: number, value: number) => ({
      id: `${source}>${target}`,
      source,
      target,
      column,
      category: 'net.tcp.data',
      activity: '',
      value,
      offcpu: value,
      count: 1,
      rows: [],
      other: false,
    });
    const graph = {
      columns: 4,
      nodes: [
        node('irq', 0, 3),
        node('kubelet', 1, 3),
        node('pilot', 2, 3),
        node('worker_0', 3, 2),
        node('main', 3, 1),
      ],
      links: [
        link('irq', 'kubelet', 0, 3),
        link('kubelet', 'pilot', 1, 3),
        link('pilot', 'worker_0', 2, 2),
        link('pilot', 'main', 2, 1),
      ],
      folded: 0,
      total: 4,
    };
    const layout = layoutGraph(graph, 1000, 300);
    const x = (id: string) => layout.byNode.get(id)!.x;
    expect(x('irq')).toBeLessThan(x('kubelet'));
    expect(x('kubelet')).toBeLessThan(x('pilot'));
    expect(x('pilot')).toBeLessThan(x('worker_0'));
    expect(x('worker_0')).toBe(x('main'));
    // Evenly spaced, and every link spans exactly its two neighbouring columns.
    expect(x('pilot') - x('kubelet')).toBeCloseTo(x('kubelet') - x('irq'), 6);
    for (const l of layout.links) {
      // d is "M x0,y0 C xm,y0 xm,y1 x1,y1", rounded to 0.1 px.
      const xs = [...l.d.matchAll(/(-?[\d.]+),/g)].map((m) => Number(m[1]));
      expect(xs[0]).toBeCloseTo(x(l.link.source) + NODE_WIDTH, 1);
      expect(xs[xs.length - 1]).toBeCloseTo(x(l.link.target), 1);
    }
    // One scale for every column: the two links out of pilot are together as thick as the one into it.
    const width = (id: string) => layout.links.find((l) => l.link.id === id)!.width;
    expect(width('pilot>worker_0') + width('pilot>main')).toBeCloseTo(width('kubelet>pilot'), 6);
  });
});

describe('breakdown', () => {
  it('gives shares of time and count per category and activity, and the preempted share', () => {
    const { rows } = readChains([
      frame([
        { ...tcpClose, offcpu: 3, count: 1 },
        { ...tcpClose, category: 'preempt.involuntary', offcpu: 1, count: 3, activity: '' },
      ]),
    ]);
    const b = computeBreakdown(rows);
    expect(b.categories.map((c) => [c.key, c.offcpuShare, c.countShare])).toEqual([
      ['net.tcp.close', 0.75, 0.25],
      ['preempt.involuntary', 0.25, 0.75],
    ]);
    expect(b.preempted).toMatchObject({ offcpuShare: 0.25, countShare: 0.75 });
    expect(b.activities.map((a) => a.key)).toEqual(['none']);
  });

  it('is all zeros, not NaN, for chains without time', () => {
    const { rows } = readChains([frame([{ ...tcpClose, offcpu: 0, count: 0 }])]);
    expect(computeBreakdown(rows).categories[0]).toMatchObject({ offcpuShare: 0, countShare: 0 });
  });
});

describe('multi-hop chains (issue 12)', () => {
  const interrupted: ChainSpec = {
    id: 'a:1/chain/19',
    wakerComm: '[net-rx]',
    wakerContext: 'softirq',
    wakerTid: null,
    targetComm: 'worker_1',
    targetTid: 42,
    category: 'net.tcp.data',
    offcpu: 0.5,
    endedBy: 'interrupt',
  };
  const read = (specs: ChainSpec[], depth = 3) =>
    readChains([chainsFrame(specs, {}, depth) as unknown as DataFrame]).rows;

  it('reads hops from the first cause to the target and one link fewer, each with its stacks', () => {
    const [p, irq] = read([pipelineChain, interrupted]);
    expect(p.hops.map((h) => [h.comm, h.proc, h.tid])).toEqual([
      ['wf-a', 'wf-pipeline', 11],
      ['wf-b', 'wf-pipeline', 12],
      ['worker_0', 'envoy', 41],
    ]);
    expect(p.links.map((l) => l.category)).toEqual(['ipc.eventfd', 'ipc.pipe']);
    expect(p.links[0].wakerStack).toEqual(['eventfd_write', 'stage_a']);
    expect(p.links[1].wakerStack).toEqual(['pipe_write', 'stage_b']);
    expect(irq.hops).toHaveLength(2);
    expect(irq.endedBy).toBe('interrupt');
    // A table of edges (depth 1) reads as two hops and its own link.
    const [edge] = read([tcpClose], 1);
    expect(edge.hops.map((h) => h.comm)).toEqual(['kubelet', 'wrk:worker_1']);
    expect(edge.links).toHaveLength(1);
    expect(edge.links[0].category).toBe('net.tcp.close');
  });

  it('draws one column per hop, aligned at the targets; each link its own category; a non-Envoy hop shows its process', () => {
    const rows = read([pipelineChain, interrupted]);
    const graph = buildGraph(rows, options);
    expect(graph.columns).toBe(3);
    const byTitle = new Map(graph.nodes.map((n) => [n.title, n]));
    expect(byTitle.get('wf-a')!.column).toBe(0);
    expect(byTitle.get('wf-b')!.column).toBe(1);
    expect(byTitle.get('[net-rx]')!.column).toBe(1);
    expect(byTitle.get('worker_0')!.column).toBe(2);
    expect(byTitle.get('wf-b')!.subtitle).toBe('wf-pipeline · thread 12');
    expect(byTitle.get('wf-a')!.subtitle).toBe('wf-pipeline · thread 11');
    const chain = graph.links.filter((l) => l.rows[0] === rows[0]);
    expect(chain.map((l) => [l.column, l.category])).toEqual([
      [0, 'ipc.eventfd'],
      [1, 'ipc.pipe'],
    ]);
    const layout = layoutGraph(graph, 900, 400);
    const xs = [...new Set(layout.nodes.map((b) => b.x))];
    expect(xs).toHaveLength(3);
  });

  it('the links of one chain are found together (the panel highlights the whole chain)', () => {
    const rows = read([pipelineChain, interrupted]);
    const graph = buildGraph(rows, options);
    const first = graph.links.find((l) => l.category === 'ipc.eventfd')!;
    const ids = chainLinkIds(graph, first.id);
    // Copy stacks / Copy folded give every hop, first cause first.
    const text = chainStacksText(rows[0]);
    expect(text.split('\n\n')).toHaveLength(2);
    expect(text).toMatch(/waker: {11}wf-a 11[\s\S]*eventfd_write[\s\S]*target: {10}wf-b 12/);
    expect(chainFoldedLines(rows[0]).split('\n')).toEqual([
      'wf-b;stage_b;eventfd_read;--;eventfd_write;stage_a;wf-a 2500000',
      'worker_0;stage_c;pipe_read;--;pipe_write;stage_b;wf-b 2500000',
    ]);
    expect(ids.sort()).toEqual(
      graph.links
        .filter((l) => l.rows[0] === rows[0])
        .map((l) => l.id)
        .sort()
    );
    expect(ids).toHaveLength(2);
  });
});

describe('labels and the view above the details', () => {
  interface Box {
    left: number;
    right: number;
    top: number;
    bottom: number;
    what: string;
  }
  const labelBox = (l: LabelBox): Box => ({
    left: l.left,
    right: l.left + l.width,
    top: l.top,
    bottom: l.top + l.height,
    what: `label of ${l.nodeId}`,
  });
  const nodeBoxes = (layout: Layout): Box[] =>
    layout.nodes.map((b) => ({
      left: b.x,
      right: b.x + NODE_WIDTH,
      top: b.y,
      bottom: b.y + b.height,
      what: `node ${b.node.id}`,
    }));
  const overlap = (a: Box, b: Box) =>
    Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.01 &&
    Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.01;
  const overlaps = (boxes: Box[]) =>
    boxes.flatMap((a, i) =>
      boxes
        .slice(i + 1)
        .filter((b) => overlap(a, b))
        .map((b) => `${a.what} / ${b.what}`)
    );

  // A 620 px panel: the layout's height with the one-line notice above (partial answer), and without.
  const cases: Array<[string, DataFrame, number, number]> = [
    ['two preemptions a thousand times lighter than the rest', frame(thinPreemptions()), 900, 620 - 36 - 8],
    ['a four-hop chain among two-hop ones', chainsFrame(spreadChains(), {}, 3) as unknown as DataFrame, 900, 612],
    ['the same, in a narrow panel', chainsFrame(spreadChains(), {}, 3) as unknown as DataFrame, 560, 612],
  ];
  it.each(cases)('every node gets a label box, and no two labels or a label and a node overlap: %s', (_, f, w, h) => {
    const layout = layoutGraph(buildGraph(readChains([f]).rows, options), w, h);
    const labels = placeLabels(layout, h);
    expect(layout.nodes.filter((b) => !labels.has(b.node.id)).map((b) => b.node.id)).toEqual([]);
    for (const l of labels.values()) {
      expect(l.top).toBeGreaterThanOrEqual(0);
      expect(l.top + l.height).toBeLessThanOrEqual(h);
      expect(l.title.length).toBeGreaterThan(0);
    }
    expect(overlaps([...[...labels.values()].map(labelBox), ...nodeBoxes(layout)])).toEqual([]);
  });

  it('the lightest nodes are thinner than a line, and their labels move apart with a leader to the node', () => {
    const h = 620 - 36 - 8;
    const layout = layoutGraph(buildGraph(readChains([frame(thinPreemptions())]).rows, options), 900, h);
    const labels = placeLabels(layout, h);
    const thin = layout.nodes.filter((b) => b.height < LABEL_LINE / 2);
    // Both preemptions' two ends: the preemptors and the preempted threads.
    expect(thin.map((b) => b.node.title).sort()).toEqual([
      'preempted by stress-a',
      'preempted by stress-b',
      'wf-spinner-0',
      'wf-spinner-1',
    ]);
    // A label whose line is off its node's height has a leader from the node's middle to the label's.
    const off = layout.nodes.filter((b) => {
      const l = labels.get(b.node.id)!;
      return l.titleY < b.y - 2 || l.titleY > b.y + b.height + 2;
    });
    expect(off.length).toBeGreaterThan(0);
    for (const b of off) {
      const l = labels.get(b.node.id)!;
      expect(l.leader).toBeDefined();
      expect(l.leader!.y0).toBeCloseTo(b.y + b.height / 2, 0);
      expect(l.leader!.y1).toBeCloseTo(l.titleY, 0);
    }
  });

  it('a column with more nodes than lines of text names its heaviest, as many as fit', () => {
    const layout = layoutGraph(buildGraph(readChains([frame(syntheticChains(300))]).rows, options), 900, 300);
    const labels = placeLabels(layout, 300);
    const targets = layout.nodes.filter((b) => b.node.column === 1);
    const named = targets.filter((b) => labels.has(b.node.id));
    expect(named).toHaveLength(Math.floor(300 / LABEL_LINE));
    const lightestNamed = Math.min(...named.map((b) => b.node.value));
    expect(targets.filter((b) => !labels.has(b.node.id)).every((b) => b.node.value <= lightestNamed)).toBe(true);
    expect(overlaps([...labels.values()].map(labelBox))).toEqual([]);
  });

  it('with the details open in a 620 px panel, the view above them shows the selected chain whole', () => {
    const height = 620;
    const layoutTop = 4;
    const graph = buildGraph(readChains([chainsFrame(spreadChains(), {}, 3) as unknown as DataFrame]).rows, options);
    const layout = layoutGraph(graph, 900, height - 2 * layoutTop);
    const labels = placeLabels(layout, height - 2 * layoutTop);
    const nodeTitle = (id: string) => graph.nodes.find((n) => n.id === id)!.title;
    const selected = graph.links.find((l) => nodeTitle(l.source) === 'wf-b' && nodeTitle(l.target) === 'wf-c')!;
    const chain = chainLinkIds(graph, selected.id).map((id) => graph.links.find((l) => l.id === id)!);
    const nodes = [...new Set(chain.flatMap((l) => [l.source, l.target]))];
    expect(nodes.map(nodeTitle)).toEqual(expect.arrayContaining(['[timer]', 'wf-a', 'wf-b', 'wf-c']));
    expect(nodes).toHaveLength(4);
    const extent = selectionExtent(layout, (id) => labels.get(id), nodes)!;
    // Taller than a view of 45 % of the panel (what the view was before): that view could not show it whole.
    expect(extent.bottom - extent.top).toBeGreaterThan(height * 0.45);
    const view = detailsViewHeight(height, extent);
    expect(height - view).toBeGreaterThanOrEqual(200); // the details keep room
    const focus = layout.links.find((l) => l.link.id === selected.id)!.midY;
    // From the top, from the bottom, and from where the chain shows already: the whole chain in the view.
    for (const current of [0, height - view, extent.top]) {
      const top = detailsScrollTop(height, view, extent, focus, current, layoutTop);
      for (const id of nodes) {
        const box = layout.byNode.get(id)!;
        const label = labels.get(id)!;
        for (const [y0, y1] of [
          [box.y, box.y + box.height],
          [label.top, label.top + label.height],
        ]) {
          expect(y0 + layoutTop).toBeGreaterThanOrEqual(top);
          expect(y1 + layoutTop).toBeLessThanOrEqual(top + view);
        }
      }
    }
  });
});
