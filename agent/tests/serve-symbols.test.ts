// SPDX-License-Identifier: Apache-2.0
/*
 * Names at read time, live: the real `serve` traces a stripped program of
 * our own (the workload, stripped: agent/build/tests/symbolize/wf-symwork)
 * while its --symbols directory is empty, so the edges it records carry
 * `wf-symwork+0x…` frames; then the workload's debug file is copied into
 * the directory by build-id while serve runs, and the next /api/v1/edges
 * answer names the frames of the edge recorded before, and classifies it
 * again with them: a rule that reads a function of the workload (main, as
 * the default rules read Envoy's) gives its activity only once the names
 * exist. After a restart the same holds for edges recorded by the earlier
 * run: the store keeps each stack's build-ids, so the frames are named from
 * the symbol file by build-id though no process of that build runs again.
 *
 * Last, `record --symbols` given twice (an empty directory, then the
 * build-id layout) names the same program in its report.
 *
 * Needs root, agent/build/wakeflow-agent and the test inputs
 * (make -C agent test); run under the BPF lock.
 */
import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net, { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  agentBin,
  Daemon,
  freePort,
  get,
  repoRoot,
  sleep,
  startDaemon,
  stopDaemon,
  waitFor,
  Workload,
} from './lib/serve-daemon';
import { startRecord, stopRecord } from './lib/record';
import { deadline } from './lib/pace';

const inputs = path.join(path.dirname(agentBin), 'tests', 'symbolize');
const strippedBin = path.join(inputs, 'wf-symwork');
const debugFile = path.join(inputs, 'wf-symwork.debug');

interface ApiEdge {
  id: number;
  waker: { comm: string };
  target: { comm: string };
  category: string;
  activity: string | null;
  waker_stack: string[];
  target_stack: string[];
}

interface ActivitySeries {
  labels: { activity: string };
  points: Array<[number, number]>;
}

function buildId(file: string): string {
  const out = spawnText('readelf', ['-n', file]);
  const m = /Build ID: ([0-9a-f]+)/.exec(out);
  assert.ok(m, `no build-id in ${file}:\n${out}`);
  return m[1];
}

function spawnText(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.stdout + r.stderr;
}

async function startStripped(): Promise<Workload> {
  const proc = spawn(strippedBin, ['eventfd', '--duration', '600', '--interval-us', '500'], { stdio: 'ignore' });
  await sleep(50);
  if (proc.exitCode !== null || !proc.pid) {
    throw new Error('the stripped workload did not start');
  }
  return { proc, pid: proc.pid };
}

interface DebuginfodStatus {
  enabled: boolean;
  requested: number;
  fetched: number;
  failed: number;
  last_error: string | null;
  cache_bytes: number;
}

const debuginfodOf = async (d: Daemon) => {
  const r = await get<{ symbols: { debuginfod: DebuginfodStatus } }>(`${d.url}/api/v1/status`);
  assert.equal(r.status, 200, r.text);
  return r.body.symbols.debuginfod;
};

/** The daemon's debuginfod status once its counter reaches 1 (at most 30 s: a fetch runs in the background). */
const debuginfodCounted = (d: Daemon, counter: 'fetched' | 'failed', what: string) =>
  waitFor(
    what,
    async () => {
      const st = await debuginfodOf(d);
      return st[counter] >= 1 ? st : undefined;
    },
    30000
  );

/** A daemon started with these environment variables set (then restored). */
async function startDaemonWithEnv(env: Record<string, string>, args: string[]): Promise<Daemon> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await startDaemon(args);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) {
        delete process.env[k];
      } else {
        process.env[k] = v;
      }
    }
  }
}

const unnamed = (f: string) => f.startsWith('wf-symwork+0x');
const edgesOf = async (d: Daemon) => {
  const now = Date.now();
  const r = await get<{ edges: ApiEdge[] }>(`${d.url}/api/v1/edges?from=${now - 120000}&to=${now + 1000}&limit=100`);
  assert.equal(r.status, 200, r.text);
  return r.body.edges;
};

describe('serve: frames named at read time', () => {
  let dir: string;
  let symdir: string;
  let d: Daemon | undefined;
  let w: Workload | undefined;

  /** serve's flags for the stripped program: 1 s windows, the store DB in dir, one --symbols DIR, the test rules. */
  const serveArgs = (db: string, symbols: string) => [
    '--db',
    path.join(dir, db),
    '--window',
    '1',
    '--comm',
    '^wf-symwork$',
    '--symbols',
    symbols,
    '--rules',
    path.join(dir, 'test.rules'),
  ];

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wf-serve-symbols-'));
    symdir = path.join(dir, 'symbols');
    mkdirSync(symdir);
    // The default rules, and first a rule reading the workload's own function.
    const rules = readFileSync(path.join(repoRoot, 'agent', 'rules', 'default.rules'), 'utf8');
    writeFileSync(
      path.join(dir, 'test.rules'),
      `rule symtest-main\n    activity envoy.stats_flush\n    when target.frame=main\n\n${rules}`
    );
  });
  after(async () => {
    if (w && w.proc.exitCode === null) {
      w.proc.kill('SIGKILL');
    }
    if (d) {
      assert.equal(await stopDaemon(d), 0, d.log());
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('an edge recorded before its symbol file appeared is named and classified on the next answer', async () => {
    const id = buildId(strippedBin);
    assert.equal(buildId(debugFile), id);
    d = await startDaemon(serveArgs('serve.db', symdir));
    w = await startStripped();
    const daemon = d;
    // Edges whose stacks show the stripped program's frames unnamed.
    const before = await waitFor(
      'edges with wf-symwork+0x frames',
      async () => {
        const edges = (await edgesOf(daemon)).filter((e) => [...e.waker_stack, ...e.target_stack].some(unnamed));
        return edges.length > 0 ? edges : undefined;
      },
      30000
    );
    for (const e of before) {
      assert.notEqual(e.activity, 'envoy.stats_flush', JSON.stringify(e));
    }
    // Stop recording new edges of it: only the earlier edges can get names.
    w.proc.kill('SIGKILL');
    await sleep(1500);
    const ids = new Set(before.map((e) => e.id));

    mkdirSync(path.join(symdir, '.build-id', id.slice(0, 2)), { recursive: true });
    copyFileSync(debugFile, path.join(symdir, '.build-id', id.slice(0, 2), `${id.slice(2)}.debug`));

    const after = await waitFor(
      'the earlier edges named',
      async () => {
        const edges = (await edgesOf(daemon)).filter((e) => ids.has(e.id));
        return edges.length === ids.size && edges.every((e) => ![...e.waker_stack, ...e.target_stack].some(unnamed))
          ? edges
          : undefined;
      },
      15000
    );
    // The main thread sleeps in main(): a frame-pointer walk shows it (a thread
    // function that called the blocking syscall itself is skipped by the walk).
    const named = after.filter((e) => e.target_stack.includes('main'));
    assert.ok(named.length > 0, `no edge with main() among the named frames: ${JSON.stringify(after, null, 1)}`);
    // The rule that reads that name now gives the activity.
    for (const e of named) {
      assert.equal(e.activity, 'envoy.stats_flush', JSON.stringify(e));
    }
    const status = await debuginfodOf(daemon);
    assert.equal(status.enabled, false); // off: DEBUGINFOD_URLS not set
    assert.equal(await stopDaemon(daemon), 0, daemon.log());
    d = undefined;
  });

  test('a symbol file added while the program runs: its new edges are named and classified at capture (series, activity= filter)', async () => {
    const id = buildId(strippedBin);
    const liveSymdir = path.join(dir, 'symbols-live');
    mkdirSync(liveSymdir);
    d = await startDaemon(serveArgs('live.db', liveSymdir));
    w = await startStripped();
    const daemon = d;
    const recordedAs = async (from: number) => {
      const r = await get<{ edges: ApiEdge[] }>(
        `${daemon.url}/api/v1/edges?from=${from}&to=${Date.now() + 1000}&limit=100&activity=envoy.stats_flush`
      );
      assert.equal(r.status, 200, r.text);
      return r.body.edges;
    };
    const activitySeries = async (from: number) => {
      const r = await get<{ series: ActivitySeries[] }>(
        `${daemon.url}/api/v1/series?by=activity&metric=wakeups&step=1000&from=${from}&to=${Date.now() + 1000}`
      );
      assert.equal(r.status, 200, r.text);
      return r.body.series.find((x) => x.labels.activity === 'envoy.stats_flush');
    };
    const started = Date.now();
    await waitFor(
      'edges with wf-symwork+0x frames',
      async () => {
        const edges = (await edgesOf(daemon)).filter((e) => e.target_stack.some(unnamed));
        return edges.length > 0 ? edges : undefined;
      },
      30000
    );
    // Unnamed at capture: the activity filter and the series (both as recorded) do not see it yet.
    assert.deepEqual(await recordedAs(started - 1000), []);
    const unnamedSeries = await activitySeries(started - 1000);
    assert.ok(!unnamedSeries || unnamedSeries.points.every(([, v]) => v === 0), JSON.stringify(unnamedSeries));

    // The file appears while the same process keeps running.
    mkdirSync(path.join(liveSymdir, '.build-id', id.slice(0, 2)), { recursive: true });
    copyFileSync(debugFile, path.join(liveSymdir, '.build-id', id.slice(0, 2), `${id.slice(2)}.debug`));
    const added = Date.now();
    const recorded = await waitFor(
      'edges recorded with main() and its activity after the file appeared',
      async () => {
        const edges = await recordedAs(added);
        return edges.length > 0 ? edges : undefined;
      },
      15000
    );
    for (const e of recorded) {
      assert.ok(e.target_stack.includes('main'), JSON.stringify(e));
      assert.ok(!e.target_stack.some(unnamed), JSON.stringify(e));
    }
    const later = await waitFor(
      'envoy.stats_flush wakeups in the series after the file appeared',
      async () => {
        const x = await activitySeries(added);
        return x && x.points.some(([t, v]) => t >= added && v > 0) ? x : undefined;
      },
      15000
    );
    assert.ok(later.points.length > 0);
    w.proc.kill('SIGKILL');
    assert.equal(await stopDaemon(daemon), 0, daemon.log());
    d = undefined;
  });

  test('after a restart, edges recorded before their symbol file existed are named from the store by build-id', async () => {
    const id = buildId(strippedBin);
    const restartSymdir = path.join(dir, 'symbols-restart');
    mkdirSync(restartSymdir);
    const args = serveArgs('restart.db', restartSymdir);
    d = await startDaemon(args);
    w = await startStripped();
    const first = d;
    const recorded = await waitFor(
      'edges with wf-symwork+0x frames',
      async () => {
        const edges = (await edgesOf(first)).filter((e) => e.target_stack.some(unnamed));
        return edges.length > 0 ? edges : undefined;
      },
      30000
    );
    w.proc.kill('SIGKILL');
    await sleep(1500); // the last window written
    const ids = new Set(recorded.map((e) => e.id));
    assert.equal(await stopDaemon(first), 0, first.log());
    d = undefined;

    // The symbol file appears while nothing runs; the program is gone for good.
    mkdirSync(path.join(restartSymdir, '.build-id', id.slice(0, 2)), { recursive: true });
    copyFileSync(debugFile, path.join(restartSymdir, '.build-id', id.slice(0, 2), `${id.slice(2)}.debug`));
    d = await startDaemon(args);
    const second = d;
    const after = await waitFor(
      'the earlier edges, from the store, named',
      async () => {
        const edges = (await edgesOf(second)).filter((e) => ids.has(e.id));
        return edges.length === ids.size && edges.every((e) => !e.target_stack.some(unnamed)) ? edges : undefined;
      },
      15000
    );
    const named = after.filter((e) => e.target_stack.includes('main'));
    assert.ok(named.length > 0, `no edge with main() among the named frames: ${JSON.stringify(after, null, 1)}`);
    for (const e of named) {
      assert.equal(e.activity, 'envoy.stats_flush', JSON.stringify(e));
    }
    assert.equal(await stopDaemon(second), 0, second.log());
    d = undefined;
  });

  test('DEBUGINFOD_URLS: the symbol file fetched in the background from a real debuginfod; a server that is down is counted', async () => {
    const id = buildId(strippedBin);
    const served = path.join(dir, 'served');
    mkdirSync(served);
    copyFileSync(debugFile, path.join(served, 'wf-symwork.debug'));
    const port = await freePort();
    // Debian's debuginfod over a directory of our own debug files (it listens on every address; the port is random).
    const server: ChildProcess = spawn(
      'debuginfod',
      ['-p', String(port), '-F', served, '-d', path.join(dir, 'debuginfod.sqlite'), '-t', '3600'],
      { stdio: 'ignore' }
    );
    try {
      await waitFor(
        'debuginfod indexed the debug file',
        async () => (await fetch(`http://127.0.0.1:${port}/buildid/${id}/debuginfo`)).status === 200,
        30000
      );
      const cache = path.join(dir, 'debuginfod-cache');
      const empty = path.join(dir, 'no-symbols');
      mkdirSync(empty);
      d = await startDaemonWithEnv(
        { DEBUGINFOD_URLS: `http://127.0.0.1:${port}`, DEBUGINFOD_CACHE_PATH: cache },
        serveArgs('fetch.db', empty)
      );
      w = await startStripped();
      const daemon = d;
      // Fetched without any answer waiting for it, then the frames are named and classified.
      const fetched = await debuginfodCounted(daemon, 'fetched', 'the debug file fetched');
      assert.equal(fetched.enabled, true);
      assert.equal(fetched.failed, 0);
      assert.ok(fetched.cache_bytes > 0, JSON.stringify(fetched));
      assert.ok(existsSync(path.join(cache, id, 'debuginfo')), `no ${id}/debuginfo in the cache`);
      const named = await waitFor(
        'edges of the stripped program named from the fetched file',
        async () => {
          const edges = (await edgesOf(daemon)).filter((e) => e.target_stack.includes('main'));
          return edges.length > 0 ? edges : undefined;
        },
        20000
      );
      for (const e of named) {
        assert.equal(e.activity, 'envoy.stats_flush', JSON.stringify(e));
      }
      assert.equal(await stopDaemon(daemon), 0, daemon.log());
      d = undefined;

      // A server that is not there: the request fails, is counted, and nothing is named.
      const closed = await freePort();
      d = await startDaemonWithEnv(
        { DEBUGINFOD_URLS: `http://127.0.0.1:${closed}`, DEBUGINFOD_CACHE_PATH: path.join(dir, 'cache-2') },
        serveArgs('down.db', empty)
      );
      const down = d;
      const failed = await debuginfodCounted(down, 'failed', 'the failed fetch counted');
      assert.equal(failed.fetched, 0);
      assert.ok(failed.last_error, JSON.stringify(failed));
      const edges = await waitFor('edges of the stripped program', async () => {
        const e = (await edgesOf(down)).filter((x) => [...x.waker_stack, ...x.target_stack].some(unnamed));
        return e.length > 0 ? e : undefined;
      });
      assert.ok(edges.every((e) => !e.target_stack.includes('main')));
    } finally {
      server.kill('SIGKILL');
    }
  });

  test('a debuginfod that accepts and never answers blocks neither capture nor an answer nor the exit', async () => {
    // A FAKE server (named so): it takes each connection and never writes a
    // byte, a hang no real debuginfod produces on demand. DEBUGINFOD_TIMEOUT
    // is raised so the fetch is still in flight for the whole test.
    // The previous test's workload and its daemon (the one whose server was down) end first.
    if (w && w.proc.exitCode === null) {
      w.proc.kill('SIGKILL');
    }
    if (d) {
      assert.equal(await stopDaemon(d), 0, d.log());
      d = undefined;
    }
    const held: Socket[] = [];
    const hang = net.createServer((c) => held.push(c));
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const port = (hang.address() as AddressInfo).port;
    try {
      const empty = path.join(dir, 'no-symbols-hang');
      mkdirSync(empty);
      d = await startDaemonWithEnv(
        {
          DEBUGINFOD_URLS: `http://127.0.0.1:${port}`,
          DEBUGINFOD_CACHE_PATH: path.join(dir, 'cache-hang'),
          DEBUGINFOD_TIMEOUT: '600',
        },
        serveArgs('hang.db', empty)
      );
      const daemon = d;
      w = await startStripped();
      await waitFor('the fetch asked of the hanging server', async () => (held.length > 0 ? true : undefined), 20000);
      const asked = Date.now();
      // Capture goes on: edges of windows that ended after the fetch began, their frames unnamed.
      const later = await waitFor('edges recorded while the fetch hangs', async () => {
        const now = Date.now();
        const r = await get<{ edges: Array<ApiEdge & { last_seen: number }> }>(
          `${daemon.url}/api/v1/edges?from=${asked + 1000}&to=${now + 1000}&limit=100`
        );
        assert.equal(r.status, 200, r.text);
        const e = r.body.edges.filter((x) => [...x.waker_stack, ...x.target_stack].some(unnamed));
        return e.length > 0 ? e : undefined;
      });
      assert.ok(later.length > 0);
      // Answers stay prompt while the fetch is in flight.
      for (const url of ['/healthz', '/api/v1/status', `/api/v1/edges?from=${asked - 60000}&to=${Date.now()}`]) {
        const t0 = performance.now();
        const r = await get(`${daemon.url}${url}`);
        const ms = performance.now() - t0;
        assert.equal(r.status, 200, `${url}: ${r.text}`);
        assert.ok(ms < deadline(2000), `${url} took ${ms.toFixed(0)} ms while the fetch hangs`);
      }
      const st = await debuginfodOf(daemon);
      assert.equal(st.fetched, 0, JSON.stringify(st));
      assert.equal(st.failed, 0, JSON.stringify(st));
      assert.ok(st.requested >= 1, JSON.stringify(st));
      // The exit does not wait for the fetch either.
      const t0 = performance.now();
      assert.equal(await stopDaemon(daemon), 0, daemon.log());
      const stopMs = performance.now() - t0;
      d = undefined;
      assert.ok(stopMs < deadline(5000), `the daemon took ${stopMs.toFixed(0)} ms to stop with a fetch in flight`);
    } finally {
      held.forEach((c) => c.destroy());
      hang.close();
    }
  });
});

describe('record --symbols', () => {
  let dir: string;
  let w: Workload | undefined;

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wf-record-symbols-'));
  });
  after(() => {
    if (w && w.proc.exitCode === null) {
      w.proc.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /** Every frame of the edges `record` reports of the stripped program in about 1.5 s, with these flags. */
  const recordedFrames = async (pid: number, extra: string[]) => {
    const rec = await startRecord(['--pid', String(pid), ...extra]);
    await sleep(1500);
    const report = await stopRecord(rec);
    return report.edges.flatMap((e) => [...e.waker_stack, ...e.target_stack]);
  };

  test('repeated on the command line (an empty directory, then the build-id layout): the stripped program is named', async () => {
    const id = buildId(strippedBin);
    const empty = path.join(dir, 'empty');
    const layout = path.join(dir, 'layout');
    mkdirSync(empty);
    mkdirSync(path.join(layout, '.build-id', id.slice(0, 2)), { recursive: true });
    copyFileSync(debugFile, path.join(layout, '.build-id', id.slice(0, 2), `${id.slice(2)}.debug`));
    w = await startStripped();

    // Without the files the program's frames are module+offset only, so the check below can tell.
    const bare = await recordedFrames(w.pid, ['--symbols', empty]);
    assert.ok(bare.some(unnamed), `no wf-symwork+0x frame: ${bare.join(';')}`);
    assert.ok(!bare.includes('main'), `named without its symbol file: ${bare.join(';')}`);

    const named = await recordedFrames(w.pid, ['--symbols', empty, '--symbols', layout]);
    assert.ok(named.includes('main'), `main not named with --symbols ${layout}: ${named.join(';')}`);
  });
});
