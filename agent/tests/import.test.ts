// SPDX-License-Identifier: Apache-2.0
/*
 * `wakeflow-agent import` end to end: the built binary on the two real
 * offwaketime captures must reproduce labels.json exactly (category, context,
 * activity and target role of every block), in every output format, and
 * must reject bad input with one located line and a non-zero exit.
 *
 * Needs agent/build/wakeflow-agent (make -C agent); WAKEFLOW_AGENT overrides.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkExplanation, describeEdge, Edge, frameMatches, Report, whenTests } from './lib/record';

const repoRoot = path.resolve(__dirname, '..', '..');
const agent = process.env.WAKEFLOW_AGENT ?? path.join(repoRoot, 'agent', 'build', 'wakeflow-agent');
// In CI the shared material sits beside the clone; on our machines in /work.
const fixtureDir = [
  path.join(repoRoot, '..', 'shared', 'fixtures', 'offwaketime'),
  '/work/shared/fixtures/offwaketime',
].find((d) => existsSync(path.join(d, 'labels.json')));

interface Label {
  file: string;
  waker: string;
  target: string;
  value_us: number | null;
  category: string;
  context: string;
  activity: string | null;
  target_role: string;
}

function run(args: string[], input?: string) {
  const r = spawnSync(agent, args, { encoding: 'utf8', input, maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.error, undefined, `cannot run ${agent}: ${r.error?.message}`);
  return r;
}

function importJson(args: string[]): Report {
  const r = run(['import', '--format', 'json', ...args]);
  assert.equal(r.status, 0, `import failed: ${r.stderr}`);
  assert.equal(r.stderr, '');
  return JSON.parse(r.stdout) as Report;
}

/* One line on stderr, the wakeflow-agent prefix, the expected status, nothing on stdout. */
function assertOneLineError(r: ReturnType<typeof run>, status: number, pattern: RegExp) {
  assert.equal(r.status, status, `exit status (stderr: ${r.stderr})`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^wakeflow-agent: [^\n]+\n$/);
  assert.match(r.stderr, pattern);
}

function classification(e: Edge) {
  return { category: e.category, context: e.waker.context, activity: e.activity, target_role: e.target.role };
}

let labels: Label[] = [];
let scratch = '';

before(() => {
  assert.ok(existsSync(agent), `${agent} is missing: build it with 'make -C agent'`);
  assert.ok(fixtureDir, 'shared/fixtures/offwaketime not found beside the repository nor in /work/shared');
  labels = (JSON.parse(readFileSync(path.join(fixtureDir, 'labels.json'), 'utf8')) as { blocks: Label[] }).blocks;
  assert.ok(labels.length >= 20);
  scratch = mkdtempSync(path.join(tmpdir(), 'wakeflow-import-'));
});

after(() => {
  if (scratch) {
    rmSync(scratch, { recursive: true, force: true });
  }
});

const fixture = (file: string) => path.join(fixtureDir!, file);

describe('the captures classify exactly as labels.json says', () => {
  for (const file of ['000_75eafca78254e629.txt', '002_b725fd6376eebb99.txt']) {
    test(file, () => {
      const expected = labels.filter((l) => l.file === file);
      const { edges, lost } = importJson([fixture(file)]);
      assert.deepEqual(lost, {});
      assert.equal(edges.length, expected.length, 'one edge per block');
      const unmatched = [...edges];
      for (const l of expected) {
        const i = unmatched.findIndex(
          (e) => e.waker.comm === l.waker && e.target.comm === l.target && e.offcpu_us === l.value_us
        );
        assert.ok(i >= 0, `no edge for block ${l.waker || '(preempted)'} -> ${l.target} ${l.value_us}`);
        const [e] = unmatched.splice(i, 1);
        assert.deepEqual(
          classification(e),
          { category: l.category, context: l.context, activity: l.activity, target_role: l.target_role },
          `block ${l.waker || '(preempted)'} -> ${l.target} ${l.value_us}`
        );
        // Imported blocks have stacks but no count, run-queue time or pid.
        assert.equal(e.count, null);
        assert.equal(e.runq_us, null);
        assert.equal(e.target.pid, null);
        assert.equal(typeof e.target.tid, 'number');
        assert.equal(e.stacks_sampled, true);
        assert.ok(e.target_stack.length > 0);
        assert.equal(e.kind, l.context === 'none' ? 'preempted' : 'blocked');
      }
    });
  }

  test('stacks keep offwaketime order, stored innermost first', () => {
    const { edges } = importJson([fixture('002_b725fd6376eebb99.txt')]);
    const futex = edges.find((e) => e.target.comm === 'AccessLogFlush')!;
    assert.deepEqual(futex.waker_stack.slice(0, 3), ['futex_wake', 'do_futex', '__x64_sys_futex']);
    assert.equal(futex.waker_stack.at(-1), '__libc_start_main');
    assert.deepEqual(futex.target_stack.slice(0, 2), ['finish_task_switch', 'schedule']);
    assert.equal(futex.target_stack.at(-1), 'start_thread');
    // Sorted by off-CPU time, longest first.
    const times = edges.map((e) => e.offcpu_us ?? -1);
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a)
    );
  });

  test('both files at once, and from standard input', () => {
    const both = importJson([fixture('000_75eafca78254e629.txt'), fixture('002_b725fd6376eebb99.txt')]);
    assert.equal(both.edges.length, labels.length);
    const stdin = run(['import', '-f', 'json', '-'], readFileSync(fixture('000_75eafca78254e629.txt'), 'utf8'));
    assert.equal(stdin.status, 0, stdin.stderr);
    assert.equal(
      (JSON.parse(stdin.stdout) as Report).edges.length,
      labels.filter((l) => l.file.startsWith('000')).length
    );
  });

  test('the rules file in the repository is the one compiled in', () => {
    const builtin = importJson([fixture('002_b725fd6376eebb99.txt')]);
    const fromFile = importJson([
      '--rules',
      path.join(repoRoot, 'agent', 'rules', 'default.rules'),
      fixture('002_b725fd6376eebb99.txt'),
    ]);
    assert.deepEqual(fromFile, builtin);
  });
});

/* Each block's frames that the capture's hand-written '<<<<' notes point at. */
function notedFrames(file: string): Array<{ target: string; tid: number; value: number | null; frames: string[] }> {
  const blocks = [];
  const lines = readFileSync(fixture(file), 'utf8').split('\n');
  let frames: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const note = /^\s+b'(.*)'\s*<<<</.exec(lines[i]);
    if (note) {
      frames.push(note[1]);
    }
    const t = /^\s+target:\s+(.*\S)\s+(\d+)\s*$/.exec(lines[i]);
    if (t) {
      const v = /^\s+(\d+)\s*$/.exec(lines[i + 1] ?? '');
      blocks.push({ target: t[1], tid: Number(t[2]), value: v ? Number(v[1]) : null, frames });
      frames = [];
    }
  }
  return blocks;
}

describe('explanations: the rule, frames and facts that decided', () => {
  const files = ['000_75eafca78254e629.txt', '002_b725fd6376eebb99.txt'];

  test('every edge explains its category and activity with frames its stacks hold', () => {
    const { edges } = importJson(files.map(fixture));
    assert.equal(edges.length, labels.length);
    for (const e of edges) {
      checkExplanation(e);
      // Imported edges have no facts: a rule decided on frames, comm or context.
      assert.notEqual(e.explanation.category.rule, null, describeEdge(e));
      assert.deepEqual(e.explanation.category.facts, []);
    }
    const fin = edges.find((e) => e.category === 'net.tcp.close' && e.offcpu_us === 486)!;
    assert.deepEqual(fin.explanation.category, {
      rule: 'tcp-close',
      when: 'waker.frame=tcp_fin|tcp_reset|tcp_done',
      frames: [{ stack: 'waker', index: fin.waker_stack.indexOf('tcp_fin') }],
      facts: [],
    });
    const dog = edges.find((e) => e.target.comm === 'dog:workers_gua')!;
    assert.deepEqual(dog.explanation.activity, { rule: 'watchdog', when: 'target.comm=dog:*', frames: [], facts: [] });
  });

  test("the deciding frame is the one the capture's note points at, where a note points at one", () => {
    const { edges } = importJson(files.map(fixture));
    const pointedAt: string[] = [];
    for (const file of files) {
      for (const b of notedFrames(file).filter((x) => x.frames.length)) {
        const e = edges.find((x) => x.target.comm === b.target && x.target.tid === b.tid && x.offcpu_us === b.value);
        assert.ok(e, `no edge for the noted block -> ${b.target} ${b.tid} ${b.value}`);
        const r = e.explanation.category;
        const decided = r.frames.map((f) => (f.stack === 'waker' ? e.waker_stack : e.target_stack)[f.index]);
        const tested = whenTests(r.when!)
          .filter(([s, neg]) => s.endsWith('.frame') && !neg)
          .flatMap(([, , alts]) => alts);
        // A noted frame the deciding line tests is one it decided on; the
        // other notes explain the path (ip_rcv, __local_bh_enable_ip).
        for (const f of b.frames.filter((name) => frameMatches(name, tested))) {
          assert.ok(decided.includes(f), `${describeEdge(e)}: noted ${f} not among ${decided.join(', ')}`);
          pointedAt.push(`${e.category}:${f}`);
        }
      }
    }
    assert.deepEqual(pointedAt.sort(), [
      'net.tcp.close:tcp_fin',
      'net.tcp.connect:tcp_rcv_synsent_state_process',
      'net.tcp.data:tcp_data_queue',
    ]);
  });

  test('the text report notes the deciding frames and names the rules', () => {
    const r = run(['import', fixture('002_b725fd6376eebb99.txt')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\n {6}tcp_fin {2}<<<< category \(rule tcp-close\)\n/);
    assert.match(r.stdout, /\n {6}decided by: {4}rule tcp-close: when waker\.frame=tcp_fin\|tcp_reset\|tcp_done\n/);
    assert.match(r.stdout, /\n {6}decided by: {4}rule watchdog: when target\.comm=dog:\*\n/);
  });
});

describe('output formats', () => {
  test('text: totals per category and per waker first, then each block with its classification', () => {
    const r = run(['import', fixture('000_75eafca78254e629.txt'), fixture('002_b725fd6376eebb99.txt')]);
    assert.equal(r.status, 0, r.stderr);
    const out = r.stdout;
    assert.match(out, /^Category breakdown: 20 edges, 13766\.955 ms off-CPU in total\n/);
    // ipc.futex is the single 12024.649 ms block: 87.3 % of the total; no run-queue time in a capture.
    assert.match(out, /\n {2}ipc\.futex +1 +- +12024\.649 +- +87\.3%\n/);
    assert.match(out, /\n {2}net\.udp +2 +- +3\.434 +- +0\.0%\n/);
    // Who woke the proxy, at a glance: envoy's own threads (the futex and eventfd posts) lead.
    assert.match(
      out,
      /\nWakers: who ended the off-CPU time\n\n {2}WAKER +CONTEXT +EDGES +COUNT +OFF-CPU ms +RUNQ ms +SHARE\n {2}envoy +task +3 +- +13481\.149 +- +97\.9%\n/
    );
    assert.match(out, /\n {2}\(preempted\) +none +4 +- +0\.640 +- +0\.0%\n/);
    assert.match(out, /roles? \(worker, main, watchdog, access_log\) and activities \(envoy\.\*\) are Envoy's/i);
    // Both stacks innermost first under their labels, the deciding frame noted.
    assert.ok(
      out.includes(
        '    waker:           dog:main_thread 4226\n' +
          '    -- waker stack, innermost first --\n' +
          '      hrtimer_wakeup  <<<< category (rule timer)\n' +
          '      __hrtimer_run_queues\n' +
          '      hrtimer_interrupt\n' +
          '      smp_apic_timer_interrupt\n' +
          '      apic_timer_interrupt\n' +
          '      [Missed User Stack] -17\n' +
          '    -- target stack, innermost first --\n' +
          '      finish_task_switch\n' +
          '      schedule\n'
      )
    );
    assert.ok(
      out.includes(
        '    target:          dog:workers_gua 4227\n' +
          '    category:        timer\n' +
          '      decided by:    rule timer: when waker.frame=hrtimer_wakeup|process_timeout|timerfd_tmrproc|timerfd_triggered|posix_timer_fn|it_real_fn|alarmtimer_fired\n' +
          '    activity:        envoy.watchdog\n' +
          '      decided by:    rule watchdog: when target.comm=dog:*\n' +
          '    context:         hardirq\n' +
          '    role:            watchdog\n'
      )
    );
    assert.ok(
      out.includes(
        '    target:          AccessLogFlush 4478\n' +
          '    category:        ipc.futex\n' +
          '      decided by:    rule futex: when waker.frame=futex_wake|futex_wake_op|futex_requeue|futex_wake_mark|mark_wake_futex|do_futex\n' +
          '    activity:        envoy.access_log_flush\n' +
          '      decided by:    rule access-log-flush: when target.comm=AccessLogFlush\n' +
          '    context:         task\n' +
          '    role:            access_log\n' +
          '    count:           -\n' +
          '    offcpu:          12024649 us\n' +
          '    runq:            -\n'
      )
    );
    // Edges follow the breakdown, longest first: the futex block leads.
    assert.ok(out.indexOf('AccessLogFlush 4478') < out.indexOf('wrk:worker_0 4449'));
    const top = run(['import', '--top', '2', fixture('002_b725fd6376eebb99.txt')]);
    assert.equal(top.status, 0, top.stderr);
    assert.match(top.stdout, /Top 2 of 11 edges by off-CPU time/);
    assert.equal(top.stdout.match(/^ {4}target: /gm)?.length, 2);
  });

  test('folded: FlameGraph lines with the category as root frame, and they import back the same', () => {
    const r = run(['import', '-f', 'folded', fixture('000_75eafca78254e629.txt'), fixture('002_b725fd6376eebb99.txt')]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, labels.length);
    for (const line of lines) {
      assert.match(line, /^\[[a-z.]+\];[^;]+;.*;--;.* \d+$/);
    }
    // Target outermost first, "--", waker innermost first, waker name, value.
    const futex = lines.find((l) => l.startsWith('[ipc.futex];'));
    assert.ok(futex);
    assert.ok(
      futex.startsWith(
        '[ipc.futex];AccessLogFlush;start_thread;Envoy::Thread::ThreadImplPosix::ThreadImplPosix(std::__1::function<void ()>, ' +
          'absl::optional<Envoy::Thread::Options> const&)::{lambda(void*)#1}::__invoke(void*);' +
          'Envoy::AccessLog::AccessLogFileImpl::flushThreadFunc();'
      ),
      futex
    );
    assert.ok(
      futex.includes(
        ';futex_wait_queue_me;schedule;finish_task_switch;--;futex_wake;do_futex;__x64_sys_futex;do_syscall_64;' +
          'entry_SYSCALL_64_after_hwframe;absl::Mutex::Fer(absl::base_internal::PerThreadSynch*);absl::CondVar::Signal();'
      ),
      futex
    );
    assert.ok(
      futex.endsWith(
        ';event_base_loop;Envoy::Server::InstanceImpl::run();Envoy::MainCommonBase::run();' +
          'Envoy::MainCommon::main(int, char**, std::__1::function<void (Envoy::Server::Instance&)>);main;__libc_start_main;envoy 12024649'
      ),
      futex
    );
    const folded = path.join(scratch, 'all.folded');
    writeFileSync(folded, r.stdout);
    const again = importJson([folded]).edges.map(classification);
    const direct = importJson([fixture('000_75eafca78254e629.txt'), fixture('002_b725fd6376eebb99.txt')]).edges.map(
      classification
    );
    assert.deepEqual(again, direct);
  });
});

describe('bad input: one located line, non-zero exit, never a crash', () => {
  const write = (name: string, text: string) => {
    const p = path.join(scratch, name);
    writeFileSync(p, text);
    return p;
  };

  test('missing file', () => {
    assertOneLineError(
      run(['import', '/nonexistent/capture.txt']),
      1,
      /\/nonexistent\/capture\.txt: cannot open: No such file or directory/
    );
  });

  test('a directory', () => {
    assertOneLineError(run(['import', scratch]), 1, /: cannot read: Is a directory/);
  });

  test('a frame line outside a block', () => {
    const p = write('outside.txt', "## notes\n\n    b'tcp_v4_rcv'\n");
    assertOneLineError(run(['import', p]), 1, new RegExp(`${p}:3: stack frame outside a block`));
  });

  test('a block without "--"', () => {
    const p = write('nodash.txt', "    waker:    kubelet 1\n    b'tcp_fin'\n    target:    envoy 2\n        5\n");
    assertOneLineError(run(['import', p]), 1, new RegExp(`${p}:3: target line before the '--' separator`));
  });

  test('a non-numeric value', () => {
    const p = write('value.txt', '    waker:    kubelet 1\n    --    --\n    target:    envoy 2\n        5ms\n');
    assertOneLineError(run(['import', p]), 1, new RegExp(`${p}:4: expected the off-CPU time \\(us\\)`));
  });

  test('a truncated capture', () => {
    const text = readFileSync(fixture('002_b725fd6376eebb99.txt'), 'utf8');
    // Cut inside the target stack of the first block.
    const cut = text.indexOf("b'schedule_hrtimeout_range_clock'");
    const p = write('truncated.txt', text.slice(0, cut));
    // The last line read is the partial one; the block began at its waker line.
    const line = text.slice(0, cut).split('\n').length;
    const start = text.slice(0, text.indexOf('waker:')).split('\n').length;
    assertOneLineError(
      run(['import', p]),
      1,
      new RegExp(`${p}:${line}: file ends inside the block starting at line ${start} \\(no target line\\)`)
    );
  });

  test('a file without any block', () => {
    const p = write('prose.md', '# Notes\n\nNothing captured today.\n');
    assertOneLineError(run(['import', p]), 1, /prose\.md: no offwaketime blocks found/);
  });

  test('binary data', () => {
    const p = path.join(scratch, 'binary.bin');
    writeFileSync(p, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00, 0x0a]));
    assertOneLineError(run(['import', p]), 1, /binary\.bin:1: not a text file \(NUL byte\)/);
  });

  test('usage errors exit 2', () => {
    assertOneLineError(run(['import']), 2, /import: no input file/);
    assertOneLineError(run(['import', '--format', 'xml', 'x']), 2, /unknown format 'xml'/);
    assertOneLineError(run(['import', '--top', 'many', 'x']), 2, /--top wants a count/);
    assertOneLineError(run(['import', '--bogus', 'x']), 2, /unknown option '--bogus'/);
    const help = run(['import', '--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^usage: wakeflow-agent import/);
  });
});

describe('--rules replaces the built-in rules', () => {
  test('a custom rules file decides category, activity and role', () => {
    const rules = path.join(scratch, 'custom.rules');
    writeFileSync(
      rules,
      [
        '# everything from kubelet is "ours"; the rest falls through to other',
        'rule kubelet',
        '    category net.other',
        '    activity team.kubelet_probe',
        '    when waker.comm=kubelet',
        'rule workers',
        '    role worker',
        '    when target.comm=wrk:*',
        '',
      ].join('\n')
    );
    const { edges } = importJson(['--rules', rules, fixture('002_b725fd6376eebb99.txt')]);
    for (const e of edges) {
      const kubelet = e.waker.comm === 'kubelet';
      assert.equal(e.category, kubelet ? 'net.other' : 'other');
      assert.equal(e.activity, kubelet ? 'team.kubelet_probe' : null);
      assert.equal(e.target.role, e.target.comm.startsWith('wrk:') ? 'worker' : 'other');
    }
    assert.equal(edges.filter((e) => e.activity === 'team.kubelet_probe').length, 2);
  });

  test('an error in the rules file names file and line', () => {
    const rules = path.join(scratch, 'broken.rules');
    writeFileSync(rules, 'rule a\n    category net.tcp.data\n    when waker.fdd=tcp\n');
    assertOneLineError(
      run(['import', '--rules', rules, fixture('000_75eafca78254e629.txt')]),
      1,
      new RegExp(`${rules}:3: unknown test 'waker\\.fdd'`)
    );
    assertOneLineError(
      run(['import', '--rules', path.join(scratch, 'missing.rules'), fixture('000_75eafca78254e629.txt')]),
      1,
      /missing\.rules: cannot open rules file: No such file or directory/
    );
  });
});
