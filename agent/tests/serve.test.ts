// SPDX-License-Identifier: Apache-2.0
/*
 * `wakeflow-agent serve` end to end: the real daemon with real BPF against
 * real workload processes (agent/build/wakeflow-workload). Every endpoint,
 * filters, auth, bad requests (table-driven), restart keeping history, kill
 * -9, a target that exits and is replaced, and a store that is corrupted or
 * fills its disk while the daemon keeps capturing and serving.
 *
 * Needs agent/build/wakeflow-agent and wakeflow-workload (make -C agent) and
 * root; WAKEFLOW_AGENT / WAKEFLOW_WORKLOAD override the paths.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { connect, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  agentBin,
  createTestCgroup,
  Daemon,
  freePort,
  get,
  getOnNewConnection,
  run,
  SeriesAnswer,
  sleep,
  startDaemon,
  startWorkload,
  stopDaemon,
  stopWorkload,
  total,
  waitFor,
  Workload,
} from './lib/serve-daemon';
import { deadline } from './lib/pace';
import { checkExplanation, Edge, Explanation } from './lib/record';

interface Target {
  pid: number;
  comm: string;
  exe: string;
  labels: Record<string, string>;
  alive: boolean;
}

interface Status {
  version: string;
  kernel: string;
  targets: number;
  programs: string[];
  attach_mode: string;
  lost: Record<string, number>;
  store: {
    path: string;
    state: string;
    error: string | null;
    size_bytes: number;
    oldest_ms: number | null;
    newest_ms: number | null;
    windows_written: number;
    errors: number;
  };
  memory: { windows: number };
}

interface Task {
  comm: string;
  pid: number | null;
  tid: number | null;
}

interface ApiEdge {
  id: number;
  waker: Task & { context: string };
  target: Task & { role: string };
  category: string;
  activity: string | null;
  count: number;
  offcpu_us: number;
  offcpu_max_us: number;
  runq_us: number;
  waker_stack: string[];
  target_stack: string[];
  labels: Record<string, string>;
  explanation: Explanation;
  first_seen_ms: number;
  last_seen_ms: number;
}

interface EdgesAnswer {
  matched: number;
  warning?: string;
  edges: ApiEdge[];
}

const WORKLOAD_COMM = '^wakeflow-worklo'; // the 15-byte comm of wakeflow-workload

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'wf-serve-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function since(ms: number): string {
  const now = Date.now();
  return `from=${now - ms}&to=${now + 1000}`;
}

describe('serve: command line', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--window', '7'], /--window '7' must be a number of seconds dividing 60/],
    [['--window', '0'], /--window/],
    [['--listen', 'localhost'], /--listen 'localhost': expected ADDRESS:PORT/],
    [['--listen', '127.0.0.1:99999'], /port must be a number from 1 to 65535/],
    [['--listen', 'example.com:80'], /not an IPv4 address/],
    [['--retention', 'soon'], /--retention 'soon' is not a duration/],
    [['--retention', '30s'], /at least a minute/],
    [['--pid', 'abc'], /--pid 'abc' is not a process id/],
    [['--bogus'], /unknown option '--bogus'/],
    [['--db'], /option '--db' needs a value/],
    [['extra'], /unexpected argument 'extra'/],
    [['--rules', '/nonexistent/rules'], /nonexistent/],
    [['--token-file', '/nonexistent/token'], /cannot read token file/],
    [['--cgroup', '('], /cgroup/],
    [['--symbols', '/nonexistent/symbols'], /--symbols '\/nonexistent\/symbols' is not a directory this user can read/],
    [['--symbols', '/etc/hostname'], /--symbols '\/etc\/hostname' is not a directory/],
  ];
  for (const [args, re] of cases) {
    test(`rejects ${args.join(' ')}`, () => {
      const r = run(agentBin, ['serve', '--db', path.join(dir, 'never.db'), ...args]);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, re);
      assert.match(r.stderr, /^wakeflow-agent: /);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    });
  }

  test('every argument is checked before the store is opened: a bad --comm leaves no database behind', () => {
    for (const args of [
      ['--comm', '['],
      ['--pid', '999999999'],
    ]) {
      const db = path.join(dir, `checked-first-${args[0].slice(2)}.db`);
      const r = run(agentBin, ['serve', '--db', db, ...args]);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.ok(!existsSync(db), `${db} was created`);
    }
  });

  test('--window lists every valid value', () => {
    const r = run(agentBin, ['serve', '--db', path.join(dir, 'never.db'), '--window', '7']);
    assert.match(r.stderr, /dividing 60: 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60/);
  });

  test('--help', () => {
    const r = run(agentBin, ['serve', '--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /--listen ADDR:PORT/);
    assert.match(r.stdout, /127\.0\.0\.1:9781/);
  });

  test('a token file readable by others is refused', () => {
    const f = path.join(dir, 'token-open');
    writeFileSync(f, 'secret\n');
    chmodSync(f, 0o644);
    const r = run(agentBin, ['serve', '--db', path.join(dir, 'never.db'), '--token-file', f]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /readable by every user \(mode 0644\): chmod 600/);
  });
});

describe('serve: live API', () => {
  let d: Daemon;
  let loop: Workload;
  let spin: Workload;
  // When the daemon's first window had been written (see the parts test).
  let firstWritten = 0;
  const db = () => path.join(dir, 'live.db');

  before(async () => {
    loop = await startWorkload('eventfd', ['--interval-us', '500']);
    spin = await startWorkload('preempt', ['--cpu', '1']);
    d = await startDaemon(['--db', db(), '--window', '1', '--comm', WORKLOAD_COMM]);
    firstWritten = await waitFor('the first window written', async () => {
      const r = await get<Status>(`${d.url}/api/v1/status`);
      return r.body.store.windows_written >= 1 && Date.now();
    });
    // A few windows with both workloads traced.
    await waitFor('both workloads traced', async () => {
      const r = await get<{ targets: Target[] }>(`${d.url}/api/v1/targets`);
      const alive = r.body.targets.filter((t) => t.alive).map((t) => t.pid);
      return alive.includes(loop.pid) && alive.includes(spin.pid);
    });
    await sleep(3500);
  });
  after(async () => {
    await stopWorkload(loop);
    await stopWorkload(spin);
    if (d) {
      assert.equal(await stopDaemon(d), 0, d.log());
    }
  });

  test('/healthz', async () => {
    const r = await get(`${d.url}/healthz`);
    assert.equal(r.status, 200);
    assert.equal(r.text, 'ok\n');
  });

  test('/api/v1/status', async () => {
    const r = await get<Status>(`${d.url}/api/v1/status`);
    assert.equal(r.status, 200);
    assert.match(r.type ?? '', /^application\/json/);
    const s = r.body;
    assert.match(s.version, /^\d+\.\d+\.\d+/);
    assert.equal(typeof s.kernel, 'string');
    assert.ok(s.programs.length >= 2, JSON.stringify(s.programs));
    assert.ok(['tp_btf', 'raw_tp'].includes(s.attach_mode));
    assert.ok(s.targets >= 2);
    assert.equal(s.store.path, db());
    assert.equal(s.store.state, 'ok');
    assert.equal(s.store.error, null);
    assert.ok(s.store.windows_written >= 3);
    assert.ok(s.store.size_bytes > 0);
    assert.ok(s.store.oldest_ms! <= s.store.newest_ms!);
    assert.ok(s.memory.windows >= 3);
    for (const k of ['edges_dropped', 'stacks_dropped', 'ringbuf_dropped']) {
      assert.equal(typeof s.lost[k], 'number');
    }
  });

  test('/api/v1/targets', async () => {
    const r = await get<{ targets: Target[] }>(`${d.url}/api/v1/targets`);
    assert.equal(r.status, 200);
    const t = r.body.targets.find((x) => x.pid === loop.pid);
    assert.ok(t, JSON.stringify(r.body));
    assert.equal(t.comm, 'wakeflow-worklo');
    assert.match(t.exe, /wakeflow-workload$/);
    assert.equal(typeof t.labels, 'object');
    assert.equal(t.alive, true);
  });

  test('/api/v1/categories', async () => {
    const r = await get<{
      categories: Array<{ id: string; name: string; group: string; description: string }>;
      activities: Array<{ id: string }>;
    }>(`${d.url}/api/v1/categories`);
    assert.equal(r.status, 200);
    const ids = r.body.categories.map((c) => c.id);
    assert.equal(ids.length, 16);
    for (const id of ['preempt.involuntary', 'net.tcp.data', 'ipc.eventfd', 'timer', 'other']) {
      assert.ok(ids.includes(id), id);
    }
    for (const c of r.body.categories) {
      assert.ok(c.name && c.group && c.description, JSON.stringify(c));
    }
    assert.ok(r.body.activities.some((a) => a.id === 'envoy.xds'));
  });

  test('series: wakeups by category, filtered to the eventfd loop thread', async () => {
    const r = await get<SeriesAnswer>(
      `${d.url}/api/v1/series?${since(20000)}&step=1000&metric=wakeups&by=category&thread=wf-loop`
    );
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.warning, undefined, 'a healthy store answers without a warning');
    assert.equal(r.body.step_ms, 1000);
    const eventfd = r.body.series.find((s) => s.labels.category === 'ipc.eventfd');
    assert.ok(eventfd, JSON.stringify(r.body.series.map((s) => s.labels)));
    // posted every 0.5 ms: hundreds of wakeups per second
    const peak = Math.max(...eventfd.points.map((p) => p[1]));
    assert.ok(peak > 100, `peak ${peak}/s`);
    for (const [t] of eventfd.points) {
      assert.equal(t % 1000, 0);
    }
  });

  test('series: off-CPU by target carries the target labels; pid filter', async () => {
    const r = await get<SeriesAnswer>(`${d.url}/api/v1/series?${since(20000)}&step=2000&by=target`);
    assert.equal(r.status, 200, r.text);
    const mine = r.body.series.find((s) => s.labels.pid === String(loop.pid));
    assert.ok(mine, JSON.stringify(r.body.series.map((s) => s.labels)));
    assert.equal(mine.labels.comm, 'wakeflow-worklo');
    // a blocked epoll loop spends most of its time off CPU
    assert.ok(total({ ...r.body, series: [mine] }) > 0);

    const only = await get<SeriesAnswer>(`${d.url}/api/v1/series?${since(20000)}&by=target&pid=${spin.pid}`);
    assert.equal(only.status, 200);
    assert.deepEqual(
      only.body.series.map((s) => s.labels.pid),
      [String(spin.pid)]
    );
    const none = await get<SeriesAnswer>(`${d.url}/api/v1/series?${since(20000)}&by=target&namespace=nowhere`);
    assert.equal(none.body.series.length, 0);
  });

  test('series: preemption ratio of two spinners sharing a CPU', async () => {
    // Two 5 s points need up to ~10 s of windows; the suite's set-up waits
    // only a few, so wait here for the second point rather than race it.
    const values = await waitFor('two 5 s points of preempt_ratio', async () => {
      const r = await get<SeriesAnswer>(
        `${d.url}/api/v1/series?${since(15000)}&step=5000&metric=preempt_ratio&by=target&pid=${spin.pid}&thread=wf-spin-a`
      );
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.series.length, 1, r.text);
      const v = r.body.series[0].points.map((p) => p[1]);
      return v.length >= 2 ? v : undefined;
    });
    // Each spinner waits for the CPU about as long as it runs (0.5) when the
    // two are alone on it; other load on that CPU pushes the ratio up. A lone
    // spinner would be near 0, and 1 would mean no on-CPU time was measured.
    for (const v of values) {
      assert.ok(v > 0.2 && v < 0.95, `ratio ${v}`);
    }
    const counts = await get<SeriesAnswer>(
      `${d.url}/api/v1/series?${since(15000)}&metric=preempt_count_ratio&by=role&pid=${spin.pid}`
    );
    assert.equal(counts.status, 200);
    assert.ok(counts.body.series.length >= 1);
    const inv = await get<SeriesAnswer>(
      `${d.url}/api/v1/series?${since(15000)}&metric=wakeups&by=category&pid=${spin.pid}&category=preempt`
    );
    assert.ok(inv.body.series.every((s) => s.labels.category.startsWith('preempt.')));
    assert.ok(total(inv.body) > 0);
  });

  test('series: the preemption ratio computed from its summed parts equals the agent ratio', async () => {
    // Whole 5 s points that ended seconds ago: every query sees the same
    // windows. They begin after the first window was written: the first
    // drain names every stack seen so far before it reads the totals (it
    // took up to 2.2 s under emulation), so the first window holds those seconds
    // too and the windows finished right after it less (docs/api.md);
    // run 22 on 6.1 saw such a point at 2.18 s/s.
    const step = 5000;
    let from = 0;
    let to = 0;
    let range = '';
    const values = async (metric: string) => {
      const r = await get<SeriesAnswer>(`${d.url}/api/v1/series?${range}&metric=${metric}`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.series.length, 1, r.text);
      return r.body.series[0].points;
    };
    await waitFor(
      'two points of the spinner',
      async () => {
        to = Math.floor((Date.now() - 3000) / step) * step;
        from = Math.max(to - 2 * step, Math.ceil(firstWritten / step) * step);
        range = `from=${from}&to=${to}&step=${step}&by=target&pid=${spin.pid}&thread=wf-spin-a`;
        return to - from === 2 * step && (await values('oncpu')).length === 2;
      },
      40000
    );
    const [oncpu, preempted, ratio] = [await values('oncpu'), await values('preempted'), await values('preempt_ratio')];
    const [switches, involuntary, countRatio] = [
      await values('switches'),
      await values('involuntary'),
      await values('preempt_count_ratio'),
    ];
    // Seconds per second of one thread, near 1 together. An interval on
    // the CPU or preempted is counted whole by the drain after it ends
    // (docs/api.md), so a point holds its own 5 s, plus the part before it
    // of an interval that ended in it (at most the longest interval), plus
    // what its last drain read after the point ended (within a window: the
    // daemon drains each window before the next one ends). While one
    // spinner holds the CPU the other waits preempted, so the spinners'
    // longest preempted interval is at least the longest of either kind.
    const edges = await get<EdgesAnswer>(
      `${d.url}/api/v1/edges?from=${from - step}&to=${Date.now()}&pid=${spin.pid}&category=preempt&fields=numbers&limit=1000`
    );
    assert.equal(edges.status, 200, edges.text);
    const longestS = Math.max(...edges.body.edges.map((e) => e.offcpu_max_us)) / 1e6;
    assert.ok(longestS > 0, edges.text);
    const bound = 1 + (longestS + 1) / (step / 1000);
    assert.equal(ratio.length, oncpu.length);
    for (let i = 0; i < ratio.length; i++) {
      assert.equal(oncpu[i][0], ratio[i][0]);
      assert.ok(oncpu[i][1] > 0.1 && oncpu[i][1] <= bound, `oncpu ${oncpu[i][1]}, bound ${bound}`);
      assert.ok(preempted[i][1] > 0.1 && preempted[i][1] <= bound, `preempted ${preempted[i][1]}, bound ${bound}`);
      const fromParts = preempted[i][1] / (oncpu[i][1] + preempted[i][1]);
      assert.ok(Math.abs(fromParts - ratio[i][1]) < 1e-9, `${fromParts} vs ${ratio[i][1]}`);
      assert.ok(involuntary[i][1] > 0 && involuntary[i][1] <= switches[i][1]);
      assert.ok(Math.abs(involuntary[i][1] / switches[i][1] - countRatio[i][1]) < 1e-9);
    }
  });

  test('series: by=workload and by=thread; by=pod names the workload where known', async () => {
    const wl = await get<SeriesAnswer>(`${d.url}/api/v1/series?${since(20000)}&metric=oncpu&by=workload`);
    assert.equal(wl.status, 200, wl.text);
    assert.ok(wl.body.series.length >= 1);
    for (const s of wl.body.series) {
      assert.deepEqual(Object.keys(s.labels).sort(), ['namespace', 'workload']);
    }
    const th = await get<SeriesAnswer>(`${d.url}/api/v1/series?${since(20000)}&metric=oncpu&by=thread`);
    assert.equal(th.status, 200, th.text);
    const names = th.body.series.map((s) => s.labels.thread);
    for (const n of ['wf-loop', 'wf-poster', 'wf-spin-a', 'wf-spin-b']) {
      assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
    }
    for (const s of th.body.series) {
      assert.deepEqual(Object.keys(s.labels), ['thread']);
    }
    const woken = await get<SeriesAnswer>(
      `${d.url}/api/v1/series?${since(20000)}&metric=wakeups&by=thread&category=ipc.eventfd&pid=${loop.pid}`
    );
    assert.deepEqual(
      woken.body.series.map((s) => s.labels.thread),
      ['wf-loop']
    );
    const pod = await get<SeriesAnswer>(`${d.url}/api/v1/series?${since(20000)}&metric=preempted&by=pod`);
    assert.equal(pod.status, 200, pod.text);
    for (const s of pod.body.series) {
      // these processes are in no pod: namespace and pod empty, no workload
      assert.deepEqual(Object.keys(s.labels), ['namespace', 'pod']);
    }
  });

  test('edges: top edges of the loop thread, as record --format json plus labels', async () => {
    const r = await get<EdgesAnswer>(`${d.url}/api/v1/edges?${since(20000)}&limit=3&sort=count&thread=wf-loop`);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.body.edges.length >= 1 && r.body.edges.length <= 3);
    assert.ok(r.body.matched >= r.body.edges.length);
    const top = r.body.edges[0];
    assert.equal(top.target.comm, 'wf-loop');
    assert.equal(top.target.pid, loop.pid);
    assert.equal(top.waker.comm, 'wf-poster');
    assert.equal(top.category, 'ipc.eventfd');
    assert.ok(top.count > 100);
    assert.ok(top.offcpu_us > 0);
    assert.ok(Array.isArray(top.waker_stack) && Array.isArray(top.target_stack));
    assert.equal(typeof top.labels, 'object');
    assert.ok(top.first_seen_ms <= top.last_seen_ms);
    // Each edge says which rule decided, on which frames or facts.
    for (const e of r.body.edges) {
      checkExplanation(e as unknown as Edge);
    }
    assert.equal(top.explanation.category.rule, 'eventfd');
    assert.ok(top.explanation.category.frames.length + top.explanation.category.facts.length > 0);
    for (let i = 1; i < r.body.edges.length; i++) {
      assert.ok(r.body.edges[i - 1].count >= r.body.edges[i].count);
    }
    const timers = await get<EdgesAnswer>(`${d.url}/api/v1/edges?${since(20000)}&category=ipc.futex&thread=wf-loop`);
    assert.equal(timers.status, 200);
    assert.ok(timers.body.edges.every((e) => e.category === 'ipc.futex'));
  });

  test('edges: fields=numbers and fields=paths list the same edges, in the same order, with the same numbers and nothing else', async () => {
    // A range that ended two windows ago: both answers read the same windows.
    const to = Math.floor(Date.now() / 1000) * 1000 - 2000;
    const q = `from=${to - 20000}&to=${to}&limit=5&sort=offcpu`;
    const whole = await get<EdgesAnswer>(`${d.url}/api/v1/edges?${q}`);
    const numbers = await get<EdgesAnswer>(`${d.url}/api/v1/edges?${q}&fields=numbers`);
    assert.equal(whole.status, 200, whole.text);
    assert.equal(numbers.status, 200, numbers.text);
    assert.ok(whole.body.edges.length >= 2, whole.text);
    assert.equal(numbers.body.matched, whole.body.matched);
    const keys = ['id', 'count', 'offcpu_us', 'offcpu_max_us', 'runq_us', 'first_seen_ms', 'last_seen_ms'] as const;
    const numbersOf = (e: ApiEdge) =>
      Object.fromEntries(keys.map((k) => [k, (e as unknown as Record<string, unknown>)[k]]));
    assert.deepEqual(numbers.body.edges, whole.body.edges.map(numbersOf));
    // fields=paths: the numbers and what an off-wake path needs, as the whole answer has them.
    const paths = await get<EdgesAnswer>(`${d.url}/api/v1/edges?${q}&fields=paths`);
    assert.equal(paths.status, 200, paths.text);
    assert.equal(paths.body.matched, whole.body.matched);
    assert.deepEqual(
      paths.body.edges,
      whole.body.edges.map((e) => ({
        ...numbersOf(e),
        waker: { comm: e.waker.comm, context: e.waker.context },
        target: { comm: e.target.comm },
        stacks_sampled: (e as unknown as { stacks_sampled: boolean }).stacks_sampled,
        waker_stack: e.waker_stack,
        target_stack: e.target_stack,
      }))
    );
    assert.ok(paths.body.edges.some((e) => e.waker_stack.length > 0 && e.target_stack.length > 0));
  });

  test('/metrics: Prometheus text with the wake counters and the agent health', async () => {
    const r = await get(`${d.url}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.type ?? '', /^text\/plain; version=0\.0\.4/);
    const line = r.text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('wakeflow_wakeups_total{') &&
          l.includes('category="ipc.eventfd"') &&
          l.includes(`pid="${loop.pid}"`)
      );
    assert.ok(line, r.text.slice(0, 3000));
    assert.ok(Number(line.split(' ').pop()) > 100, line);
    assert.match(r.text, /# TYPE wakeflow_offcpu_seconds_total counter/);
    assert.match(r.text, /^wakeflow_oncpu_seconds_total\{.*role=/m);
    assert.match(r.text, /^wakeflow_preempted_seconds_total\{/m);
    assert.match(r.text, /^wakeflow_runq_seconds_total\{/m);
    assert.match(r.text, /^wakeflow_agent_store_ok 1$/m);
    assert.match(r.text, /^wakeflow_agent_window_drain_seconds /m);
    assert.match(r.text, /^wakeflow_agent_windows_total \d+/m);
    // Every loss reason has a series from the start (0 on a healthy agent), so rate() and alerts see 0, not no data.
    for (const reason of ['edges_dropped', 'stacks_dropped', 'state_dropped', 'ringbuf_dropped', 'totals_dropped']) {
      assert.match(r.text, new RegExp(`^wakeflow_agent_lost_events_total\\{reason="${reason}"\\} \\d`, 'm'), reason);
    }
  });

  // Table-driven bad requests: status and a JSON error naming the problem.
  const bad: Array<[string, number, RegExp]> = [
    ['/api/v1/series?from=abc', 400, /from must be milliseconds/],
    ['/api/v1/series?from=2000&to=1000', 400, /must be before/],
    ['/api/v1/series?step=0', 400, /step must be positive/],
    ['/api/v1/series?step=99999999999', 400, /step longer than/],
    ['/api/v1/series?by=galaxy', 400, /unknown by 'galaxy'/],
    ['/api/v1/series?metric=joy', 400, /unknown metric 'joy'/],
    ['/api/v1/series?metric=preempt_ratio&by=category', 400, /cannot be split by category/],
    ['/api/v1/series?metric=oncpu&by=activity', 400, /metric oncpu cannot be split by activity/],
    ['/api/v1/series?metric=involuntary&by=pod&category=net', 400, /cannot be filtered by category/],
    ['/api/v1/series?metric=throttled&by=thread', 400, /cannot be split by thread/],
    ['/api/v1/series?role=boss', 400, /unknown role/],
    ['/api/v1/series?category=network', 400, /unknown category/],
    ['/api/v1/series?pod=%zz', 400, /malformed %-escape/],
    ['/api/v1/series?limit=3', 400, /unknown parameter 'limit'/],
    ['/api/v1/edges?limit=-1', 400, /limit must not be negative/],
    ['/api/v1/edges?limit=0', 400, /positive integer/],
    ['/api/v1/edges?sort=name', 400, /unknown sort/],
    ['/api/v1/edges?pid=-3', 400, /pid must be/],
    ['/api/v1/edges?from=1&from=2', 400, /given twice/],
    ['/api/v1/edges?fields=stacks', 400, /unknown fields 'stacks' \(all, numbers, paths\)/],
    ['/api/v1/chains?fields=numbers', 400, /unknown parameter 'fields'/],
    ['/api/v1/status?verbose=1', 400, /takes none/],
    ['/api/v1/targets?x', 400, /has no value|takes none/],
    [`/api/v1/series?pod=${'a'.repeat(5000)}`, 414, /longer than 4096/],
    ['/api/v1/nothing', 404, /no such endpoint/],
    ['/api/v2/series', 404, /no such endpoint/],
    ['/', 404, /no such endpoint/],
  ];
  for (const [p, status, re] of bad) {
    test(`bad request ${p.slice(0, 60)} -> ${status}`, async () => {
      const r = await get<{ error: string }>(`${d.url}${p}`);
      assert.equal(r.status, status, r.text);
      assert.match(r.type ?? '', /^application\/json/);
      assert.match(r.body.error, re);
    });
  }

  test('wrong method -> 405 with Allow', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const r = await fetch(`${d.url}/api/v1/series`, { method, body: method === 'DELETE' ? undefined : 'x=1' });
      assert.equal(r.status, 405);
      assert.equal(r.headers.get('allow'), 'GET, HEAD');
      assert.match(((await r.json()) as { error: string }).error, /method not allowed/);
    }
  });

  test('ranges and limits are capped', async () => {
    const r = await get<SeriesAnswer>(`${d.url}/api/v1/series?from=0&to=${Date.now()}&step=1000`);
    assert.equal(r.status, 200);
    assert.ok(r.body.to_ms - r.body.from_ms <= 31 * 24 * 3600 * 1000);
    // the point cap raised the step
    assert.ok((r.body.to_ms - r.body.from_ms) / r.body.step_ms <= 5000, String(r.body.step_ms));
    const e = await get<EdgesAnswer>(`${d.url}/api/v1/edges?${since(20000)}&limit=100000`);
    assert.equal(e.status, 200);
    assert.ok(e.body.edges.length <= 1000);
  });

  test('slow and many clients do not block the daemon', async (t) => {
    // A client that never finishes its request line...
    const stalled = connect(Number(new URL(d.url).port), '127.0.0.1');
    stalled.write('GET /api/v1/series?from=');
    // ...and a burst of concurrent queries, each sent as its connection is
    // made (not through fetch: lib/serve-daemon.ts)...
    const burst = Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        getOnNewConnection(d.url, `/api/v1/${i % 2 ? 'series' : 'edges'}?${since(60000)}`)
      )
    );
    // ...while /healthz still answers at once (the burst's 30 answers take
    // longer than 2 s only under emulation: lib/pace.ts).
    const h = await getOnNewConnection(d.url, '/healthz');
    t.diagnostic(`/healthz during the burst: ${h.steps}`);
    assert.equal(h.status, 200);
    assert.ok(h.ms < deadline(2000), `/healthz took ${h.ms} ms: ${h.steps}`);
    let lastWritten = 0;
    for (const r of await burst) {
      assert.equal(r.status, 'fulfilled', r.status === 'rejected' ? String(r.reason) : '');
      assert.equal(r.value.status, 200, r.value.steps);
      lastWritten = Math.max(lastWritten, r.value.writtenMs);
    }
    t.diagnostic(`the burst's last request written +${lastWritten} ms`);
    stalled.destroy();
    // and windows kept being written
    const s = await get<Status>(`${d.url}/api/v1/status`);
    assert.equal(s.body.store.state, 'ok');
  });
});

describe('serve: auth', () => {
  let d: Daemon;
  before(async () => {
    const f = path.join(dir, 'token');
    writeFileSync(f, 's3cret-token\n');
    chmodSync(f, 0o600);
    d = await startDaemon(['--db', path.join(dir, 'auth.db'), '--window', '1', '--token-file', f]);
  });
  after(async () => {
    assert.equal(await stopDaemon(d), 0);
  });

  test('/healthz needs no token', async () => {
    assert.equal((await get(`${d.url}/healthz`)).status, 200);
  });
  for (const p of [
    '/api/v1/status',
    '/api/v1/targets',
    '/api/v1/categories',
    '/api/v1/series',
    '/api/v1/edges',
    '/metrics',
    '/nope',
  ]) {
    test(`${p}: 401 without or with a wrong token, 200 with it`, async () => {
      const none = await get<{ error: string }>(`${d.url}${p}`);
      assert.equal(none.status, 401);
      assert.match(none.body.error, /bearer token/);
      for (const h of [
        'Bearer wrong',
        'Bearer s3cret-toke',
        'Bearer s3cret-token-',
        'Basic s3cret-token',
        's3cret-token',
      ]) {
        assert.equal((await get(`${d.url}${p}`, { Authorization: h })).status, 401, h);
      }
      const ok = await get(`${d.url}${p}`, { Authorization: 'Bearer s3cret-token' });
      assert.equal(ok.status, p === '/nope' ? 404 : 200);
    });
  }

  // Raw requests (fetch would refuse to send most of these), each answered
  // once with the documented JSON error.
  const raw: Array<[string, string, number, RegExp | null]> = [
    ['a NUL in the path', 'GET /healthz\0 HTTP/1.1\r\nHost: x\r\n', 400, /control character in the request target/],
    ['a NUL before parameters', 'GET /api/v1/status?\0bogus=1 HTTP/1.1\r\nHost: x\r\n', 400, /control character/],
    ['a control byte in the query', 'GET /healthz?\x01 HTTP/1.1\r\nHost: x\r\n', 400, /control character/],
    ['HTTP/1.1 without Host', 'GET /healthz HTTP/1.1\r\n', 400, /without a Host header/],
    ['/healthz with a parameter', 'GET /healthz?x=1 HTTP/1.1\r\nHost: x\r\n', 400, /takes no parameters/],
    [
      'the token cut by a NUL',
      'GET /api/v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret-token\0junk\r\n',
      401,
      /bearer token/,
    ],
    [
      'the scheme in lower case',
      'GET /api/v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: bearer s3cret-token\r\n',
      200,
      null,
    ],
    [
      'whitespace around the token',
      'GET /api/v1/status HTTP/1.1\r\nHost: x\r\nAuthorization:  Bearer  s3cret-token \t\r\n',
      200,
      null,
    ],
    [
      'two Authorization headers',
      'GET /api/v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret-token\r\nAuthorization: Bearer wrong\r\n',
      400,
      /more than one Authorization header/,
    ],
    ['HTTP/1.0 needs no Host', 'GET /healthz HTTP/1.0\r\n', 200, null],
    // What libmicrohttpd refuses before our handler runs: it would answer
    // with its own HTML page (http_library_errors.c swaps in the JSON).
    [
      'a header section over 64 KiB',
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70000)}\r\n`,
      431,
      /header section too large.*64 KiB/,
    ],
    ['a request line over 64 KiB', `GET /healthz?${'a'.repeat(70000)} HTTP/1.1\r\nHost: x\r\n`, 414, /line too long/],
    ['a header line without a colon', 'GET /healthz HTTP/1.1\r\nHost: x\r\nnocolon\r\n', 400, /malformed HTTP/],
    ['an HTTP version it does not speak', 'GET /healthz HTTP/2.0\r\nHost: x\r\n', 505, /version not supported/],
    ['a request line without an HTTP version', 'HELLO WORLD\r\n', 400, /malformed HTTP/],
    // ...and two it answered twice (one answer each now).
    [
      'a Content-Length too large',
      'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n',
      413,
      /request too large/,
    ],
    [
      'a Content-Length not a number',
      'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n',
      400,
      /malformed HTTP/,
    ],
  ];
  for (const [what, head, status, re] of raw) {
    test(`raw request, ${what} -> ${status}`, async () => {
      const answer = await rawRequest(d.url, `${head}Connection: close\r\n\r\n`);
      // Not anchored to a line: a second answer may follow a body at once.
      assert.equal(answer.match(/HTTP\/1\.1 \d{3} /g)?.length, 1, `one answer: ${answer}`);
      assert.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `));
      if (re) {
        const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
        assert.match(answer, /\r\nContent-Type: application\/json\r\n/);
        assert.match((JSON.parse(body) as { error: string }).error, re);
      }
    });
  }

  test("the library's refusals are counted in wakeflow_agent_http_requests_total by their status", async () => {
    const counted = async (code: number) => {
      const m = await get(`${d.url}/metrics`, { Authorization: 'Bearer s3cret-token' });
      const line = new RegExp(`^wakeflow_agent_http_requests_total\\{code="${code}"\\} (\\d+)$`, 'm').exec(m.text);
      return line ? Number(line[1]) : 0;
    };
    const before = [await counted(505), await counted(431)];
    await rawRequest(d.url, 'GET /healthz HTTP/2.0\r\nHost: x\r\nConnection: close\r\n\r\n');
    await rawRequest(d.url, 'GET /healthz HTTP/2.0\r\nHost: x\r\nConnection: close\r\n\r\n');
    await rawRequest(d.url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70000)}\r\n\r\n`);
    assert.deepEqual([await counted(505), await counted(431)], [before[0] + 2, before[1] + 1]);
  });

  test('a request line that is not HTTP at all is closed without an answer (libmicrohttpd has no hook for it)', async () => {
    // libmicrohttpd 0.9.75 closes the connection as soon as the request
    // line holds no space, before any callback of ours runs (docs/api.md).
    // Pinned here so that a library that lets us answer it is noticed.
    assert.equal(await rawRequest(d.url, 'HELLO\r\n\r\n'), '');
    assert.equal((await get(`${d.url}/healthz`)).status, 200);
  });
});

test('serve: keep-alive, two requests on one connection are both answered', async () => {
  // libmicrohttpd 0.9.75 closed every connection after one answer when the
  // handler answered on its first call; Grafana's backend and wrk reuse them.
  const d = await startDaemon(['--db', path.join(dir, 'keepalive.db'), '--window', '1']);
  try {
    const one = 'GET /api/v1/status HTTP/1.1\r\nHost: x\r\n\r\n';
    const answer = await rawRequest(d.url, `${one}${one.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n')}`);
    // (not anchored: the first JSON body ends without a newline)
    const heads = answer.match(/HTTP\/1\.1 \d{3} [^\r]*/g) ?? [];
    assert.deepEqual(
      heads.map((h) => h.trim()),
      ['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK'],
      answer.slice(0, 400)
    );
    const first = answer.slice(0, answer.indexOf('\r\n\r\n'));
    assert.doesNotMatch(first, /^Connection: close/im);
    assert.match(first, /^Keep-Alive: timeout=15\r?$/im);
  } finally {
    assert.equal(await stopDaemon(d), 0);
  }
});

/* Sends bytes as they are and reads the whole answer (the daemon closes). */
async function rawRequest(url: string, request: string): Promise<string> {
  const sock = connect(Number(new URL(url).port), '127.0.0.1');
  let out = '';
  sock.on('data', (b) => (out += b.toString('latin1')));
  sock.write(Buffer.from(request, 'latin1'));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no end of answer: ${out}`));
    }, 5000);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    sock.on('error', () => undefined);
  });
  return out;
}

describe('serve: what it creates is private, and it listens beyond loopback only with a token', () => {
  test('a missing store directory is created 0700, the database and its WAL files 0600', async () => {
    const db = path.join(dir, 'private', 'deeper', 'store.db');
    const d = await startDaemon(['--db', db, '--window', '1', '--comm', '^no-such-process$']);
    try {
      await waitFor('a window written', async () => {
        const s = await get<Status>(`${d.url}/api/v1/status`);
        return s.body.store.windows_written >= 1;
      });
      for (const p of [path.join(dir, 'private'), path.dirname(db)]) {
        assert.equal(statSync(p).mode & 0o777, 0o700, p);
      }
      for (const f of [db, `${db}-wal`, `${db}-shm`]) {
        assert.equal(statSync(f).mode & 0o777, 0o600, f);
      }
    } finally {
      assert.equal(await stopDaemon(d), 0, d.log());
    }
  });

  test('an existing store that others may read is made private', async () => {
    const db = path.join(dir, 'open.db');
    writeFileSync(db, '');
    chmodSync(db, 0o644);
    const d = await startDaemon(['--db', db, '--window', '1', '--comm', '^no-such-process$']);
    try {
      assert.equal(statSync(db).mode & 0o777, 0o600);
      assert.match(d.log(), /was readable by other users \(mode 0644\): now 0600/);
    } finally {
      assert.equal(await stopDaemon(d), 0, d.log());
    }
  });

  test('--listen on every address without a token is refused; --insecure-no-token allows it', async () => {
    const port = await freePort();
    const args = ['serve', '--db', path.join(dir, 'wide.db'), '--comm', '^no-such-process$'];
    for (const listen of [`0.0.0.0:${port}`, `:${port}`]) {
      const r = run(agentBin, [...args, '--listen', listen]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(
        r.stderr,
        /^wakeflow-agent: --listen \S+ is reachable from other hosts: give --token-file FILE \(or --insecure-no-token/
      );
    }
    const d = await startDaemon(
      [
        '--db',
        path.join(dir, 'wide.db'),
        '--comm',
        '^no-such-process$',
        '--listen',
        `0.0.0.0:${port}`,
        '--insecure-no-token',
      ],
      port
    );
    try {
      assert.equal((await get(`${d.url}/healthz`)).status, 200);
      assert.match(d.log(), /without a token \(--insecure-no-token\)/);
    } finally {
      assert.equal(await stopDaemon(d), 0, d.log());
    }
  });

  test('a token file holding a control character is refused', () => {
    const f = path.join(dir, 'token-ctl');
    writeFileSync(f, 'sec\x01ret\n');
    chmodSync(f, 0o600);
    const r = run(agentBin, ['serve', '--db', path.join(dir, 'never.db'), '--token-file', f]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /holds a space or control character at byte 3/);
  });
});

describe('serve: an interrupt is the waker, never the task it landed on', () => {
  test('timer wakeups while the API is queried hard: one [timer] waker, no edge of the daemon', async () => {
    const sleeper = await startWorkload('nanosleep');
    const d = await startDaemon(['--db', path.join(dir, 'irq.db'), '--window', '1', '--comm', WORKLOAD_COMM]);
    try {
      // The daemon's HTTP threads are what timer interrupts land on while it
      // answers: 2,000 queries in 4 s through 8 connections at a time.
      const deadline = Date.now() + 4000;
      let sent = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (Date.now() < deadline && sent < 2000) {
            sent++;
            await get(`${d.url}/api/v1/status`);
          }
        })
      );
      await sleep(1500);
      const r = await get<EdgesAnswer>(`${d.url}/api/v1/edges?${since(20000)}&limit=1000&thread=wf-sleeper`);
      assert.equal(r.status, 200, r.text);
      const irq = r.body.edges.filter((e) => e.waker.context === 'hardirq' || e.waker.context === 'softirq');
      assert.ok(irq.length > 0, JSON.stringify(r.body.edges.map((e) => [e.waker, e.category])));
      for (const e of irq) {
        assert.match(e.waker.comm, /^\[[a-z-]+\]$/, JSON.stringify(e.waker));
        assert.equal(e.waker.pid, null);
        assert.equal(e.waker.tid, null);
      }
      assert.ok(irq.some((e) => e.waker.comm === '[timer]' && e.category === 'timer'));
      // one edge per interrupt kind and stack, not one per interrupted task
      assert.ok(new Set(irq.map((e) => e.waker.comm)).size <= 3);
      const daemonPid = d.proc.pid;
      const all = await get<EdgesAnswer>(`${d.url}/api/v1/edges?${since(20000)}&limit=1000`);
      for (const e of all.body.edges) {
        assert.notEqual(e.waker.pid, daemonPid, 'the daemon is never a waker');
        assert.notEqual(e.target.pid, daemonPid, 'nor a target');
      }
    } finally {
      await stopWorkload(sleeper);
      assert.equal(await stopDaemon(d), 0, d.log());
    }
  });
});

describe('serve: history across restarts', () => {
  test('SIGTERM flushes, a restart keeps history, kill -9 loses at most the window in progress', async () => {
    const db = path.join(dir, 'restart.db');
    const w = await startWorkload('eventfd');
    const q = (url: string, from: number, to: number) =>
      get<SeriesAnswer>(`${url}/api/v1/series?from=${from}&to=${to}&step=1000&metric=wakeups&pid=${w.pid}`);
    try {
      const t0 = Date.now();
      let d = await startDaemon(['--db', db, '--window', '1', '--comm', WORKLOAD_COMM]);
      await sleep(4500);
      const beforeStop = total((await q(d.url, t0 - 1000, Date.now() + 1000)).body);
      assert.ok(beforeStop > 0);
      assert.equal(await stopDaemon(d), 0);
      const t1 = Date.now();
      assert.match(d.log(), /stopping after writing the window in progress/);

      d = await startDaemon(['--db', db, '--window', '1', '--comm', WORKLOAD_COMM]);
      const afterRestart = await q(d.url, t0 - 1000, t1);
      assert.equal(afterRestart.status, 200);
      // everything up to the stop, including the partial last window
      assert.ok(total(afterRestart.body) >= beforeStop, `${total(afterRestart.body)} < ${beforeStop}`);
      const targets = await get<{ targets: Target[] }>(`${d.url}/api/v1/targets`);
      assert.ok(targets.body.targets.some((t) => t.pid === w.pid));

      await sleep(3500);
      const t2 = Date.now();
      const beforeKill = total((await q(d.url, t1, t2)).body);
      assert.ok(beforeKill > 0);
      await stopDaemon(d, 'SIGKILL');
      d = await startDaemon(['--db', db, '--window', '1', '--comm', WORKLOAD_COMM]);
      const afterKill = await q(d.url, t1, t2);
      // the windows completed before the kill are all there
      assert.ok(total(afterKill.body) >= beforeKill * 0.99, `${total(afterKill.body)} < ${beforeKill}`);
      assert.equal(await stopDaemon(d), 0);
    } finally {
      await stopWorkload(w);
    }
  });
});

describe('serve: targets come and go', () => {
  test('a target that exits and is started again is followed, without restarting the daemon', async () => {
    const d = await startDaemon(['--db', path.join(dir, 'follow.db'), '--window', '1', '--comm', WORKLOAD_COMM]);
    try {
      const first = await startWorkload('eventfd');
      await waitFor('first workload traced', async () => {
        const r = await get<{ targets: Target[] }>(`${d.url}/api/v1/targets`);
        return r.body.targets.some((t) => t.pid === first.pid && t.alive);
      });
      await sleep(2000);
      await stopWorkload(first);
      const second = await startWorkload('eventfd');
      try {
        await waitFor('second traced, first gone', async () => {
          const r = await get<{ targets: Target[] }>(`${d.url}/api/v1/targets`);
          const a = r.body.targets.find((t) => t.pid === first.pid);
          const b = r.body.targets.find((t) => t.pid === second.pid);
          return a && !a.alive && b && b.alive;
        });
        await sleep(2500);
        const r = await get<SeriesAnswer>(`${d.url}/api/v1/series?${since(30000)}&step=1000&metric=wakeups&by=target`);
        const pids = r.body.series.filter((s) => total({ ...r.body, series: [s] }) > 0).map((s) => s.labels.pid);
        assert.ok(pids.includes(String(first.pid)), JSON.stringify(pids));
        assert.ok(pids.includes(String(second.pid)), JSON.stringify(pids));
      } finally {
        await stopWorkload(second);
      }
    } finally {
      assert.equal(await stopDaemon(d), 0);
    }
  });
});

describe('serve: the host procfs mounted elsewhere (--proc-root), as the DaemonSet runs it', () => {
  test('targets and their wakeups are found through a second procfs mount', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'wf-procroot-'));
    const proc = path.join(root, 'proc');
    const mnt = run('sh', ['-c', `mkdir -p ${proc} && mount -t proc proc ${proc}`]);
    assert.equal(mnt.status, 0, mnt.stderr);
    try {
      const d = await startDaemon([
        '--db',
        path.join(dir, 'procroot.db'),
        '--window',
        '1',
        '--comm',
        WORKLOAD_COMM,
        '--proc-root',
        proc,
        '--cgroup-root',
        '/sys/fs/cgroup',
      ]);
      try {
        const w = await startWorkload('eventfd');
        try {
          await waitFor('workload traced through --proc-root', async () => {
            const r = await get<{ targets: Target[] }>(`${d.url}/api/v1/targets`);
            return r.body.targets.some((t) => t.pid === w.pid && t.alive);
          });
          await sleep(2500);
          const r = await get<SeriesAnswer>(
            `${d.url}/api/v1/series?${since(30000)}&step=1000&metric=wakeups&by=target&pid=${w.pid}`
          );
          assert.ok(total(r.body) > 0, JSON.stringify(r.body));
        } finally {
          await stopWorkload(w);
        }
      } finally {
        assert.equal(await stopDaemon(d), 0);
      }
    } finally {
      run('umount', [proc]);
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('a --proc-root without processes in it finds no --pid target', () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'wf-noproc-'));
    try {
      const r = run(agentBin, [
        'serve',
        '--pid',
        String(process.pid),
        '--proc-root',
        empty,
        '--db',
        path.join(empty, 'x.db'),
      ]);
      assert.notEqual(r.status, 0);
      // The daemon logs as it starts; the error is one line of its own.
      assert.match(r.stderr, /^wakeflow-agent: no such process: \d+$/m, r.stderr);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('serve: a broken store', () => {
  test('garbage written into the database: reported, capture and serving go on from memory', async () => {
    const db = path.join(dir, 'corrupt.db');
    const w = await startWorkload('eventfd');
    const d = await startDaemon(['--db', db, '--window', '1', '--comm', WORKLOAD_COMM]);
    try {
      await sleep(2500);
      const fd = openSync(db, 'r+');
      writeSync(fd, Buffer.alloc(8192, 0x5a), 0, 8192, 0);
      closeSync(fd);
      const st = await waitFor('corruption reported', async () => {
        const r = await get<Status>(`${d.url}/api/v1/status`);
        return r.body.store.state === 'corrupt' ? r.body : undefined;
      });
      assert.match(st.store.error ?? '', /corrupt/);
      assert.match(d.log(), /error store: .*corrupt/);
      const t = Date.now();
      await sleep(2500);
      // still capturing: windows after the corruption are answered from memory
      const r = await get<SeriesAnswer>(
        `${d.url}/api/v1/series?from=${t}&to=${Date.now()}&step=1000&metric=wakeups&pid=${w.pid}`
      );
      assert.equal(r.status, 200);
      assert.match(r.body.warning ?? '', /memory/);
      assert.ok(total(r.body) > 0);
      const e = await get<EdgesAnswer>(`${d.url}/api/v1/edges?from=${t}&to=${Date.now()}&pid=${w.pid}`);
      assert.equal(e.status, 200);
      assert.ok(e.body.edges.length > 0);
      assert.ok(e.body.edges[0].target_stack.length >= 0);
      const m = await get(`${d.url}/metrics`);
      assert.match(m.text, /^wakeflow_agent_store_ok 0$/m);
      assert.equal((await get(`${d.url}/healthz`)).status, 200);
    } finally {
      await stopWorkload(w);
      assert.equal(await stopDaemon(d), 0, d.log());
    }
    // the file was left as it was found, not "repaired" by a checkpoint
    const head = Buffer.alloc(16);
    const fd = openSync(db, 'r');
    readSync(fd, head, 0, 16, 0);
    closeSync(fd);
    assert.ok(
      head.every((b) => b === 0x5a),
      head.toString('hex')
    );
  });

  test('a full disk: reported as failing, served from memory, written again once there is room', async () => {
    const mnt = path.join(dir, 'small');
    run('mkdir', ['-p', mnt]);
    const m = run('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]);
    assert.equal(m.status, 0, `mounting a small tmpfs needs root: ${m.stderr}`);
    const w = await startWorkload('eventfd');
    let d: Daemon | undefined;
    try {
      d = await startDaemon(['--db', path.join(mnt, 'full.db'), '--window', '1', '--comm', WORKLOAD_COMM]);
      const url = d.url;
      await sleep(2000);
      // fill the file system
      run('dd', ['if=/dev/zero', `of=${path.join(mnt, 'filler')}`, 'bs=64k', 'count=1000']);
      const failing = await waitFor('failure reported', async () => {
        const r = await get<Status>(`${url}/api/v1/status`);
        return r.body.store.state === 'failing' ? r.body : undefined;
      });
      assert.ok(failing.store.error);
      assert.ok(failing.store.errors > 0);
      const t = Date.now();
      await sleep(2000);
      const r = await get<SeriesAnswer>(
        `${url}/api/v1/series?from=${t}&to=${Date.now()}&step=1000&metric=wakeups&pid=${w.pid}`
      );
      assert.equal(r.status, 200);
      assert.ok(total(r.body) > 0, 'windows the store did not take come from memory');
      rmSync(path.join(mnt, 'filler'));
      await waitFor('store written again', async () => {
        const s = await get<Status>(`${url}/api/v1/status`);
        return s.body.store.state === 'ok';
      });
      assert.equal(await stopDaemon(d), 0, d.log());
      // The windows kept in memory while the disk was full were written once
      // it had room: the stored windows follow each other without a gap.
      const q = run('sqlite3', [
        path.join(mnt, 'full.db'),
        'SELECT count(*) FROM windows w WHERE tier = 0 AND NOT EXISTS ' +
          '(SELECT 1 FROM windows x WHERE x.tier = 0 AND x.start_ms = w.end_ms)',
      ]);
      assert.equal(q.stdout.trim(), '1', `windows without a successor (gaps + the last): ${q.stdout}${q.stderr}`);
      assert.match(d.log(), /store: wrote the \d+ window\(s\) kept in memory while it failed/);
    } finally {
      await stopWorkload(w);
      if (d) {
        assert.equal(await stopDaemon(d), 0, d.log());
      }
      run('umount', [mnt]);
    }
  });

  test('a store on a read-only file system: its history is served, the error names the reason', async () => {
    const mnt = path.join(dir, 'ro');
    run('mkdir', ['-p', mnt]);
    assert.equal(run('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mnt]).status, 0);
    const db = path.join(mnt, 'ro.db');
    const w = await startWorkload('eventfd');
    let d: Daemon | undefined;
    try {
      d = await startDaemon(['--db', db, '--window', '1', '--comm', WORKLOAD_COMM]);
      await sleep(3000);
      assert.equal(await stopDaemon(d), 0, d.log());
      const until = Date.now();
      assert.equal(run('mount', ['-o', 'remount,ro', mnt]).status, 0);
      d = await startDaemon(['--db', db, '--window', '1', '--comm', WORKLOAD_COMM]);
      const s = await get<Status>(`${d.url}/api/v1/status`);
      assert.equal(s.body.store.state, 'failing');
      assert.match(s.body.store.error ?? '', /[Rr]ead-only file system/);
      const r = await get<SeriesAnswer>(
        `${d.url}/api/v1/series?from=${until - 60000}&to=${until}&metric=wakeups&pid=${w.pid}`
      );
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.warning, undefined, 'answered from the store, not from memory');
      assert.ok(total(r.body) > 0, 'the history before the restart is served');
      assert.match(d.log(), /read-only file system: serving the history it holds/);
    } finally {
      await stopWorkload(w);
      if (d) {
        assert.equal(await stopDaemon(d), 0, d.log());
      }
      run('umount', [mnt]);
    }
  });
});

/*
 * Real cgroups on this host (createTestCgroup: the v1 cpu hierarchy on a
 * hybrid host such as this one, else cgroup v2). The tracker reads a
 * process's cgroup when the daemon first sees an event of it (tracker.c
 * discover()); a process that --cgroup left out is looked at again in each
 * window in which it has events, so one moved into a matching cgroup later
 * is picked up. A target is never dropped or re-read when it moves out:
 * its cpu.stat stays the one of the cgroup it was found in (containers do
 * not change cgroup once their process runs).
 */
describe('serve: cgroups (--cgroup filter, CPU throttling)', () => {
  test('--cgroup REGEX: only the process in the matching cgroup is a target and has wakeups', async () => {
    const cg = createTestCgroup();
    const workloads: Workload[] = [];
    let d: Daemon | undefined;
    try {
      const inside = await startWorkload('eventfd', ['--interval-us', '500']);
      workloads.push(inside);
      const outside = await startWorkload('eventfd', ['--interval-us', '500']);
      workloads.push(outside);
      cg.add(inside.pid);
      d = await startDaemon([
        '--db',
        path.join(dir, 'cgroup-filter.db'),
        '--window',
        '1',
        '--comm',
        WORKLOAD_COMM,
        '--cgroup',
        `${cg.path}$`,
      ]);
      const url = d.url;
      await waitFor('the process in the cgroup traced', async () => {
        const r = await get<{ targets: Target[] }>(`${url}/api/v1/targets`);
        return r.body.targets.some((t) => t.pid === inside.pid && t.alive);
      });
      // Both processes wake hundreds of times a second: a few windows in
      // which the one outside had every chance to be counted.
      await sleep(3000);
      const targets = await get<{ targets: Target[] }>(`${url}/api/v1/targets`);
      assert.deepEqual(
        targets.body.targets.map((t) => t.pid),
        [inside.pid],
        JSON.stringify(targets.body)
      );
      const r = await get<SeriesAnswer>(`${url}/api/v1/series?${since(30000)}&step=1000&metric=wakeups&by=target`);
      assert.equal(r.status, 200, r.text);
      const pids = r.body.series.filter((s) => total({ ...r.body, series: [s] }) > 0).map((s) => s.labels.pid);
      assert.deepEqual(pids, [String(inside.pid)], JSON.stringify(r.body.series.map((s) => s.labels)));
      assert.ok(total(r.body) > 100, `${total(r.body)} wakeups/s summed`);

      // Moved in while the daemon runs: it had been seen and left out.
      cg.add(outside.pid);
      await waitFor('the process moved into the cgroup traced', async () => {
        const t = await get<{ targets: Target[] }>(`${url}/api/v1/targets`);
        return t.body.targets.some((x) => x.pid === outside.pid && x.alive);
      });
      await waitFor('wakeups of the process moved in', async () => {
        const a = await get<SeriesAnswer>(
          `${url}/api/v1/series?${since(30000)}&step=1000&metric=wakeups&by=target&pid=${outside.pid}`
        );
        return total(a.body) > 0;
      });
    } finally {
      for (const w of workloads) {
        await stopWorkload(w);
      }
      try {
        await cg.destroy();
      } finally {
        if (d) {
          assert.equal(await stopDaemon(d), 0, d.log());
        }
      }
    }
  });

  test('a CPU limit of 10% on two spinners: throttling in series and /metrics', async () => {
    const cg = createTestCgroup();
    let spin: Workload | undefined;
    let d: Daemon | undefined;
    try {
      cg.limitCpu(10000, 100000);
      spin = await startWorkload('preempt', ['--cpu', '1']);
      const pid = spin.pid;
      cg.add(pid);
      // Throttling can begin once the spinners are in the cgroup: the bound
      // below counts from here (under emulation the agent takes many seconds
      // to start and trace them; 5.7 s throttled in 3.7 s from the tracing were
      // seen on 6.1 under TCG).
      const started = Date.now();
      d = await startDaemon([
        '--db',
        path.join(dir, 'cgroup-throttle.db'),
        '--window',
        '1',
        '--comm',
        WORKLOAD_COMM,
        '--cgroup',
        `${cg.path}$`,
      ]);
      const url = d.url;
      await waitFor('the spinners traced', async () => {
        const r = await get<{ targets: Target[] }>(`${url}/api/v1/targets`);
        return r.body.targets.some((t) => t.pid === pid && t.alive);
      });
      // Throttling is counted from when a target appears, its first window included.
      await sleep(3500);
      const r = await get<SeriesAnswer>(`${url}/api/v1/series?${since(30000)}&step=1000&metric=throttled&by=target`);
      assert.equal(r.status, 200, r.text);
      const mine = r.body.series.find((s) => s.labels.pid === String(pid));
      assert.ok(mine, JSON.stringify(r.body.series.map((s) => s.labels)));
      // Seconds throttled per second: about 0.9 (90 ms of every 100 ms
      // period) in a full window; noisy neighbours on CPU 1 lower it.
      const peak = Math.max(...mine.points.map((p) => p[1]));
      assert.ok(peak > 0.3, JSON.stringify(mine));

      const m = await get(`${url}/metrics`);
      const value = (name: string) => {
        const line = m.text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`pid="${pid}"`));
        assert.ok(line, `${name} for pid ${pid}:\n${m.text.slice(0, 3000)}`);
        return Number(line.split(' ').pop());
      };
      const seconds = value('wakeflow_throttled_seconds_total');
      const periods = value('wakeflow_throttled_periods_total');
      const elapsed = (Date.now() - started) / 1000;
      assert.ok(seconds > 0.3 && seconds <= elapsed + 1, `throttled ${seconds} s in ${elapsed} s`);
      // ~10 periods a second, most of them cut short by the quota
      assert.ok(periods >= 5 && periods <= elapsed * 10 + 10, `throttled in ${periods} periods in ${elapsed} s`);
    } finally {
      if (spin) {
        await stopWorkload(spin);
      }
      try {
        await cg.destroy();
      } finally {
        if (d) {
          assert.equal(await stopDaemon(d), 0, d.log());
        }
      }
    }
  });
});

describe('serve: memory under concurrent queries', () => {
  test('50 clients querying an hour of 8,000 edges: RSS stays under 64 MiB and falls back under 48 MiB', async () => {
    const db = path.join(dir, 'memory.db');
    // An hour of 4 targets x 2,000 edges per window, as bench:api serves.
    const fill = run(agentBin, ['serve', '--db', db, '--bench-fill', '1']);
    assert.equal(fill.status, 0, fill.stderr);
    const d = await startDaemon(['--db', db, '--window', '1', '--comm', '^no-such-process$']);
    // A daemon that has exited has no /proc entry: say so with its log
    // (the real failure) instead of an ENOENT from the sampler.
    const rss = () => {
      if (d.proc.exitCode !== null || d.proc.signalCode !== null) {
        throw new Error(`the daemon exited (${d.proc.exitCode ?? d.proc.signalCode}) under the load: ${d.log()}`);
      }
      return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${d.proc.pid}/status`, 'utf8'))![1]) / 1024;
    };
    let sampler: NodeJS.Timeout | undefined;
    try {
      let peak = 0;
      let sampleError: unknown;
      sampler = setInterval(() => {
        try {
          peak = Math.max(peak, rss());
        } catch (e) {
          sampleError ??= e;
        }
      }, 100);
      let sent = 0;
      const paths = ['/api/v1/series?by=category', '/api/v1/edges?limit=100'];
      await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          while (sent < 400) {
            const r = await get(`${d.url}${paths[sent++ % 2]}`);
            assert.ok(r.status === 200 || r.status === 503, `client ${i}: ${r.status} ${r.text.slice(0, 200)}`);
          }
        })
      );
      clearInterval(sampler);
      if (sampleError) {
        throw sampleError;
      }
      await sleep(1000);
      const idle = rss();
      assert.ok(peak <= 64, `peak RSS ${peak.toFixed(1)} MiB under load`);
      assert.ok(idle < 48, `RSS ${idle.toFixed(1)} MiB after the load (peak ${peak.toFixed(1)} MiB)`);
    } finally {
      clearInterval(sampler);
      assert.equal(await stopDaemon(d), 0, d.log());
    }
  });
});

describe('serve: connections (a local user cannot starve /healthz)', () => {
  let d: Daemon;
  before(async () => {
    d = await startDaemon(['--db', path.join(dir, 'conns.db'), '--window', '1', '--comm', '^no-such-process$']);
  });
  after(async () => {
    assert.equal(await stopDaemon(d), 0, d.log());
  });
  const port = () => Number(new URL(d.url).port);

  /* Opens n connections from a local address that send nothing; resolves once all are connected. */
  async function idle(n: number, localAddress = '127.0.0.1') {
    const socks = await Promise.all(
      Array.from(
        { length: n },
        () =>
          new Promise<Socket>((resolve) => {
            const s = connect({ port: port(), host: '127.0.0.1', localAddress });
            s.on('error', () => undefined);
            s.on('connect', () => resolve(s));
            s.on('close', () => resolve(s));
          })
      )
    );
    await sleep(300);
    return socks;
  }
  const healthzWithin = async (ms: number) => {
    const t0 = Date.now();
    const r = await fetch(`${d.url}/healthz`, { signal: AbortSignal.timeout(ms) });
    assert.equal(r.status, 200);
    return Date.now() - t0;
  };

  // The daemon's header deadline is 5 s of wall-clock time from the accept
  // (WF_HTTP_HEADER_DEADLINE_MS); what may come on top of it, the daemon's
  // own work to notice and close, is slower where everything is
  // (lib/pace.ts), the 5 s are not.
  const HEADER_DEADLINE_MS = 5000;
  const pastDeadline = (ms: number) => HEADER_DEADLINE_MS + deadline(ms);

  test('300 idle connections from one address: /healthz answers; all are closed within the header deadline', async () => {
    const socks = await idle(300);
    try {
      await healthzWithin(deadline(2000));
      const api = await get<{ error: string }>(`${d.url}/api/v1/status`);
      assert.ok(api.status === 200 || api.status === 503, api.text);
      await sleep(pastDeadline(1000));
      const open = socks.filter((s) => !s.destroyed && s.readyState === 'open').length;
      assert.equal(open, 0, `${open} idle connections still open after ${pastDeadline(1000)} ms`);
    } finally {
      socks.forEach((s) => s.destroy());
    }
    // The abuse is summed up once a minute, not logged per connection.
    assert.ok(
      d
        .log()
        .split('\n')
        .filter((l) => / http: /.test(l)).length <= 3,
      d.log()
    );
  });

  test('60 idle connections from each of 5 addresses: /healthz still answers from a sixth', async () => {
    const socks = (
      await Promise.all(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'].map((a) => idle(60, a)))
    ).flat();
    try {
      await healthzWithin(deadline(2000));
    } finally {
      socks.forEach((s) => s.destroy());
    }
  });

  test('one header line every second does not hold a connection past the deadline', async () => {
    const s = connect(port(), '127.0.0.1');
    s.on('error', () => undefined);
    const closed = new Promise<number>((resolve) => s.on('close', () => resolve(Date.now())));
    const t0 = Date.now();
    s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => s.writable && s.write(`X-Slow-${Date.now()}: 1\r\n`), 1000);
    const at = await Promise.race([closed, sleep(pastDeadline(7000)).then(() => 0)]);
    clearInterval(drip);
    s.destroy();
    assert.ok(at > 0, `the connection was still open after ${pastDeadline(7000)} ms`);
    assert.ok(at - t0 < pastDeadline(2000), `closed after ${at - t0} ms`);
  });

  test('50 keep-alive clients (wrk) under the per-address limit: no refusal', () => {
    // wrk counts an answer slower than its --timeout (2 s unless told) as a
    // socket error: as slow as everything here.
    const r = run('wrk', ['-t2', '-c50', '-d3s', `--timeout=${deadline(2)}s`, `${d.url}/api/v1/status`]);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /Socket errors|Non-2xx/, r.stdout);
    assert.doesNotMatch(d.log(), /connection limit|refused/i);
  });
});
