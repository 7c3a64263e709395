// SPDX-License-Identifier: Apache-2.0
/*
 * Where the backend's peak RSS is: which phase of bench:backend's queries,
 * and what the memory is at that moment. Not a benchmark of record (its
 * figures are for finding the peak; bench:backend's are the ones to
 * report), and no BPF: the agents are `bench-query --serve` on copies of a
 * store that `wakeflow-agent serve --bench-fill 24` filled.
 *
 *   BENCH_DB=FILE [EXES=exe1,exe2] [ROUNDS=8] [PANELS=5] npx tsx pkg/bench/rss-peak.ts
 *
 * Each build in EXES (default: dist's executable) is started as Grafana
 * starts it; their queries are interleaved on the same three agents:
 * ROUNDS rounds of chains, categories and flame graph one at a time (as
 * bench:backend), then PANELS rounds of the three at once. /proc/PID/status
 * is read every 2 ms, and at each new maximum /proc/PID/smaps is summed by
 * kind of mapping. One JSON line per build: idle, end and peak RSS, the
 * maximum in each phase, the phase of the peak and the mappings then, and
 * the CPU the build used. MALLOC_STATS=1 adds glibc's malloc_stats() per
 * arena at the end (through gdb, which must be installed).
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { PluginProcess, backendExe, queryRequest, startPlugin, unaryCall } from '../../tests/backend/grafana-host';

import { benchQueries } from './bench-queries';

const repo = path.resolve(__dirname, '..', '..');
const BENCH_QUERY = path.join(repo, 'agent', 'build', 'bench-query');
const EXES = (process.env.EXES ?? backendExe).split(',');
const ROUNDS = Number(process.env.ROUNDS ?? 8);
const PANELS = Number(process.env.PANELS ?? 5);
const NAMES = ['chains', 'categories', 'flamegraph'] as const;
type Name = (typeof NAMES)[number];

const mib = (x: number) => Math.round(x * 10) / 10;

function statusMiB(pid: number): { rss: number; hwm: number } {
  const st = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(st)?.[1] ?? 0) / 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(after[11]) + Number(after[12])) * 10;
}

/**
 * Resident MiB by kind of mapping: the executable's file, other files,
 * glibc's main heap, and anonymous mappings under and over 1 MiB (V8's heap
 * pages are 256 KiB; thread stacks, arenas and big objects are larger).
 */
function smapsByKind(pid: number, exe: string): Record<string, number> {
  const out: Record<string, number> = {};
  let kind = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      const name = m[3];
      const sizeKiB = (parseInt(m[2], 16) - parseInt(m[1], 16)) / 1024;
      kind =
        name === exe
          ? 'executable'
          : name.startsWith('/')
            ? 'other files'
            : name === '[heap]'
              ? 'glibc main heap'
              : name === ''
                ? sizeKiB >= 1024
                  ? 'anonymous >= 1 MiB'
                  : 'anonymous < 1 MiB'
                : name;
      continue;
    }
    const r = /^Rss:\s+(\d+) kB/.exec(line);
    if (r) {
      out[kind] = (out[kind] ?? 0) + Number(r[1]) / 1024;
    }
  }
  return Object.fromEntries(
    Object.entries(out)
      .filter(([, v]) => v >= 0.1)
      .map(([k, v]) => [k, mib(v)])
  );
}

async function startAgent(db: string): Promise<{ proc: ChildProcess; url: string; newestMs: number }> {
  const proc = spawn(BENCH_QUERY, ['--db', db, '--serve', '3600'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const line = await new Promise<string>((resolve, reject) => {
    proc.stdout!.once('data', (d) => resolve(String(d)));
    proc.once('exit', (code) => reject(new Error(`bench-query exited (${code}) before serving ${db}`)));
  });
  const m = /port (\d+) to (\d+)/.exec(line);
  if (!m) {
    throw new Error(`bench-query did not say its port: ${line}`);
  }
  return { proc, url: `http://127.0.0.1:${m[1]}`, newestMs: Number(m[2]) };
}

interface Subject {
  exe: string;
  plugin: PluginProcess;
  idle: number;
  cpu0: number;
  top: number;
  topPhase: string;
  atTop: Record<string, number>;
  phaseMax: Record<string, number>;
}

async function main(): Promise<void> {
  const db = process.env.BENCH_DB;
  if (!db || !existsSync(db)) {
    throw new Error('set BENCH_DB to a store filled by `wakeflow-agent serve --db FILE --bench-fill 24`');
  }
  if (!existsSync(BENCH_QUERY)) {
    throw new Error(`${BENCH_QUERY} is missing: make -C agent build/bench-query`);
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'wakeflow-rss-peak-'));
  const agents: Array<{ proc: ChildProcess; url: string; newestMs: number }> = [];
  const subjects: Subject[] = [];
  try {
    for (const i of [0, 1, 2]) {
      const copy = path.join(dir, `agent${i}.db`);
      copyFileSync(db, copy);
      agents.push(await startAgent(copy));
    }
    const now = agents[0].newestMs;
    const ds = { jsonData: { agentUrls: agents.map((a) => a.url), timeoutSeconds: 30 }, uid: 'rss-peak' };
    const queries = benchQueries(now);
    for (const exe of EXES) {
      const plugin = await startPlugin({ exe });
      subjects.push({ exe, plugin, idle: 0, cpu0: 0, top: 0, topPhase: '', atTop: {}, phaseMax: {} });
    }
    await new Promise((r) => setTimeout(r, 500));
    for (const s of subjects) {
      s.idle = statusMiB(s.plugin.proc.pid!).rss;
      s.cpu0 = cpuMs(s.plugin.proc.pid!);
    }
    let phase = 'idle';
    const sampler = setInterval(() => {
      for (const s of subjects) {
        const { rss } = statusMiB(s.plugin.proc.pid!);
        s.phaseMax[phase] = Math.max(s.phaseMax[phase] ?? 0, rss);
        if (rss > s.top + 0.5) {
          s.top = rss;
          s.topPhase = phase;
          s.atTop = smapsByKind(s.plugin.proc.pid!, path.resolve(s.exe));
        }
      }
    }, 2);
    const ask = async (s: Subject, name: Name) => {
      const q = queries[name];
      const raw = await unaryCall<{ responses: Record<string, { status: number; error: string }> }>(
        s.plugin.data,
        'QueryData',
        queryRequest(ds, [q]),
        60_000
      );
      if (raw.responses[q.refId].status !== 200) {
        throw new Error(`${name}: ${raw.responses[q.refId].error}`);
      }
    };
    for (let round = 0; round <= ROUNDS; round++) {
      for (const name of NAMES) {
        phase = `${name} alone`;
        for (const s of subjects) {
          await ask(s, name);
        }
      }
    }
    phase = 'three at once';
    for (let round = 0; round < PANELS; round++) {
      for (const s of subjects) {
        await Promise.all(NAMES.map((n) => ask(s, n)));
      }
    }
    phase = 'after';
    await new Promise((r) => setTimeout(r, 50));
    clearInterval(sampler);
    for (const s of subjects) {
      const pid = s.plugin.proc.pid!;
      const end = statusMiB(pid);
      const line: Record<string, unknown> = {
        exe: s.exe,
        idleMiB: mib(s.idle),
        endMiB: mib(end.rss),
        peakMiB: mib(end.hwm),
        maxByPhase: Object.fromEntries(Object.entries(s.phaseMax).map(([k, v]) => [k, mib(v)])),
        peakPhase: s.topPhase,
        atPeakMiB: s.atTop,
        cpuMs: cpuMs(pid) - s.cpu0,
      };
      if (process.env.MALLOC_STATS) {
        // malloc_stats() writes to the process's stderr, which the host collects.
        const before = s.plugin.stderr().length;
        spawnSync('gdb', ['-p', String(pid), '-batch', '-ex', 'call (void)malloc_stats()'], { stdio: 'ignore' });
        await new Promise((r) => setTimeout(r, 200));
        line.mallocStats = s.plugin
          .stderr()
          .slice(before)
          .split('\n')
          .filter((l) => l.trim() && !l.startsWith('{'))
          .map((l) => l.trim().replace(/\s+/g, ' '));
      }
      console.log(JSON.stringify(line));
    }
  } finally {
    for (const s of subjects) {
      await s.plugin.stop();
    }
    for (const a of agents) {
      a.proc.kill();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`rss-peak: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
