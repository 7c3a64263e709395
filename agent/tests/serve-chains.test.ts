// SPDX-License-Identifier: Apache-2.0
/*
 * `wakeflow-agent serve`'s /api/v1/chains end to end: the real daemon (real
 * BPF attached) answering from a store that the daemon's own write path
 * filled with chains (`serve --bench-fill`: collect_chains -> catalog ->
 * chains blobs -> store, minute roll-ups on a simulated clock), through its
 * real HTTP server: the answer's shape (the contract with the Grafana
 * backend, docs/api.md), depth cuts, filters on the target, sorting, limits
 * and bad parameters, and the status counters of the chain map; then the
 * daemon tracing a real chain workload (agent/tests/chains/chainload.c).
 *
 * Needs agent/build/wakeflow-agent (make -C agent) and root.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { deadline, scaled } from './lib/pace';
import { buildChainload } from './lib/chainload';
import { agentBin, Daemon, get, run, startDaemon, stopDaemon, waitFor } from './lib/serve-daemon';

interface Hop {
  comm: string;
  proc?: string;
  pid: number | null;
  tid: number | null;
}

interface Link {
  category: string;
  activity: string | null;
  context: string;
  stacks_sampled: boolean;
  waker_stack?: string[];
  waker_stack_kernel_frames?: number | null;
  target_stack?: string[];
  target_stack_kernel_frames?: number | null;
}

interface ApiChain {
  hops: Hop[];
  links: Link[];
  count: number;
  offcpu_us: number;
  runq_us: number;
  ended_by: string;
  id: number;
  labels: Record<string, string>;
  first_seen_ms: number;
  last_seen_ms: number;
}

interface ChainsAnswer {
  from_ms: number;
  to_ms: number;
  depth: number;
  matched: number;
  truncated: boolean;
  chains: ApiChain[];
}

let dir: string;
let d: Daemon;
before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'wf-serve-chains-'));
  const db = path.join(dir, 'chains.db');
  // 12 minutes of 4 targets x 300 chains per window: two minutes rolled up at least.
  const fill = run(agentBin, ['serve', '--db', db, '--bench-fill', '0.2']);
  assert.equal(fill.status, 0, fill.stderr);
  assert.match(fill.stdout, /"chains_per_window_per_target": 300/);
  d = await startDaemon(['--db', db, '--comm', '^no-such-process$']);
});
after(async () => {
  if (d) {
    assert.equal(await stopDaemon(d), 0, d.log());
  }
  rmSync(dir, { recursive: true, force: true });
});

async function chains(qs: string): Promise<ChainsAnswer> {
  const now = Date.now();
  const r = await get<ChainsAnswer>(`${d.url}/api/v1/chains?from=${now - 3600000}&to=${now + 1000}${qs}`);
  assert.equal(r.status, 200, r.text);
  assert.match(r.type ?? '', /^application\/json/);
  return r.body;
}

function checkChain(c: ApiChain, depth: number) {
  assert.ok(c.links.length >= 1 && c.links.length <= depth, JSON.stringify(c));
  assert.equal(c.hops.length, c.links.length + 1);
  for (const h of c.hops) {
    assert.equal(typeof h.comm, 'string');
    assert.ok(h.pid === null || Number.isInteger(h.pid));
    assert.ok(h.tid === null || Number.isInteger(h.tid));
  }
  for (const l of c.links) {
    assert.match(l.category, /^[a-z]+(\.[a-z_]+)*$/);
    assert.ok(['task', 'softirq', 'hardirq', 'none', 'unknown'].includes(l.context), l.context);
    // Stacks only where sampled, under the edges' names.
    assert.equal('waker_stack' in l, l.stacks_sampled);
    assert.equal('target_stack_kernel_frames' in l, l.stacks_sampled);
  }
  assert.ok(['none', 'interrupt', 'depth', 'untracked'].includes(c.ended_by), c.ended_by);
  assert.ok(Number.isSafeInteger(c.id) && c.id > 0);
  assert.ok(c.count > 0 && c.offcpu_us > 0 && c.runq_us >= 0);
  assert.ok(c.first_seen_ms < c.last_seen_ms);
  assert.match(c.labels.pod, /^bench-\d-/);
}

describe('serve: /api/v1/chains', () => {
  test('depth 3: the filled chains, first cause to target, with the target labels', async () => {
    const a = await chains('&limit=1000');
    assert.equal(a.depth, 3);
    // 4 targets x a pool of 400 chains, all seen in 12 minutes.
    assert.equal(a.matched, 1600);
    assert.equal(a.chains.length, 1000);
    assert.equal(a.truncated, true);
    for (const c of a.chains) {
      checkChain(c, 3);
      assert.equal(c.links.length, 3);
      assert.ok(['none', 'untracked'].includes(c.ended_by));
      // X -> envoy main (socket) -> worker (dispatcher post) -> the target's own wakeup.
      assert.match(c.hops[0].comm, /^upstream-\d$/);
      assert.equal(c.hops[0].proc, 'app');
      assert.equal(c.hops[1].comm, 'envoy');
      assert.match(c.hops[2].comm, /^wrk:worker_\d$/);
      assert.ok(['net.unix', 'net.tcp.data'].includes(c.links[0].category), c.links[0].category);
      assert.equal(c.links[0].stacks_sampled, true);
      assert.equal(c.links[0].waker_stack!.length, 24);
      assert.equal(c.links[1].category, 'ipc.eventfd');
      assert.equal(c.links[1].activity, 'envoy.dispatcher_post');
      assert.equal(c.hops[3].pid, c.hops[2].pid);
    }
    // Largest off-CPU first; ids tell chains apart.
    for (let i = 1; i < a.chains.length; i++) {
      assert.ok(a.chains[i - 1].offcpu_us >= a.chains[i].offcpu_us);
    }
    assert.equal(new Set(a.chains.map((c) => c.id)).size, a.chains.length);
    // The same question asked again: the same ids.
    const again = await chains('&limit=10');
    assert.deepEqual(
      again.chains.map((c) => c.id),
      a.chains.slice(0, 10).map((c) => c.id)
    );
  });

  test('depth cuts: chains that become equal are summed; a cut chain ends by depth', async () => {
    const full = await chains('&limit=1000&depth=3');
    const two = await chains('&limit=1000&depth=2');
    const one = await chains('&limit=1000&depth=1');
    const sum = (a: ChainsAnswer) => a.chains.reduce((s, c) => s + c.count, 0);
    for (const c of two.chains) {
      checkChain(c, 2);
      assert.equal(c.links.length, 2);
      assert.equal(c.ended_by, 'depth');
      assert.equal(c.links[0].category, 'ipc.eventfd');
    }
    for (const c of one.chains) {
      checkChain(c, 1);
      assert.equal(c.ended_by, 'depth');
    }
    // Two chains end in each edge, their causes differing in the first link
    // only: cut to 2 or 1 links they become one, summed.
    assert.equal(full.matched, 1600);
    assert.equal(two.matched, 800);
    assert.equal(one.matched, 800);
    assert.equal(sum(two), sum(one));
    const pod = '&pod=bench-0-7d9f8c6b5-x2k4q';
    const [all, allTwo, allOne] = await Promise.all([1, 2, 3].map((n) => chains(`&limit=1000&depth=${4 - n}${pod}`)));
    assert.equal(all.matched, 400);
    assert.equal(allTwo.matched, 200);
    assert.equal(allOne.matched, 200);
    assert.equal(sum(allTwo), sum(all));
    assert.equal(sum(allOne), sum(all));
  });

  test('filters apply to the target (the last hop); category to the last link', async () => {
    const all = await chains('&limit=1000');
    const pod = await chains('&limit=1000&pod=bench-2-7d9f8c6b5-x2k4q');
    assert.equal(pod.matched, 400);
    assert.ok(pod.chains.every((c) => c.labels.pod === 'bench-2-7d9f8c6b5-x2k4q'));
    const target = all.chains[0].hops[3].comm;
    const thread = await chains(`&limit=1000&thread=${target}`);
    assert.ok(thread.matched > 0 && thread.matched < all.matched, `${thread.matched} of ${all.matched}`);
    assert.ok(thread.chains.every((c) => c.hops[c.hops.length - 1].comm === target));
    // The first cause's thread is not the target: no chain.
    assert.equal((await chains(`&thread=${all.chains[0].hops[0].comm}`)).matched, 0);
    const cat = all.chains[0].links[2].category;
    const byCat = await chains(`&limit=1000&category=${cat}`);
    assert.ok(byCat.matched > 0 && byCat.chains.every((c) => c.links[c.links.length - 1].category === cat));
    // A category only a middle link has matches nothing when the last link is something else.
    const eventfd = await chains('&limit=1000&category=ipc.eventfd');
    assert.ok(eventfd.chains.every((c) => c.links[c.links.length - 1].category === 'ipc.eventfd'));
    assert.equal((await chains('&pid=1')).matched, 0);
    const byCount = await chains('&sort=count&limit=5');
    for (let i = 1; i < byCount.chains.length; i++) {
      assert.ok(byCount.chains[i - 1].count >= byCount.chains[i].count);
    }
    const byRunq = await chains('&sort=runq&limit=5');
    assert.equal(byRunq.chains.length, 5);
    const capped = await chains('&limit=5000');
    assert.equal(capped.chains.length, 1000);
  });

  test('bad parameters: one line naming the problem', async () => {
    const cases: Array<[string, RegExp]> = [
      ['depth=0', /^depth must be a number of links from 1 to 4, got '0'$/],
      ['depth=5', /^depth must be a number of links from 1 to 4/],
      ['depth=two', /^depth must be/],
      ['depth=2&depth=3', /given twice/],
      ['sort=max', /sort/],
      ['limit=0', /limit/],
      ['category=net.t', /category/],
      ['step=10000', /unknown parameter 'step'/],
    ];
    for (const [qs, re] of cases) {
      const r = await get<{ error: string }>(`${d.url}/api/v1/chains?${qs}`);
      assert.equal(r.status, 400, `${qs}: ${r.text}`);
      assert.match(r.body.error, re, qs);
      assert.ok(!r.body.error.includes('\n'));
    }
    // Edges take no depth.
    assert.equal((await get(`${d.url}/api/v1/edges?depth=2`)).status, 400);
  });

  test('status: the chain map use and drops; /metrics gains nothing per chain', async () => {
    const s = await get<{ capture: Record<string, unknown>; lost: Record<string, number> }>(`${d.url}/api/v1/status`);
    assert.equal(s.status, 200);
    assert.equal(typeof s.body.capture.chains_in_map, 'number');
    assert.equal(typeof s.body.lost.chains_dropped, 'number');
    const m = await get(`${d.url}/metrics`);
    assert.equal(m.status, 200);
    assert.ok(!/chain/i.test(m.text), 'no chain metric');
  });
});

/* The real daemon on a real chain workload (agent/tests/chains/chainload.c,
 * chains-capture's: a pipeline in one process, [timer] -> wf-a -[eventfd]->
 * wf-b -[pipe]-> wf-c), 1 s windows: the chain as /api/v1/chains answers it
 * from the ring and the store, cut by the interrupt, and cut at depth 2. */
describe('serve: /api/v1/chains of a live pipeline', () => {
  let bin = '';
  before(() => {
    bin = path.join(dir, 'wf-chainload');
    buildChainload(bin);
  });

  test('[timer] -> wf-a -[eventfd]-> wf-b -[pipe]-> wf-c, then at depth 2 and with filters', async () => {
    const w = spawn(bin, ['pipeline'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CHAINLOAD_MS: String(deadline(20000)) },
    });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      w.stdout!.on('data', (b: Buffer) => ((out += b.toString()), out.includes('ready') && resolve()));
      w.once('exit', (code) => reject(new Error(`chainload exited (${code}) before ready`)));
    });
    const live = await startDaemon(['--db', path.join(dir, 'live.db'), '--window', '1', '--pid', String(w.pid)]);
    try {
      const url = (qs: string) => {
        const now = Date.now();
        return `${live.url}/api/v1/chains?from=${now - 600000}&to=${now + 1000}&thread=wf-c${qs}`;
      };
      const show = (c: ApiChain) =>
        `${c.hops[0].comm}${c.links.map((l, i) => ` -[${l.category}]-> ${c.hops[i + 1].comm}`).join('')} (${c.ended_by}) x${c.count}`;
      const top = await waitFor('the pipeline chain of wf-c', async () => {
        const r = await get<ChainsAnswer>(url('&sort=count'));
        assert.equal(r.status, 200, r.text);
        const c = r.body.chains.find((x) => x.hops.length === 4);
        return c && c.count >= 20 ? { c, all: r.body } : undefined;
      });
      const c = top.c;
      assert.deepEqual(
        c.hops.map((h) => h.comm),
        ['[timer]', 'wf-a', 'wf-b', 'wf-c'],
        top.all.chains.map(show).join('; ')
      );
      assert.deepEqual(
        c.links.map((l) => l.category),
        ['timer', 'ipc.eventfd', 'ipc.pipe']
      );
      assert.deepEqual(
        c.links.map((l) => l.context),
        ['hardirq', 'task', 'task']
      );
      assert.equal(c.ended_by, 'interrupt');
      for (const h of c.hops.slice(1)) {
        assert.equal(h.pid, w.pid);
        assert.equal(h.proc, 'wf-chainload');
      }
      assert.equal(new Set(c.hops.slice(1).map((h) => h.tid)).size, 3);
      // One chain is one entry however many windows it spans: its links'
      // sampled stacks (walked again once a second) are not its identity.
      await new Promise((r) => setTimeout(r, scaled(3000)));
      const again = await get<ChainsAnswer>(url('&sort=count&limit=1000'));
      const seen = new Map<string, number>();
      for (const x of again.body.chains) {
        const key = JSON.stringify([x.hops, x.links.map((l) => [l.category, l.activity, l.context]), x.ended_by]);
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
      const repeated = [...seen].filter(([, n]) => n > 1);
      assert.deepEqual(repeated, [], `chains listed more than once: ${again.body.chains.map(show).join('; ')}`);
      // The same chain cut to two links: wf-a -> wf-b -> wf-c, ended by depth,
      // with at least the intervals of the full chain.
      const two = await get<ChainsAnswer>(url('&depth=2&sort=count'));
      const cut = two.body.chains.find((x) => x.hops.map((h) => h.comm).join() === 'wf-a,wf-b,wf-c');
      assert.ok(cut, two.body.chains.map(show).join('; '));
      assert.equal(cut.ended_by, 'depth');
      assert.ok(cut.count >= c.count, `${cut.count} < ${c.count}`);
      // A filter on the target's thread that is not the target: nothing.
      assert.equal(
        (await get<ChainsAnswer>(url('').replace('thread=wf-c', 'thread=wf-a'))).body.chains.filter(
          (x) => x.hops.length === 4 && x.hops[3].comm === 'wf-c'
        ).length,
        0
      );
      const s = await get<{ capture: Record<string, number>; lost: Record<string, number> }>(
        `${live.url}/api/v1/status`
      );
      assert.ok(s.body.capture.chains_in_map >= 0 && s.body.lost.chains_dropped === 0, JSON.stringify(s.body.capture));
    } finally {
      w.kill('SIGKILL');
      assert.equal(await stopDaemon(live), 0, live.log());
    }
  });
});
