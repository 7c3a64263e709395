// SPDX-License-Identifier: Apache-2.0
/*
 * The thread's memo of its last edge (agent/src/bpf/edge_memo.bpf.h) records
 * what the edges map alone records. Two real recordings of the same pipe
 * ping-pong run side by side, one with the memo and one without
 * (WAKEFLOW_EDGE_MEMO=off: every interval goes into the edges map), both
 * attached before its first round trip: every edge must be in both, with
 * the same count, and about the same times (each capture reads its own
 * clock, after the other's program has run, so times differ by a few per
 * cent, never counts). Once with the threads still alive when the
 * recordings end, so that the drain moves the memos into the map, and once
 * with the process gone before, so that the exit does.
 *
 * Runs as root. Needs agent/build/wakeflow-agent and wakeflow-workload.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Edge, Report, sleep, startRecord, startWorkload, stopRecord, workloadComm } from './lib/record';
import { scaled } from './lib/pace';

const ROUND_TRIPS = 20000;

/* What makes an edge an edge in the report, besides its numbers. */
function edgeName(e: Edge): string {
  const other = e.kind === 'preempted' ? e.preemptor : e.waker;
  return [e.target.comm, e.target.tid, e.kind, other?.comm, other?.tid, e.waker.context, ...(e.facts ?? [])].join(' ');
}

function byName(r: Report): Map<string, Edge> {
  const m = new Map<string, Edge>();
  for (const e of r.edges.filter((x) => x.target.comm === 'wf-ping' || x.target.comm === 'wf-pong')) {
    assert.ok(!m.has(edgeName(e)), `one edge per name: ${edgeName(e)}`);
    m.set(edgeName(e), e);
  }
  return m;
}

async function recordBoth(lingerSeconds: number): Promise<{ memo: Report; plain: Report }> {
  const args = ['--comm', `^${workloadComm}$`];
  const memo = await startRecord(args);
  const plain = await startRecord(args, { WAKEFLOW_EDGE_MEMO: 'off' });
  /* Asleep first, so that both attach before the first round trip. */
  const w = startWorkload('pingpong', [
    '--iterations',
    String(ROUND_TRIPS),
    '--cpu',
    '1',
    '--delay',
    String(scaled(1500) / 1000),
    '--linger',
    String(lingerSeconds),
  ]);
  if (lingerSeconds > 0) {
    /* The round trips take well under a second; the threads then sleep. */
    await sleep(scaled(1500) + 1500);
  } else {
    assert.equal(await w.exited, 0, w.stderr());
  }
  const reports = { memo: await stopRecord(memo), plain: await stopRecord(plain) };
  if (lingerSeconds > 0) {
    w.proc.kill('SIGKILL');
    await w.exited;
  }
  return reports;
}

function assertSame(memo: Report, plain: Report): void {
  const a = byName(memo);
  const b = byName(plain);
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), 'the same edges');
  let intervals = 0;
  for (const [name, e] of a) {
    const p = b.get(name)!;
    assert.equal(e.count, p.count, `count of ${name}`);
    intervals += e.count ?? 0;
    if ((e.count ?? 0) >= 1000) {
      /* Sums of thousands of intervals: within 25% of each other. */
      const ratio = (e.offcpu_us ?? 0) / (p.offcpu_us ?? 1);
      assert.ok(ratio > 0.75 && ratio < 1.33, `off-CPU time of ${name}: ${e.offcpu_us} vs ${p.offcpu_us} us`);
      const rq = (e.runq_us ?? 0) / (p.runq_us ?? 1);
      assert.ok(rq > 0.75 && rq < 1.33, `run-queue time of ${name}: ${e.runq_us} vs ${p.runq_us} us`);
    }
  }
  /* Two intervals per thread and round trip (a block and a preemption). */
  assert.ok(intervals >= 2 * ROUND_TRIPS, `${intervals} intervals of ${ROUND_TRIPS} round trips`);
  assert.ok(Number(memo.capture?.edge_memo_hits) >= ROUND_TRIPS, `memo hits: ${memo.capture?.edge_memo_hits}`);
  assert.equal(Number(plain.capture?.edge_memo_hits), 0, 'no memo when it is off');
  for (const r of [memo, plain]) {
    assert.equal(r.lost.edges_dropped, 0);
    assert.equal(r.lost.state_dropped, 0);
  }
}

describe('the memo of the last edge records what the edges map records', () => {
  test('threads alive at the end: the drain moves the memos', async () => {
    const { memo, plain } = await recordBoth(30);
    assertSame(memo, plain);
  });

  test('process gone before the end: its exit moves the memos', async () => {
    const { memo, plain } = await recordBoth(0);
    assertSame(memo, plain);
  });
});
