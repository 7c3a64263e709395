// SPDX-License-Identifier: Apache-2.0
/*
 * Multi-hop wake chains (issue 12, docs/chains.md) live, with real BPF,
 * against workloads of known chains (agent/tests/chains/chainload.c, built
 * here): a three-stage pipeline in one process, a chain across two
 * processes (UDP, then a unix socket), chains cut by a timer interrupt and
 * at the depth, a waker that blocked before it woke, a pid reused by a
 * second process, the targets' pod as the chain scope, --chains 1, and bad
 * flags. Asserts the threads of every hop, each link's category and
 * context, and why the chain ends.
 *
 * Runs as root under the BPF lock, like live.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { agentBin, sleep, startRecord, stopRecord } from './lib/record';
import { deadline, scaled } from './lib/pace';
import { buildChainload, startChainload, type ChainloadProcess } from './lib/chainload';

interface Hop {
  comm: string;
  proc?: string; /* absent for an interrupt */
  pid: number | null;
  tid: number | null;
}

interface Link {
  category: string;
  context: string;
  stacks_sampled: boolean;
  waker_stack?: string[];
  target_stack?: string[];
}

interface Chain {
  hops: Hop[];
  links: Link[];
  count: number;
  ended_by: string;
}

let dir = '';
let chainload = '';
let client = ''; /* the same program under the name wfc-client (its exec name) */

before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'wf-chains-'));
  chainload = path.join(dir, 'wf-chainload');
  client = path.join(dir, 'wfc-client');
  buildChainload(chainload);
  copyFileSync(chainload, client);
  execFileSync('chmod', ['+x', client]);
});

after(() => {
  if (dir) {
    rmSync(dir, { recursive: true, force: true });
  }
});

/* The chains of a record --format json report (docs/agent.md). */
function chainsOf(report: any): Chain[] {
  assert.ok(Array.isArray(report.chains), `no "chains" in the report: ${Object.keys(report).join(', ')}`);
  return report.chains as Chain[];
}

const show = (c: Chain) =>
  `${c.hops[0].comm}${c.links.map((l, i) => ` -[${l.category}/${l.context}]-> ${c.hops[i + 1].comm}`).join('')}` +
  ` (${c.ended_by}) x${c.count}`;

/* The target thread's chains, most intervals first. */
function chainsTo(chains: Chain[], target: string): Chain[] {
  return chains.filter((c) => c.hops[c.hops.length - 1].comm === target).sort((a, b) => b.count - a.count);
}

function expectChain(chains: Chain[], target: string, hops: string[], categories: string[], endedBy: string): Chain {
  const mine = chainsTo(chains, target);
  assert.ok(mine.length > 0, `no chain ends at ${target}; chains: ${chains.map(show).join('; ')}`);
  const top = mine[0];
  const all = mine.slice(0, 6).map(show).join('; ');
  assert.deepEqual(
    top.hops.map((h) => h.comm),
    hops,
    `hops of the dominant chain of ${target} (top: ${all})`
  );
  assert.deepEqual(
    top.links.map((l) => l.category),
    categories,
    `link categories of ${show(top)}`
  );
  assert.equal(top.links.length, top.hops.length - 1);
  assert.equal(top.ended_by, endedBy, `ended_by of ${show(top)}`);
  assert.ok(top.count >= 20, `too few intervals with ${show(top)}`);
  return top;
}

async function finish(p: ChainloadProcess) {
  const timer = setTimeout(() => p.proc.kill('SIGKILL'), deadline(20000));
  const code = await p.exited;
  clearTimeout(timer);
  assert.equal(code, 0, `workload failed: ${p.stderr()}`);
}

/*
 * One chainload workload of this kind, recorded by pid (plus flags, in env)
 * for ms while it runs, then stopped.
 */
async function recordWorkload(kind: string, flags: string[], ms: number, env: NodeJS.ProcessEnv = {}) {
  const w = startChainload(chainload, [kind], { CHAINLOAD_MS: String(deadline(6000)) });
  await w.ready;
  const rec = await startRecord(['--pid', String(w.proc.pid), ...flags], env);
  await sleep(ms);
  const report: any = await stopRecord(rec);
  w.proc.kill('SIGKILL');
  await w.exited;
  return { chains: report.chains === undefined ? [] : chainsOf(report), report, stderr: rec.stderr(), pid: w.proc.pid };
}

/*
 * The pipeline's chain to wf-c, [timer] -> wf-a -[eventfd]-> wf-b -[pipe]->
 * wf-c, cut by the interrupt: three distinct threads behind the timer, the
 * first hop's stacks sampled; and wf-b's own chain, one link shorter.
 */
function expectPipeline(chains: Chain[]): Chain {
  const c = expectChain(
    chains,
    'wf-c',
    ['[timer]', 'wf-a', 'wf-b', 'wf-c'],
    ['timer', 'ipc.eventfd', 'ipc.pipe'],
    'interrupt'
  );
  assert.deepEqual(
    c.links.map((l) => l.context),
    ['hardirq', 'task', 'task']
  );
  assert.equal(new Set(c.hops.slice(1).map((h) => h.tid)).size, 3);
  assert.ok(c.links[0].stacks_sampled, `first hop's stacks of ${show(c)}`);
  expectChain(chains, 'wf-b', ['[timer]', 'wf-a', 'wf-b'], ['timer', 'ipc.eventfd'], 'interrupt');
  return c;
}

const freePort = () => 20000 + Math.floor(Math.random() * 20000);

/*
 * The chain across two processes: a wf-srv server traced by pid (from before
 * the agent's start to past the client's end), its wfc-client started after
 * the recording began (so --chain-comm catches it at its exec).
 */
async function recordAcrossProcesses(flags: string[], env: NodeJS.ProcessEnv = {}) {
  const port = freePort();
  const srv = startChainload(chainload, ['udp-server', String(port)], { CHAINLOAD_MS: String(deadline(3000)) });
  await srv.ready;
  const rec = await startRecord(['--pid', String(srv.proc.pid), ...flags], env);
  const cli = startChainload(client, ['udp-client', String(port)], { CHAINLOAD_MS: String(scaled(3000)) });
  await cli.ready;
  await sleep(scaled(1500));
  const report: any = await stopRecord(rec);
  await finish(cli);
  await finish(srv);
  return { chains: chainsOf(report), report, clientPid: cli.proc.pid, serverPid: srv.proc.pid };
}

describe('record: wake chains of real workloads', () => {
  test('a pipeline in one process: [timer] -> wf-a -[eventfd]-> wf-b -[pipe]-> wf-c, cut by the interrupt', async () => {
    const { chains, report, pid } = await recordWorkload('pipeline', [], scaled(1500));
    const c = expectPipeline(chains);
    // Hops identified like edges: the interrupt is no task, the rest are
    // threads of the workload.
    assert.equal(c.hops[0].pid, null);
    for (const h of c.hops.slice(1)) {
      assert.equal(h.pid, pid, `pid of hop ${h.comm}`);
      assert.equal(h.proc, 'wf-chainload');
    }
    // Stacks where sampled: the first hop's (the timer interrupt's kernel
    // stack), and the target's own link with its edge's stacks.
    assert.ok(c.links[0].waker_stack!.includes('hrtimer_wakeup'), `timer stack: ${c.links[0].waker_stack}`);
    assert.ok(c.links[2].stacks_sampled, `target link's stacks of ${show(c)}`);
    assert.ok(
      c.links[2].waker_stack!.some((f) => /pipe_write$/.test(f)),
      `waker stack: ${c.links[2].waker_stack}`
    );
    assert.ok(
      c.links[2].target_stack!.some((f) => /pipe_read$/.test(f)),
      `target stack: ${c.links[2].target_stack}`
    );
    // The last link is the target's own edge: its waker is the one edges name.
    const edge = report.edges.find((e: any) => e.target.comm === 'wf-c' && e.waker.comm === 'wf-b');
    assert.ok(edge, 'the edge wf-b -> wf-c');
    assert.equal(edge.category, 'ipc.pipe');
  });

  test('--chains 2 cuts the pipeline at the depth: wf-a -> wf-b -> wf-c (depth)', async () => {
    const { chains } = await recordWorkload('pipeline', ['--chains', '2'], scaled(1500));
    expectChain(chains, 'wf-c', ['wf-a', 'wf-b', 'wf-c'], ['ipc.eventfd', 'ipc.pipe'], 'depth');
    for (const c of chains) {
      assert.ok(c.links.length <= 2, `longer than the depth: ${show(c)}`);
    }
  });

  test('--chains 1 turns chains off: edges only', async () => {
    const { chains, report } = await recordWorkload('pipeline', ['--chains', '1'], scaled(1000));
    assert.equal(report.chains, undefined, 'no "chains" with chains off');
    assert.equal(chains.length, 0);
    assert.ok(report.edges.some((e: any) => e.target.comm === 'wf-c' && e.category === 'ipc.pipe'));
  });

  test('a waker that blocked before it woke passes on its new cause, not the old one', async () => {
    const { chains } = await recordWorkload('blocked', [], scaled(1500));
    // wf-x woke wf-w, then wf-w slept (blocked) and the timer woke it.
    expectChain(chains, 'wf-t', ['[timer]', 'wf-w', 'wf-t'], ['timer', 'ipc.pipe'], 'interrupt');
    expectChain(chains, 'wf-w', ['[timer]', 'wf-w'], ['timer'], 'interrupt');
    const stale = chainsTo(chains, 'wf-t').filter((c) => c.hops.some((h) => h.comm === 'wf-x'));
    const total = chainsTo(chains, 'wf-t').reduce((s, c) => s + c.count, 0);
    const staleCount = stale.reduce((s, c) => s + c.count, 0);
    // (A wakeup that lands between wf-w's eventfd read and its sleep's
    // switch-out is rare; a stale cause would be every interval.)
    assert.ok(staleCount * 50 <= total, `wf-x inherited through a blocked wf-w: ${stale.map(show).join('; ')}`);
  });

  for (const viaComm of [true, false]) {
    test(
      viaComm
        ? 'across two processes with --chain-comm: [timer] -> wfc-client -[udp]-> wf-srv -[unix]-> wf-tgt'
        : 'across two processes, the client untracked: wfc-client -[udp]-> wf-srv -[unix]-> wf-tgt (untracked)',
      async () => {
        const { chains, report, clientPid, serverPid } = await recordAcrossProcesses(
          viaComm ? ['--chain-comm', '^wfc-client$'] : []
        );
        const c = viaComm
          ? expectChain(
              chains,
              'wf-tgt',
              ['[timer]', 'wfc-client', 'wf-srv', 'wf-tgt'],
              ['timer', 'net.udp', 'net.unix'],
              'interrupt'
            )
          : expectChain(chains, 'wf-tgt', ['wfc-client', 'wf-srv', 'wf-tgt'], ['net.udp', 'net.unix'], 'untracked');
        if (!viaComm) {
          // The first hop is the client: its stacks, walked at its wakeup of wf-srv.
          assert.ok(c.links[0].stacks_sampled, `first hop's stacks of ${show(c)}`);
          assert.ok(c.links[0].waker_stack!.includes('udp_sendmsg'), `client stack: ${c.links[0].waker_stack}`);
        }
        const h = c.hops.find((x) => x.comm === 'wfc-client')!;
        assert.equal(h.pid, clientPid);
        assert.equal(h.proc, 'wfc-client');
        assert.equal(c.hops[c.hops.length - 2].pid, serverPid);
        assert.ok(report.edges.some((e: any) => e.target.comm === 'wf-tgt' && e.category === 'net.unix'));
      }
    );
  }

  test("the targets' pod is the chain scope: the app container beside the traced one", async () => {
    const cpu = '/sys/fs/cgroup/cpu';
    const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
    const root = v2 ? '/sys/fs/cgroup' : cpu;
    // Every machine this runs on (a node, CI, the 6.1 guest) has one: a
    // missing hierarchy fails here, by name, rather than skip.
    assert.ok(existsSync(path.join(root, 'cgroup.procs')), `no cgroup hierarchy with the cpu controller at ${root}`);
    const pod = path.join(root, `wf-chains-pod-${process.pid}-${Date.now()}`);
    mkdirSync(path.join(pod, 'proxy'), { recursive: true });
    mkdirSync(path.join(pod, 'app'));
    try {
      const port = freePort();
      const env = { CHAINLOAD_MS: String(scaled(4000)) };
      const into = (c: string) => `echo $$ > ${path.join(pod, c, 'cgroup.procs')}`;
      const srv = startChainload(
        chainload,
        ['udp-server', String(port)],
        { CHAINLOAD_MS: String(deadline(4000)) },
        into('proxy')
      );
      await srv.ready;
      const rec = await startRecord(['--pid', String(srv.proc.pid)]);
      const cli = startChainload(client, ['udp-client', String(port)], env, into('app'));
      await cli.ready;
      await sleep(scaled(3000)); /* the scope is rescanned every 2 s */
      const report = await stopRecord(rec);
      await finish(cli);
      await finish(srv);
      const chains = chainsOf(report);
      const through = chainsTo(chains, 'wf-tgt').filter(
        (c) => c.hops[0].comm === '[timer]' && c.hops[1].comm === 'wfc-client'
      );
      assert.ok(
        through.reduce((s, c) => s + c.count, 0) >= 20,
        `no chain through the pod's app process: ${chainsTo(chains, 'wf-tgt').slice(0, 6).map(show).join('; ')}`
      );
    } finally {
      for (const c of ['proxy', 'app', '']) {
        for (let i = 0; i < 50; i++) {
          try {
            rmdirSync(path.join(pod, c));
            break;
          } catch {
            await sleep(50);
          }
        }
      }
    }
  });

  test('pid reuse: two processes with one pid never share chains', async () => {
    const used = new Set(
      readdirSync('/proc')
        .filter((n) => /^\d+$/.test(n))
        .map(Number)
    );
    let pid = 0;
    for (let i = 0; i < 100 && !pid; i++) {
      const p = 15000 + Math.floor(Math.random() * 15000);
      pid = used.has(p) ? 0 : p;
    }
    // The workload first, the agent next (it finds the workload when it
    // starts), then the generations: none is forked before the agent knows
    // their parent (that raced, and generation 1 was sometimes untraced).
    const w = startChainload(chainload, ['reuse', String(pid)], { CHAINLOAD_MS: String(scaled(1200)) });
    await w.ready;
    const rec = await startRecord(['--comm', '^wf-chainload$']);
    w.proc.kill('SIGUSR1');
    await finish(w);
    const chains = chainsOf(await stopRecord(rec));
    const gen = (n: number) => chainsTo(chains, `wf-gen${n}`).filter((c) => c.hops[c.hops.length - 1].tid === pid);
    for (const n of [1, 2]) {
      assert.ok(gen(n).length > 0, `no chain of generation ${n} (pid ${pid}): ${chains.map(show).join('; ')}`);
      const c = gen(n)[0];
      assert.deepEqual(
        c.hops.slice(-3).map((h) => h.comm),
        ['wf-ra', 'wf-rb', `wf-gen${n}`]
      );
      for (const h of c.hops.slice(-3)) {
        assert.equal(h.pid, pid);
        assert.equal(h.proc, `wf-gen${n}`, `hop ${h.comm} of ${show(c)} is named by its own process`);
      }
    }
  });
});

describe('record through the raw_tp fallback (WAKEFLOW_ATTACH=raw_tp): chains through targets only', () => {
  // Task storage needs BTF task pointers, which raw_tp programs do not get:
  // there only targets carry causes (in their thread state).
  const rawTp = { WAKEFLOW_ATTACH: 'raw_tp' };

  test('the pipeline inside one target process: [timer] -> wf-a -[eventfd]-> wf-b -[pipe]-> wf-c', async () => {
    const { chains, report, stderr } = await recordWorkload('pipeline', [], scaled(1500), rawTp);
    assert.match(stderr, /, raw_tp\)/, `not attached through raw_tp: ${stderr}`);
    assert.match(stderr, /wake chains follow the traced processes only/);
    assert.ok(report.chains, 'chains recorded');
    expectPipeline(chains);
  });

  test('a waker in another process, even with --chain-comm, ends the chain: wfc-client -[udp]-> wf-srv -[unix]-> wf-tgt (untracked)', async () => {
    const { chains, clientPid } = await recordAcrossProcesses(['--chain-comm', '^wfc-client$'], rawTp);
    const c = expectChain(chains, 'wf-tgt', ['wfc-client', 'wf-srv', 'wf-tgt'], ['net.udp', 'net.unix'], 'untracked');
    assert.equal(c.hops[0].pid, clientPid);
  });
});

describe('record and serve: bad chain flags', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--chains', '0'], /--chains needs a number of links from 1 \(chains off\) to 4, got '0'/],
    [['--chains', '5'], /--chains needs a number of links from 1 \(chains off\) to 4, got '5'/],
    [['--chains', 'three'], /--chains needs a number of links/],
    [['--chain-comm', '('], /--chain-comm '\(' is not a valid regex/],
    [['--chain-comm', ''], /--chain-comm needs a regex/],
  ];
  for (const cmd of ['record', 'serve']) {
    for (const [args, re] of cases) {
      test(`${cmd} ${args.join(' ')}: one-line error, exit 2`, () => {
        const extra =
          cmd === 'record' ? ['--pid', String(process.pid)] : ['--db', path.join(dir || os.tmpdir(), 'x.db')];
        const r = spawnSync(agentBin, [cmd, ...extra, ...args], { encoding: 'utf8', timeout: 10000 });
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, re);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      });
    }
  }
});
