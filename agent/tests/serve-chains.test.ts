// SPDX-License-Identifier: Apache-2.0
/*
 * `wakeflow-agent serve`'s /api/v1/chains end to end: the real daemon (real
 * BPF attached) answering from a store that the daemon's own write path
 * filled with chains (`serve --bench-fill`: collect_chains -> catalog ->
 * chains blobs -> store, minute roll-ups on a simulated clock), through its
 * real HTTP server: the answer's shape (the contract with the Grafana
 * backend, docs/api.md), depth cuts, filters on the target, sorting, limits
 * and bad parameters, and the status counters of the chain map.
 *
 * Needs agent/build/wakeflow-agent (make -C agent) and root.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { agentBin, Daemon, get, run, startDaemon, stopDaemon } from './lib/serve-daemon';

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
