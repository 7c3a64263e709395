// SPDX-License-Identifier: Apache-2.0
/*
 * npm run bench:backend: the backend executable under the Grafana host,
 * querying three real agent daemons whose stores hold HOURS (default 24) of
 * synthetic history written by the agent's own bench writer (`serve
 * --bench-fill`: 10,000 distinct edges per store). Measures, over RUNS
 * (default 20) interleaved rounds: chains top 1000 over the last hour,
 * categories over 24 h at maxDataPoints 1000, the flame graph over 3 x 1000
 * edges; frame bytes; the backend's RSS; exec-to-handshake time. Prints a
 * table and writes it into docs/performance.md ("Backend"). Not a test.
 * As root (the daemons attach BPF); run under flock /tmp/wakeflow-bpf.lock.
 * BENCH_DB=FILE reuses a store an earlier `serve --bench-fill` wrote.
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

const HOURS = Number(process.env.HOURS ?? 24);
const RUNS = Number(process.env.RUNS ?? 20);
const repo = path.resolve(__dirname, '..', '..');
const say = (s: string) => process.stderr.write(`bench-backend: ${s}\n`);

const GOALS = { chains: 150, categories: 50, flamegraph: 150, rssMiB: 150, handshake: 500 };

function pctl(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
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
  const dir = mkdtempSync(path.join(tmpdir(), 'wakeflow-bench-backend-'));
  const daemons: Daemon[] = [];
  let plugin: PluginProcess | undefined;
  try {
    const t0 = Date.now();
    say(`filling ${HOURS} h of synthetic windows (the agent's bench writer; a few minutes for 24 h)`);
    const db0 = path.join(dir, 'agent0.db');
    if (process.env.BENCH_DB) {
      // A store filled by an earlier run (HOURS must match it): skips the fill.
      copyFileSync(process.env.BENCH_DB, db0);
    } else {
      await fill(db0);
    }
    const fillS = (Date.now() - t0) / 1000;
    // The same history for each agent: a store per daemon, as on three nodes.
    for (const i of [1, 2]) {
      copyFileSync(db0, path.join(dir, `agent${i}.db`));
    }
    for (const i of [0, 1, 2]) {
      daemons.push(await startDaemon(['--db', path.join(dir, `agent${i}.db`), '--comm', '^wakeflow-bench-none$']));
    }
    const ds = { jsonData: { agentUrls: daemons.map((d) => d.url), timeoutSeconds: 30 }, uid: 'bench' };

    say('exec to handshake, 10 launches');
    const handshakes: number[] = [];
    for (let i = 0; i < 10; i++) {
      const p = await startPlugin();
      handshakes.push(p.handshakeMs);
      await p.stop();
    }

    plugin = await startPlugin();
    await new Promise((r) => setTimeout(r, 500));
    const idle = rssMiB(plugin.proc.pid!);
    const now = Date.now();
    const hour = 3_600_000;
    const queries = {
      chains: { refId: 'C', model: { queryType: 'chains', limit: 1000 }, fromMs: now - hour, toMs: now },
      categories: {
        refId: 'S',
        model: { queryType: 'categories' },
        fromMs: now - 24 * hour,
        toMs: now,
        maxDataPoints: 1000,
        intervalMs: 1000,
      },
      flamegraph: { refId: 'F', model: { queryType: 'flamegraph', limit: 1000 }, fromMs: now - hour, toMs: now },
    } as const;
    type Name = keyof typeof queries;
    // The same agent requests the backend makes for each query, sent straight to the three agents at once:
    // what the agents alone cost on this machine (they share its CPUs), beside the whole QueryData call.
    const step = String(Math.max(1000, Math.ceil((24 * hour) / 1000)));
    const agentPaths: Record<Name, string> = {
      chains: `/api/v1/edges?from=${now - hour}&to=${now}&limit=1000&sort=offcpu`,
      categories: `/api/v1/series?from=${now - 24 * hour}&to=${now}&step=${step}&metric=offcpu&by=category`,
      flamegraph: `/api/v1/edges?from=${now - hour}&to=${now}&limit=1000&sort=offcpu`,
    };
    const direct: Record<Name, number[]> = { chains: [], categories: [], flamegraph: [] };
    const askAgents = async (name: Name) => {
      const t = performance.now();
      await Promise.all(daemons.map(async (d) => (await fetch(d.url + agentPaths[name])).arrayBuffer()));
      return performance.now() - t;
    };
    const times: Record<Name, number[]> = { chains: [], categories: [], flamegraph: [] };
    const bytes: Record<Name, number> = { chains: 0, categories: 0, flamegraph: 0 };
    const rows: Record<Name, string> = { chains: '', categories: '', flamegraph: '' };
    say(`${RUNS} interleaved rounds of chains, categories, flamegraph`);
    for (let round = 0; round <= RUNS; round++) {
      for (const name of Object.keys(queries) as Name[]) {
        const req = queryRequest(ds, [queries[name]]);
        if (round > 0) {
          // Timed: the gRPC call alone, as Grafana waits for it (decoding the frames is the host's work, not timed).
          const t = performance.now();
          const raw = await unaryCall<{ responses: Record<string, { status: number }> }>(
            plugin.data,
            'QueryData',
            req,
            60_000
          );
          times[name].push(performance.now() - t);
          if (raw.responses[queries[name].refId].status !== 200) {
            throw new Error(`${name}: status ${raw.responses[queries[name].refId].status}`);
          }
          if (name !== 'flamegraph') {
            direct[name].push(await askAgents(name));
          }
          continue;
        }
        const r = (await query(plugin, req, 60_000))[queries[name].refId];
        if (r.status !== 200) {
          throw new Error(`${name}: ${r.status} ${r.error}`);
        }
        {
          // The first round warms the agents' page caches and the backend's JIT: not counted.
          bytes[name] = r.frames.reduce((s, f) => s + f.bytes, 0);
          rows[name] =
            name === 'chains'
              ? `${r.frames[0].fields[0].values.length} rows, ${r.frames[1].fields[0].values.length} nodes`
              : name === 'categories'
                ? `${r.frames.length} series × ${r.frames[0].fields[0].values.length} points`
                : `${r.frames[0].fields[0].values.length} nested-set rows`;
        }
      }
    }
    const mem = rssMiB(plugin.proc.pid!);
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const cpu = cpus()[0]?.model ?? 'unknown CPU';

    const met = (v: number, goal: number) => (v <= goal ? 'met' : 'missed');
    const line = (label: string, name: Name) => {
      const p50 = pctl(times[name], 0.5);
      const p95 = pctl(times[name], 0.95);
      const g = GOALS[name];
      const d = direct[name === 'flamegraph' ? 'chains' : name];
      const d50 = pctl(d, 0.5);
      return `| ${label} | ${p50.toFixed(1)} / ${p95.toFixed(1)} ms | ${d50.toFixed(1)} / ${pctl(d, 0.95).toFixed(1)} ms | ${(p50 - d50).toFixed(1)} ms | ${(bytes[name] / 1024).toFixed(0)} KiB (${rows[name]}) | p95 ≤ ${g} ms | ${met(p95, g)} |`;
    };
    const hs50 = pctl(handshakes, 0.5);
    const hsMax = Math.max(...handshakes);
    const table = [
      '| measure | QueryData p50 / p95 | the 3 agents alone, p50 / p95 | backend adds (p50) | frame bytes | goal | |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      line('`chains`, top 1000 over the last hour, 3 agents', 'chains'),
      line('`categories` over 24 h, maxDataPoints 1000, 3 agents', 'categories'),
      line('`flamegraph` over 3 × 1000 edges (last hour)', 'flamegraph'),
      `| backend RSS after the runs (peak) | ${mem.rss.toFixed(1)} MiB (${mem.hwm.toFixed(1)} MiB) | | | | ≤ ${GOALS.rssMiB} MiB | ${met(mem.hwm, GOALS.rssMiB)} |`,
      `| backend RSS idle, after the handshake | ${idle.rss.toFixed(1)} MiB | | | | | |`,
      `| exec to handshake line (10 launches), median / max | ${hs50.toFixed(0)} / ${hsMax.toFixed(0)} ms | | | | ≤ ${GOALS.handshake} ms | ${met(hsMax, GOALS.handshake)} |`,
    ].join('\n');
    const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
    const section = `<!-- bench:backend:start (written by npm run bench:backend) -->

Last run ${when} UTC: ${HOURS} h per store, ${RUNS} timed rounds after one warm-up round, ${cpus().length} × ${cpu},
load average ${load} at the end (fill: ${fillS.toFixed(0)} s)${tracing > 0 ? `; ${tracing} wakeflow BPF programs of other processes were loaded meanwhile` : ''}.

${table}

<!-- bench:backend:end -->`;
    say('results:\n' + table + `\nload average ${load}`);
    const perf = path.join(repo, 'docs', 'performance.md');
    const doc = readFileSync(perf, 'utf8');
    const re = /<!-- bench:backend:start[\s\S]*?<!-- bench:backend:end -->/;
    if (re.test(doc)) {
      writeFileSync(perf, doc.replace(re, section));
      say('docs/performance.md updated (Backend section)');
    } else {
      say('docs/performance.md has no bench:backend markers: not written');
    }
  } finally {
    await plugin?.stop();
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
