// SPDX-License-Identifier: Apache-2.0
import React from 'react';
import { LoadingState, getDefaultTimeRange, type DataFrame, type PanelData, type PanelProps } from '@grafana/data';
import { act, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { TEST_IDS } from '../../common/testIds';
import { DEFAULT_OPTIONS, type ChainsPanelOptions } from '../options';
import {
  chainsFrame,
  pipelineChain,
  spreadChains,
  syntheticChains,
  thinPreemptions,
  type ChainSpec,
} from '../testing/syntheticChains';
import { ChainsPanel } from './ChainsPanel';

const tcpData: ChainSpec = {
  id: 'a/1',
  wakerComm: 'kubelet',
  wakerTid: 606,
  targetComm: 'wrk:worker_0',
  targetTid: 4450,
  category: 'net.tcp.data',
  count: 12,
  offcpu: 0.25,
  wakerStack: ['sock_def_readable', 'tcp_data_queue', 'tcp_v4_rcv', 'write'],
  wakerKernelFrames: 3,
  targetStack: ['finish_task_switch', 'schedule', 'epoll_wait'],
  targetKernelFrames: 2,
  explanation: { category: { rule: 'tcp-data', frames: [{ stack: 'waker', index: 1 }] } },
};
const preempted: ChainSpec = {
  id: 'a/2',
  wakerComm: '',
  wakerTid: null,
  wakerContext: 'none',
  kind: 'preempted',
  preemptor: 'stress-ng',
  targetComm: 'wrk:worker_1',
  targetTid: 4451,
  category: 'preempt.involuntary',
  count: 40,
  offcpu: 0.75,
};

function renderPanel(
  series: DataFrame[],
  state = LoadingState.Done,
  options: Partial<ChainsPanelOptions> = {},
  extra: Partial<PanelData> = {},
  width = 900,
  height = 600
) {
  const data: PanelData = { series, state, timeRange: getDefaultTimeRange(), ...extra };
  const props = {
    data,
    options: { ...DEFAULT_OPTIONS, ...options },
    width,
    height,
    id: 1,
    timeRange: data.timeRange,
    timeZone: 'utc',
    title: 'Wake chains',
    transparent: false,
    fieldConfig: { defaults: {}, overrides: [] },
    renderCounter: 0,
    replaceVariables: (s: string) => s,
    onOptionsChange: jest.fn(),
    onFieldConfigChange: jest.fn(),
    onChangeTimeRange: jest.fn(),
    eventBus: {} as PanelProps['eventBus'],
  } as unknown as PanelProps<ChainsPanelOptions>;
  render(<ChainsPanel {...props} />);
  return { user: userEvent.setup() };
}

const frames = (specs: ChainSpec[], meta?: Record<string, unknown>) => [
  chainsFrame(specs, meta) as unknown as DataFrame,
];

describe('ChainsPanel', () => {
  it('draws one link per chain and a node per waker and target', () => {
    renderPanel(frames([tcpData, preempted]));
    const diagram = screen.getByTestId(TEST_IDS.panel.diagram);
    expect(
      within(diagram).getByRole('button', { name: /^kubelet woke wrk:worker_0: TCP data; 250 ms off CPU, 12 wakeups/ })
    ).toBeInTheDocument();
    expect(
      within(diagram).getByRole('button', { name: /^preempted by stress-ng woke wrk:worker_1: Preempted/ })
    ).toBeInTheDocument();
    expect(within(diagram).getAllByRole('button', { name: /^wrk:worker_\d \(/ })).toHaveLength(2);
  });

  it('shows the stacks of a clicked link, with the deciding frame marked', async () => {
    const { user } = renderPanel(frames([tcpData, preempted]));
    await user.click(screen.getByRole('button', { name: /^kubelet woke wrk:worker_0/ }));
    const details = screen.getByTestId(TEST_IDS.panel.details);
    expect(within(details).getByRole('heading', { name: 'kubelet → wrk:worker_0' })).toBeInTheDocument();
    const stacks = within(details).getByTestId(TEST_IDS.panel.stacks);
    expect(stacks).toHaveTextContent('waker: kubelet 606');
    expect(
      within(stacks)
        .getByText(/tcp_data_queue/)
        .closest('mark')
    ).toHaveTextContent('<<<< category net.tcp.data (rule tcp-data)');
    expect(
      within(details).getByText('category net.tcp.data by rule tcp-data (waker frame tcp_data_queue)')
    ).toBeInTheDocument();
    expect(within(details).getByRole('button', { name: /copy stacks/i })).toBeInTheDocument();
    expect(within(details).getByRole('button', { name: /copy folded/i })).toBeInTheDocument();
  });

  it('multi-hop: one column per hop; a link selects its whole chain; the details show each hop with its stacks', async () => {
    const chain: ChainSpec = { ...pipelineChain, targetComm: 'wf-c', targetProc: 'wf-pipeline', targetTid: 13 };
    const { user } = renderPanel([chainsFrame([chain, tcpData], {}, 3) as unknown as DataFrame]);
    const link = (name: RegExp) => within(screen.getByTestId(TEST_IDS.panel.diagram)).getByRole('button', { name });
    await user.click(link(/^wf-a woke wf-b: Eventfd/i));
    const first = link(/^wf-a woke wf-b: Eventfd/i);
    const second = link(/^wf-b woke wf-c: Pipe/i);
    const other = link(/^kubelet woke wrk:worker_0/);
    expect(first).toHaveAttribute('aria-pressed', 'true');
    expect(first).toHaveClass('wf-selected');
    expect(second).toHaveClass('wf-related');
    expect(other).not.toHaveClass('wf-related');
    const details = screen.getByTestId(TEST_IDS.panel.details);
    expect(details).toHaveTextContent('Chain wf-a -[ipc.eventfd]-> wf-b -[ipc.pipe]-> wf-c');
    expect(details).not.toHaveTextContent('The backend sent no explanation');
    const hops = within(details).getByTestId(TEST_IDS.panel.hops);
    const sections = within(hops).getAllByRole('region', { name: /^Hop \d/ });
    expect(sections.map((x) => x.getAttribute('aria-label'))).toEqual([
      'Hop 1: wf-a 11 (wf-pipeline) woke wf-b 12 (wf-pipeline)',
      'Hop 2: wf-b 12 (wf-pipeline) woke wf-c 13 (wf-pipeline)',
    ]);
    expect(within(sections[0]).getByTestId(TEST_IDS.panel.stacks)).toHaveTextContent('eventfd_write');
    expect(within(sections[1]).getByTestId(TEST_IDS.panel.stacks)).toHaveTextContent('pipe_write');
  });

  it('names both ends of a selected link even where the diagram is too short for their labels', async () => {
    const { user } = renderPanel(frames(syntheticChains(300)));
    const diagram = screen.getByTestId(TEST_IDS.panel.diagram);
    const ends = () => Array.from(diagram.querySelectorAll('.wf-selected-labels text')).map((t) => t.textContent);
    expect(ends()).toEqual([]);
    // The 100th heaviest chain (the default Links shown), not the folded "other" links after it.
    const links = within(diagram).getAllByRole('button', { name: /^(?!other wakers).* woke / });
    const lightest = links[links.length - 1];
    const [source, target] = lightest.getAttribute('aria-label')!.split(/ woke |: /);
    await user.click(lightest);
    // A hundred nodes in a column: the light link's nodes are below the label height.
    expect(ends().length).toBeGreaterThan(0);
    for (const end of ends()) {
      // A long name is cut to the label column's width, with an ellipsis; what tells a repeated name apart
      // (in parentheses) is kept whole.
      const [, title] = /^(.*?)( \([^()]*\))?$/.exec(end!)!;
      const shown = title.replace(/…$/, '');
      expect([source, target].some((name) => name.startsWith(shown))).toBe(true);
    }
  }, 90_000); // hundreds of elements with accessible names: jsdom's role queries take seconds on a loaded machine

  it('names every node drawn, the thinnest at the bottom of a column too', () => {
    renderPanel(frames(thinPreemptions()), LoadingState.Done, {}, {}, 1200, 620);
    const diagram = screen.getByTestId(TEST_IDS.panel.diagram);
    const rects = Array.from(diagram.querySelectorAll('rect[data-node]'));
    expect(rects).toHaveLength(9 + 28); // [timer], six wakers, two preemptors; 28 threads
    const unnamed = rects
      .filter(
        (r) => !diagram.querySelector(`[data-label-of="${CSS.escape(r.getAttribute('data-node')!)}"]`)?.textContent
      )
      .map((r) => `${r.getAttribute('aria-label')!.split(':')[0]} (${r.getAttribute('height')} px)`);
    expect(unnamed).toEqual([]);
  });

  it('keeps the whole selected chain in view above the details, in a 620 px panel', async () => {
    const { user } = renderPanel(
      [chainsFrame(spreadChains(), {}, 3) as unknown as DataFrame],
      LoadingState.Done,
      {},
      {},
      1200,
      620
    );
    const diagram = screen.getByTestId(TEST_IDS.panel.diagram);
    await user.click(within(diagram).getByRole('button', { name: /^wf-b woke wf-c: pipe/i }));
    expect(screen.getByTestId(TEST_IDS.panel.details)).toBeInTheDocument();
    const view = diagram.parentElement!;
    const [top, height] = [view.scrollTop, parseFloat(view.style.height)];
    expect(height).toBeLessThan(620 - 150); // the details have room below
    // The chain's four nodes ([timer] first, alone in its column) and their labels, in the view's coordinates.
    const rect = (column: number, name: string) => {
      const found = Array.from(diagram.querySelectorAll(`rect[data-node^="${column}|"]`)).filter((r) =>
        r.getAttribute('aria-label')!.startsWith(`${name} (`)
      );
      expect(found).toHaveLength(1);
      return found[0];
    };
    const layoutTop = 4;
    for (const r of [rect(0, '[timer]'), rect(1, 'wf-a'), rect(2, 'wf-b'), rect(3, 'wf-c')]) {
      const y = Number(r.getAttribute('y')) + layoutTop;
      expect(y).toBeGreaterThanOrEqual(top);
      expect(y + Number(r.getAttribute('height'))).toBeLessThanOrEqual(top + height);
      const label = diagram.querySelector(`[data-label-of="${CSS.escape(r.getAttribute('data-node')!)}"]`)!;
      const line = Number(label.getAttribute('y')) + layoutTop;
      expect(line).toBeGreaterThanOrEqual(top);
      expect(line).toBeLessThanOrEqual(top + height);
    }
  });

  it('opens the details without laying the diagram out again; the lit links are drawn on their own layer', async () => {
    const { user } = renderPanel(frames([tcpData, preempted]));
    const diagram = screen.getByTestId(TEST_IDS.panel.diagram);
    const link = within(diagram).getByRole('button', { name: /^kubelet woke wrk:worker_0/ });
    const path = link.getAttribute('d');
    const lit = () => Array.from(screen.getByTestId(TEST_IDS.panel.litLinks).querySelectorAll('path'));
    expect(lit()).toHaveLength(0);
    await user.click(link);
    expect(screen.getByTestId(TEST_IDS.panel.details)).toBeInTheDocument();
    // The same element with the same geometry: the pane took no height from the layout, the diagram scrolls.
    expect(within(diagram).getByRole('button', { name: /^kubelet woke wrk:worker_0/ })).toBe(link);
    expect(link.getAttribute('d')).toBe(path);
    expect(diagram).toHaveClass('wf-has-selection');
    expect(lit().map((p) => p.getAttribute('d'))).toEqual([path]);
    expect(lit()[0]).toHaveAttribute('stroke', link.getAttribute('stroke'));
    await user.keyboard('{Escape}');
    expect(diagram).not.toHaveClass('wf-has-selection');
    // The link keeps the keyboard focus, and a focused link is lit as a hovered one is.
    expect(link).toHaveFocus();
    expect(lit().map((p) => p.getAttribute('d'))).toEqual([path]);
    await user.tab();
    expect(lit()).toHaveLength(0);
  });

  it('tells repeated names in a column apart: the pod, or the thread id where it does not fit, after each label', async () => {
    // wakeflow-workload processes' main threads: the kernel names each "wakeflow-worklo".
    const worklo = (tid: number, pod: string): ChainSpec => ({
      ...tcpData,
      id: `a/${tid}`,
      targetComm: 'wakeflow-worklo',
      targetProc: 'wakeflow-worklo',
      targetTid: tid,
      pod,
      node: '127.0.0.1:9781',
      targetRole: 'other',
      offcpu: tid / 1000,
    });
    const drawn = () =>
      Array.from(screen.getByTestId(TEST_IDS.panel.diagram).querySelectorAll('.wf-label'))
        .filter((t) => t.textContent?.startsWith('wakeflow-worklo'))
        .map((t) => `${t.firstChild?.textContent}${t.querySelector('.wf-qualifier')?.textContent ?? ''}`)
        .sort();
    // Two pods: the pod shows where the panel is wide, the shorter thread id where it is narrow.
    const inPods = frames([worklo(301, 'cart-7f9c-abcde'), worklo(302, 'shop-5d4b-fghij')]);
    renderPanel(inPods, LoadingState.Done, { showBreakdown: false });
    expect(drawn()).toEqual(['wakeflow-worklo (cart-7f9c-abcde)', 'wakeflow-worklo (shop-5d4b-fghij)']);
    document.body.innerHTML = '';
    renderPanel(inPods, LoadingState.Done, { showBreakdown: false }, {}, 720);
    expect(drawn()).toEqual(['wakeflow-worklo (tid 301)', 'wakeflow-worklo (tid 302)']);
    document.body.innerHTML = '';

    // One host outside Kubernetes: the thread id, in the label, the names and the details' title.
    const { user } = renderPanel(frames([worklo(301, ''), worklo(302, ''), worklo(303, '')]), LoadingState.Done, {
      showBreakdown: false,
    });
    expect(drawn()).toEqual(['wakeflow-worklo (tid 301)', 'wakeflow-worklo (tid 302)', 'wakeflow-worklo (tid 303)']);
    const diagram = screen.getByTestId(TEST_IDS.panel.diagram);
    // The waker (one kubelet) is not repeated: no qualifier.
    expect(diagram.querySelector('[data-label-of^="0|"] .wf-qualifier')).toBeNull();
    expect(
      within(diagram).getByRole('button', {
        name: /^wakeflow-worklo \(127\.0\.0\.1:9781 · wakeflow-worklo · other · tid 302\): /,
      })
    ).toBeInTheDocument();
    await user.click(
      within(diagram).getByRole('button', { name: /^kubelet woke wakeflow-worklo \(tid 302\): TCP data/ })
    );
    expect(screen.getByTestId(TEST_IDS.panel.details)).toHaveAccessibleName(
      'Selected: kubelet → wakeflow-worklo (tid 302)'
    );
  });

  it('shows a long name whole where the panel is wide, elided with the whole name in the tooltip where it is narrow', async () => {
    const long: ChainSpec = {
      ...tcpData,
      id: 'a/3',
      targetComm: 'wakeflow-worklo',
      targetProc: 'wakeflow-worklo',
      pod: 'checkout-7d9f8b6c4-x2x9q',
      targetRole: 'other',
    };
    const labelOf = (name: string) =>
      Array.from(screen.getByTestId(TEST_IDS.panel.diagram).querySelectorAll('.wf-label')).find((t) =>
        t.textContent?.startsWith(name.slice(0, 4))
      )!;
    const wide = renderPanel(frames([long]), LoadingState.Done, { showBreakdown: false });
    expect(labelOf('wakeflow-worklo').firstChild?.textContent).toBe('wakeflow-worklo');
    // The subtitle (pod · process · role) takes at most 30 % of the width: the pod shows whole, the rest elides.
    expect(labelOf('wakeflow-worklo').querySelector('.wf-subtitle')).toHaveTextContent(
      /^checkout-7d9f8b6c4-x2x9q · .*…$/
    );
    void wide;
    document.body.innerHTML = '';

    const narrow = renderPanel(frames([long]), LoadingState.Done, { showBreakdown: false }, {}, 260);
    const label = labelOf('wakeflow-worklo');
    expect(label.firstChild?.textContent).toMatch(/^wake.*…$/);
    // The rect is the control, named by the whole name; hovering the elided label shows the same in the tooltip.
    const node = within(screen.getByTestId(TEST_IDS.panel.diagram)).getByRole('button', {
      name: /^wakeflow-worklo \(checkout-7d9f8b6c4-x2x9q · wakeflow-worklo · other\): /,
    });
    await narrow.user.hover(label);
    expect(screen.getByRole('tooltip')).toHaveTextContent(node.getAttribute('aria-label')!);
    await narrow.user.click(label);
    expect(node).toHaveAttribute('aria-pressed', 'true');
  });

  it('names a target by its agent (host:port) outside Kubernetes, where it has no pod', () => {
    renderPanel(
      frames([
        { ...tcpData, id: 'h1/1', node: '10.0.0.7:9781', pod: '', namespace: '', workload: '', labels: {} },
        { ...tcpData, id: 'h2/1', node: '10.0.0.8:9781', pod: '', namespace: '', workload: '', labels: {} },
      ])
    );
    const diagram = screen.getByTestId(TEST_IDS.panel.diagram);
    for (const node of ['10.0.0.7:9781', '10.0.0.8:9781']) {
      expect(
        within(diagram).getByRole('button', { name: new RegExp(`^wrk:worker_0 \\(${node.replace(/\./g, '\\.')}\\b`) })
      ).toBeInTheDocument();
    }
  });

  it('selects with the keyboard: Tab to a link, Enter selects, Escape clears', async () => {
    const { user } = renderPanel(frames([tcpData, preempted]));
    const link = screen.getByRole('button', { name: /^preempted by stress-ng woke/ });
    act(() => link.focus());
    expect(link).toHaveFocus();
    expect(screen.getByRole('tooltip')).toHaveTextContent('preempted by stress-ng woke wrk:worker_1');
    await user.keyboard('{Enter}');
    // The details pane opens below; the link keeps the focus.
    const selected = screen.getByRole('button', { name: /^preempted by stress-ng woke/ });
    expect(selected).toHaveAttribute('aria-pressed', 'true');
    expect(selected).toHaveFocus();
    expect(within(screen.getByTestId(TEST_IDS.panel.details)).getByText('stress-ng')).toBeInTheDocument();
    await user.keyboard('{Escape}');
    expect(screen.queryByTestId(TEST_IDS.panel.details)).not.toBeInTheDocument();
  });

  it('reaches every link and node with Tab', async () => {
    const { user } = renderPanel(frames([tcpData, preempted]), LoadingState.Done, { showBreakdown: false });
    const focused: string[] = [];
    for (let i = 0; i < 6; i++) {
      await user.tab();
      focused.push(document.activeElement?.getAttribute('aria-label') ?? '');
    }
    expect(focused.filter((l) => / woke /.test(l))).toHaveLength(2);
    expect(focused.filter((l) => /\(.*\): .* off CPU/.test(l))).toHaveLength(4);
  });

  it('puts the preempted share first and filters the chains by a clicked category', async () => {
    const { user } = renderPanel(frames([tcpData, preempted]));
    expect(screen.getByTestId(TEST_IDS.panel.preemptedShare)).toHaveTextContent(
      'Preempted: 75% of off-CPU time, 76.9% of wakeups'
    );
    await user.click(screen.getByTestId(TEST_IDS.panel.breakdownRow('net.tcp.data')));
    expect(screen.getByTestId(TEST_IDS.panel.breakdownRow('net.tcp.data'))).toHaveAttribute('aria-pressed', 'true');
    expect(screen.queryByRole('button', { name: /^preempted by stress-ng woke/ })).not.toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Show all chains' }));
    expect(screen.getByRole('button', { name: /^preempted by stress-ng woke/ })).toBeInTheDocument();
  });

  it('folds the long tail into other beyond the links shown', () => {
    renderPanel(frames(syntheticChains(2000)), LoadingState.Done, { maxLinks: 20 });
    const links = within(screen.getByTestId(TEST_IDS.panel.diagram)).getAllByRole('button', { name: / woke / });
    expect(
      links.filter((l) => /^other wakers woke other targets/.test(l.getAttribute('aria-label') ?? '')).length
    ).toBeGreaterThan(0);
    expect(links.length).toBeLessThanOrEqual(20 + 16);
  });

  it('says so when there are no chains', () => {
    renderPanel([]);
    expect(screen.getByTestId(TEST_IDS.panel.empty)).toHaveTextContent('No wake chains in this time range.');
  });

  it('names the agents that did not answer above the chains', () => {
    renderPanel(
      frames([tcpData], {
        notices: [{ severity: 'warning', text: 'agent 10.0.0.9:9781 did not answer: connection refused' }],
      })
    );
    expect(screen.getByTestId(TEST_IDS.panel.notices)).toHaveTextContent(
      'Partial answer: agent 10.0.0.9:9781 did not answer: connection refused'
    );
    expect(screen.getByTestId(TEST_IDS.panel.diagram)).toBeInTheDocument();
  });

  it('shows the query error, and what is wrong with a frame that is not a chains table', () => {
    renderPanel([], LoadingState.Error, {}, { errors: [{ message: 'limit: must be between 1 and 1000' }] });
    expect(screen.getByRole('alert')).toHaveTextContent('limit: must be between 1 and 1000');
  });

  it('explains a frame of another query type', () => {
    const series = {
      name: 'offcpu',
      length: 1,
      fields: [{ name: 'time', type: 'time', values: [1], config: {} }],
    } as unknown as DataFrame;
    renderPanel([series]);
    expect(screen.getByRole('alert')).toHaveTextContent('is not a wakeflow chains table');
  });
});
