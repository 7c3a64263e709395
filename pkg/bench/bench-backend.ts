// SPDX-License-Identifier: Apache-2.0
/*
 * npm run bench:backend: the backend executable under the Grafana host,
 * querying three real agent daemons whose stores hold HOURS (default 24) of
 * synthetic history written by the agent's own bench writer (`serve
 * --bench-fill`: 10,000 distinct edges per store). Measures, over RUNS
 * (default 20) interleaved rounds: chains top 1000 over the last hour,
 * categories over 24 h at maxDataPoints 1000, the flame graph over 3 x 1000
 * edges; each query three ways: through the backend to the agents, the same
 * agent requests sent straight to the agents (what the agents alone take),
 * and through the backend to replay servers serving the agents' recorded
 * answers (what the backend alone takes). Then the three panels at once, as
 * a dashboard asks; frame bytes; the backend's RSS and its peak;
 * exec-to-handshake time. Prints a table and writes it into
 * docs/performance.md ("Backend"). Not a test.
 * As root (the daemons attach BPF); run under flock /tmp/wakeflow-bpf.lock.
 * BENCH_DB=FILE reuses a store an earlier `serve --bench-fill` wrote (less
 * than two hours old, so that its last hour is still in the fine windows).
 * "The last hour" is the hour before the fill's newest window, not before
 * now: the fill writes windows up to when it started, and the daemons'
 * own windows after it are empty. BENCH_COMPARE_EXE=FILE
 * runs another build of the executable in the same rounds, interleaved (a
 * before/after within one run; BENCH_COMPARE_LABEL names it).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';

import { Daemon, agentBin, startDaemon, stopDaemon } from '../../agent/tests/lib/serve-daemon';
import {
  PluginProcess,
  backendExe,
  query,
  queryRequest,
  startPlugin,
  unaryCall,
} from '../../tests/backend/grafana-host';
import { benchQueries } from './bench-queries';
import { ReplayAgent, startReplayAgent } from './replay-agent';

const HOURS = Number(process.env.HOURS ?? 24);
const RUNS = Number(process.env.RUNS ?? 20);
const CONCURRENT_RUNS = Math.max(3, Math.round(RUNS / 4));
const repo = path.resolve(__dirname, '..', '..');
const say = (s: string) => process.stderr.write(`bench-backend: ${s}\n`);

const GOALS = { chains: 150, categories: 50, flamegraph: 150, rssMiB: 150, handshake: 500 };

function pctl(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
}

/**
 * CPU time a process has used, in ms (utime + stime of /proc/PID/stat, in
 * clock ticks of 10 ms). Summed over a query's rounds it is the bench's
 * measure that a loaded machine disturbs least: wall times there include
 * waiting for a CPU behind other helpers' builds, CPU time does not.
 */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command (which may hold spaces) in its parentheses; utime and stime are the 14th and 15th.
  const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(after[11]) + Number(after[12])) * 1000) / 100;
}

function rssMiB(pid: number): { rss: number; hwm: number } {
  const st = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(st)?.[1] ?? 0) / 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

async function fill(db: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const p = spawn(agentBin, ['serve', '--db', db, '--bench-fill', String(HOURS)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bench fill failed (${code}): ${err}`))));
  });
}

/**
 * The end of the newest window the fill wrote (ms), read from the store
 * before any daemon opens it; undefined when sqlite3 cannot tell.
 */
function newestWindowMs(db: string): number | undefined {
  const r = spawnSync('sqlite3', ['-readonly', db, 'SELECT max(end_ms) FROM windows WHERE tier = 0'], {
    encoding: 'utf8',
  });
  const ms = Number(r.stdout?.trim());
  return r.status === 0 && Number.isInteger(ms) && ms > 0 ? ms : undefined;
}

type Name = 'chains' | 'categories' | 'flamegraph';
const NAMES: Name[] = ['chains', 'categories', 'flamegraph'];

/** One build of the backend under test: a process for the real agents, one for the replayed answers. */
interface Subject {
  label: string;
  exe: string;
  real: PluginProcess;
  replay: PluginProcess;
  idleMiB: number;
  times: Record<Name, number[]>;
  alone: Record<Name, number[]>;
  /** CPU ms summed over the timed rounds: the backend's with real agents, with replayed answers, and the three agents'. */
  cpu: Record<Name, { backend: number; replayed: number; agents: number }>;
  panels: number[];
  bytes: Record<Name, number>;
  rows: Record<Name, string>;
}

async function timedQuery(p: PluginProcess, req: object, refId: string): Promise<number> {
  const t = performance.now();
  const raw = await unaryCall<{ responses: Record<string, { status: number; error: string }> }>(
    p.data,
    'QueryData',
    req,
    60_000
  );
  const ms = performance.now() - t;
  const r = raw.responses[refId];
  if (r.status !== 200) {
    throw new Error(`${refId}: status ${r.status} ${r.error}`);
  }
  return ms;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error('run as root: the agent daemons attach BPF programs');
  }
  const others = spawnSync('bpftool', ['prog', 'show'], { encoding: 'utf8' }).stdout ?? '';
  const tracing = others.split('\n').filter((l) => /tp_sched_|wakeflow/.test(l)).length;
  if (tracing > 0) {
    say(`warning: ${tracing} wakeflow BPF programs are loaded by someone else: figures will be noisy`);
  }
  if (!existsSync(backendExe)) {
    say('building the backend (npm run build:backend -- --arch amd64)');
    execFileSync('npm', ['run', '-s', 'build:backend', '--', '--arch', 'amd64'], { cwd: repo, stdio: 'inherit' });
  }
  const exes = [{ label: 'this build', exe: backendExe }];
  if (process.env.BENCH_COMPARE_EXE) {
    exes.push({ label: process.env.BENCH_COMPARE_LABEL ?? 'compared build', exe: process.env.BENCH_COMPARE_EXE });
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'wakeflow-bench-backend-'));
  const daemons: Daemon[] = [];
  const replays: ReplayAgent[] = [];
  const subjects: Subject[] = [];
  const load0 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  try {
    const t0 = Date.now();
    const db0 = path.join(dir, 'agent0.db');
    if (process.env.BENCH_DB) {
      // A store filled by an earlier run (HOURS must match it): skips the fill.
      copyFileSync(process.env.BENCH_DB, db0);
    } else {
      say(`filling ${HOURS} h of synthetic windows (the agent's bench writer; a few minutes for 24 h)`);
      await fill(db0);
    }
    const fillS = (Date.now() - t0) / 1000;
    const newest = newestWindowMs(db0);
    if (newest === undefined) {
      say('warning: sqlite3 could not read the newest window of the store: "the last hour" ends now');
    } else if (Date.now() - newest > 2 * 3_600_000) {
      throw new Error(
        `the store's newest window is ${((Date.now() - newest) / 3_600_000).toFixed(1)} h old: fill again`
      );
    }
    // The same history for each agent: a store per daemon, as on three nodes.
    for (const i of [1, 2]) {
      copyFileSync(db0, path.join(dir, `agent${i}.db`));
    }
    for (const i of [0, 1, 2]) {
      daemons.push(await startDaemon(['--db', path.join(dir, `agent${i}.db`), '--comm', '^wakeflow-bench-none$']));
      replays.push(await startReplayAgent(daemons[i].url));
    }
    const dsReal = { jsonData: { agentUrls: daemons.map((d) => d.url), timeoutSeconds: 30 }, uid: 'bench' };
    const dsReplay = { jsonData: { agentUrls: replays.map((r) => r.url), timeoutSeconds: 30 }, uid: 'bench-replay' };

    say(`exec to handshake, 10 launches of each build, interleaved`);
    const handshakes = new Map<string, number[]>(exes.map((e) => [e.exe, []]));
    for (let i = 0; i < 10; i++) {
      for (const e of exes) {
        const p = await startPlugin({ exe: e.exe });
        handshakes.get(e.exe)!.push(p.handshakeMs);
        await p.stop();
      }
    }

    for (const e of exes) {
      const real = await startPlugin({ exe: e.exe });
      const replay = await startPlugin({ exe: e.exe });
      await new Promise((r) => setTimeout(r, 500));
      const empty = () => ({ chains: [], categories: [], flamegraph: [] });
      subjects.push({
        ...e,
        real,
        replay,
        idleMiB: rssMiB(real.proc.pid!).rss,
        times: empty(),
        alone: empty(),
        cpu: {
          chains: { backend: 0, replayed: 0, agents: 0 },
          categories: { backend: 0, replayed: 0, agents: 0 },
          flamegraph: { backend: 0, replayed: 0, agents: 0 },
        },
        panels: [],
        bytes: { chains: 0, categories: 0, flamegraph: 0 },
        rows: { chains: '', categories: '', flamegraph: '' },
      });
    }
    // Every range ends at the fill's newest window, so that "the last hour" holds a whole hour of edges.
    const now = newest ?? Date.now();
    const hour = 3_600_000;
    const queries = benchQueries(now);
    // The same agent requests the backend makes for each query, sent straight to the three agents at once:
    // what the agents alone cost on this machine (they share its CPUs), beside the whole QueryData call.
    // Chains ask in two phases (docs/backend.md): every agent's top 1000 as numbers, then each agent's share of
    // the merged top 1000 whole; the flame graph asks every agent's top 1000 as paths.
    const step = String(Math.max(1000, Math.ceil((24 * hour) / 1000)));
    const edges = `/api/v1/edges?from=${now - hour}&to=${now}&sort=offcpu`;
    const agentPaths: Record<Name, string> = {
      chains: `${edges}&limit=1000&fields=numbers`,
      categories: `/api/v1/series?from=${now - 24 * hour}&to=${now}&step=${step}&metric=offcpu&by=category`,
      flamegraph: `${edges}&limit=1000&fields=paths`,
    };
    const direct: Record<Name, number[]> = { chains: [], categories: [], flamegraph: [] };
    const askAgents = async (name: Name) => {
      const t = performance.now();
      const answers = await Promise.all(daemons.map(async (d) => (await fetch(d.url + agentPaths[name])).text()));
      if (name === 'chains') {
        const hosts = daemons.map((d) => new URL(d.url).host);
        // The merged top 1000 (by off-CPU time, then agent, then id, as the backend merges), and each agent's share.
        const merged = answers
          .flatMap((a, i) =>
            (JSON.parse(a) as { edges: Array<{ id: number; offcpu_us: number }> }).edges.map((e) => ({ i, ...e }))
          )
          .sort(
            (x, y) =>
              y.offcpu_us - x.offcpu_us ||
              (hosts[x.i] < hosts[y.i] ? -1 : hosts[x.i] > hosts[y.i] ? 1 : 0) ||
              x.id - y.id
          )
          .slice(0, 1000);
        await Promise.all(
          daemons.map(async (d, i) => {
            const share = merged.filter((e) => e.i === i).length;
            if (share > 0) {
              await (await fetch(`${d.url}${edges}&limit=${share}`)).arrayBuffer();
            }
          })
        );
      }
      return performance.now() - t;
    };
    say(`${RUNS} interleaved rounds of chains, categories, flamegraph (${subjects.map((x) => x.label).join(' and ')})`);
    for (let round = 0; round <= RUNS; round++) {
      for (const name of NAMES) {
        const q = queries[name];
        for (const sub of subjects) {
          if (round === 0) {
            // The first round fills the replay servers, warms the agents' page caches and the backend's JIT: not counted.
            for (const [p, ds] of [
              [sub.real, dsReal],
              [sub.replay, dsReplay],
            ] as const) {
              const r = (await query(p, queryRequest(ds, [q]), 60_000))[q.refId];
              if (r.status !== 200) {
                throw new Error(`${name}: ${r.status} ${r.error}`);
              }
              sub.bytes[name] = r.frames.reduce((n, f) => n + f.bytes, 0);
              sub.rows[name] =
                name === 'chains'
                  ? `${r.frames[0].fields[0].values.length} rows, ${r.frames[1].fields[0].values.length} nodes`
                  : name === 'categories'
                    ? `${r.frames.length} series × ${r.frames[0].fields[0].values.length} points`
                    : `${r.frames[0].fields[0].values.length} nested-set rows`;
            }
            continue;
          }
          // Timed: the gRPC call alone, as Grafana waits for it (decoding the frames is the host's work, not timed).
          const agentsCpu = () => daemons.reduce((ms, d) => ms + cpuMs(d.proc.pid!), 0);
          const [b0, a0] = [cpuMs(sub.real.proc.pid!), agentsCpu()];
          sub.times[name].push(await timedQuery(sub.real, queryRequest(dsReal, [q]), q.refId));
          sub.cpu[name].backend += cpuMs(sub.real.proc.pid!) - b0;
          sub.cpu[name].agents += agentsCpu() - a0;
          const r0 = cpuMs(sub.replay.proc.pid!);
          sub.alone[name].push(await timedQuery(sub.replay, queryRequest(dsReplay, [q]), q.refId));
          sub.cpu[name].replayed += cpuMs(sub.replay.proc.pid!) - r0;
        }
        if (round > 0) {
          direct[name].push(await askAgents(name));
        }
      }
    }
    say(`${CONCURRENT_RUNS} rounds of the three panels at once (three QueryData calls in flight, as a dashboard asks)`);
    for (let round = 0; round < CONCURRENT_RUNS; round++) {
      for (const sub of subjects) {
        const t = performance.now();
        await Promise.all(NAMES.map((n) => timedQuery(sub.real, queryRequest(dsReal, [queries[n]]), queries[n].refId)));
        sub.panels.push(performance.now() - t);
      }
    }
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const cpu = cpus()[0]?.model ?? 'unknown CPU';

    const met = (v: number, goal: number) => (v <= goal ? 'met' : 'missed');
    const ms = (xs: number[]) => `${pctl(xs, 0.5).toFixed(1)} / ${pctl(xs, 0.95).toFixed(1)} ms`;
    const tableOf = (sub: Subject) => {
      const line = (label: string, name: Name) => {
        const g = GOALS[name];
        const d = direct[name];
        const c = sub.cpu[name];
        const perQuery = (total: number) => (total / RUNS).toFixed(1);
        return `| ${label} | ${ms(sub.times[name])} | ${ms(d)} | ${ms(sub.alone[name])} | ${perQuery(c.backend)} / ${perQuery(c.replayed)} ms | ${perQuery(c.agents)} ms | ${(sub.bytes[name] / 1024).toFixed(0)} KiB (${sub.rows[name]}) | p95 ≤ ${g} ms | ${met(pctl(sub.times[name], 0.95), g)} |`;
      };
      const real = rssMiB(sub.real.proc.pid!);
      const replay = rssMiB(sub.replay.proc.pid!);
      return [
        "| measure | QueryData p50 / p95 | the 3 agents alone, p50 / p95 | the backend alone (answers replayed), p50 / p95 | backend CPU per query (real / replayed) | the 3 agents' CPU per query | frame bytes | goal | |",
        '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
        line('`chains`, top 1000 over the last hour, 3 agents', 'chains'),
        line('`categories` over 24 h, maxDataPoints 1000, 3 agents', 'categories'),
        line('`flamegraph` over 3 × 1000 edges (last hour)', 'flamegraph'),
        `| the three panels at once (3 QueryData calls in flight), until the last answer | ${ms(sub.panels)} | | | | | | | |`,
        `| backend RSS at the end (peak), real agents | ${real.rss.toFixed(1)} MiB (${real.hwm.toFixed(1)} MiB) | | replayed: ${replay.rss.toFixed(1)} MiB (${replay.hwm.toFixed(1)} MiB) | | | | ≤ ${GOALS.rssMiB} MiB | ${met(Math.max(real.hwm, replay.hwm), GOALS.rssMiB)} |`,
        `| backend RSS idle, after the handshake | ${sub.idleMiB.toFixed(1)} MiB | | | | | | | |`,
      ].join('\n');
    };
    const handshakeLine = exes
      .map((e) => {
        const hs = handshakes.get(e.exe)!;
        const max = Math.max(...hs);
        return `Exec to handshake line (${e.label}, 10 launches): median ${pctl(hs, 0.5).toFixed(0)} ms, max ${max.toFixed(0)} ms (goal ≤ ${GOALS.handshake} ms: ${met(max, GOALS.handshake)}).`;
      })
      .join('\n');
    const tables = subjects
      .map(
        (sub) =>
          (subjects.length > 1 ? `**${sub.label}** (\`${path.relative(repo, sub.exe)}\`):\n\n` : '') + tableOf(sub)
      )
      .join('\n\n');
    const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
    const section = `<!-- bench:backend:start (written by npm run bench:backend) -->

Last run ${when} UTC: ${HOURS} h per store, ${RUNS} timed rounds after one warm-up round, ${cpus().length} × ${cpu},
load average ${load0} at the start and ${load} at the end${process.env.BENCH_DB ? '' : ` (fill: ${fillS.toFixed(0)} s)`};
every range ends at the fill's newest window${newest === undefined ? ' (unknown: at the start of the rounds)' : ` (${new Date(newest).toISOString().slice(11, 16)} UTC, ${((Date.now() - newest) / 60_000).toFixed(0)} min before the end of the run)`}${tracing > 0 ? `; ${tracing} wakeflow BPF programs of other processes were loaded meanwhile` : ''}.

${tables}

${handshakeLine}

<!-- bench:backend:end -->`;
    say('results:\n' + tables + '\n' + handshakeLine + `\nload average ${load0} at the start, ${load} at the end`);
    const perf = path.join(repo, 'docs', 'performance.md');
    const doc = readFileSync(perf, 'utf8');
    const re = /<!-- bench:backend:start[\s\S]*?<!-- bench:backend:end -->/;
    if (process.env.BENCH_NO_DOC) {
      say('BENCH_NO_DOC: docs/performance.md not written');
    } else if (re.test(doc)) {
      writeFileSync(perf, doc.replace(re, section));
      say('docs/performance.md updated (Backend section)');
    } else {
      say('docs/performance.md has no bench:backend markers: not written');
    }
  } finally {
    for (const sub of subjects) {
      await sub.real.stop();
      await sub.replay.stop();
    }
    for (const r of replays) {
      await r.close();
    }
    for (const d of daemons) {
      await stopDaemon(d);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  say(`failed: ${(e as Error).message}`);
  process.exit(1);
});
