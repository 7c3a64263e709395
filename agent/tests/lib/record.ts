// SPDX-License-Identifier: Apache-2.0
/*
 * Helpers for agent/tests/live.test.ts: run the real `wakeflow-agent record`
 * (real BPF) against the real test workload and read its JSON report.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

import { deadline } from './pace';

export const repoRoot = path.resolve(__dirname, '..', '..', '..');
export const agentBin = process.env.WAKEFLOW_AGENT ?? path.join(repoRoot, 'agent', 'build', 'wakeflow-agent');
export const workloadBin = process.env.WAKEFLOW_WORKLOAD ?? path.join(path.dirname(agentBin), 'wakeflow-workload');
/* The workload's process name: its file name cut to the kernel's 15 characters. */
export const workloadComm = 'wakeflow-worklo';

export interface Task {
  comm: string;
  pid: number | null;
  tid: number | null;
}

export interface Edge {
  waker: Task & { context: string };
  target: Task & { role: string };
  preemptor?: Task | null;
  kind: string;
  category: string;
  activity: string | null;
  count: number | null;
  offcpu_us: number | null;
  runq_us: number | null;
  stacks_sampled: boolean;
  waker_stack: string[];
  target_stack: string[];
  waker_stack_kernel_frames?: number;
  target_stack_kernel_frames?: number;
  facts?: string[];
  explanation: Explanation;
}

/** Why an edge got its category and activity (docs/api.md, "Explanation"). */
export interface Reason {
  rule: string | null;
  when: string | null;
  frames: Array<{ stack: 'waker' | 'target'; index: number }>;
  facts: string[];
}

export interface Explanation {
  category: Reason;
  activity: Reason | null;
}

/* A rules-file glob alternative as a RegExp (fnmatch without flags). */
function globRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      re += '.*';
    } else if (c === '?') {
      re += '.';
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      re += end < 0 ? '\\[' : glob.slice(i, end + 1);
      i = end < 0 ? i : end;
    } else if (c === '\\' && i + 1 < glob.length) {
      re += glob[++i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`, 's');
}

/* A `when` line's tests: [subject, negated, alternatives]. */
export function whenTests(when: string): Array<[string, boolean, string[]]> {
  const words = when.match(/(?:[^\s"]+|"[^"]*")+/g) ?? [];
  return words.map((w) => {
    const m = /^([^=!]+)(!?)=(.*)$/.exec(w.replace(/"/g, ''));
    if (!m) {
      throw new Error(`not a test: ${w}`);
    }
    return [m[1], m[2] === '!', m[3].split('|')];
  });
}

const cloneSuffix = /\.(isra|constprop|part|llvm|lto_priv)\.|\.cold/;

/* Whether a frame matches one of the alternatives, as classify.c matches frames. */
export function frameMatches(frame: string, alts: string[]): boolean {
  const cut = frame.search(cloneSuffix);
  const names = cut > 0 ? [frame, frame.slice(0, cut)] : [frame];
  return names.some((n) => alts.some((a) => globRegExp(a).test(n)));
}

/**
 * Checks one edge's explanation against the edge itself, independently of
 * the agent's matcher: every frame it points at exists and matches a frame
 * test of its `when` line; every fact is the edge's and one the line tests.
 */
export function checkExplanation(e: Edge): void {
  const x = e.explanation;
  const what = `${describeEdge(e)}: ${JSON.stringify(x)}`;
  if (!x || typeof x !== 'object') {
    throw new Error(`no explanation: ${what}`);
  }
  const reasons: Array<[Reason, string | null]> = [[x.category, e.category]];
  if (e.activity === null) {
    if (x.activity !== null) {
      throw new Error(`an activity explained where there is none: ${what}`);
    }
  } else {
    reasons.push([x.activity!, e.activity]);
  }
  for (const [r] of reasons) {
    if (r.rule === null) {
      if (r.when !== null || r.frames.length || r.facts.length || e.category !== 'other') {
        throw new Error(`no rule, yet something decided: ${what}`);
      }
      continue;
    }
    const tests = r.when === 'always' ? [] : whenTests(r.when!);
    for (const f of r.frames) {
      const stack = f.stack === 'waker' ? e.waker_stack : e.target_stack;
      const frame = stack[f.index];
      const alts = tests.filter(([s, neg]) => s === `${f.stack}.frame` && !neg).flatMap(([, , a]) => a);
      if (frame === undefined || !frameMatches(frame, alts)) {
        throw new Error(`frame ${f.stack}[${f.index}] (${frame}) is not one that '${r.when}' tests: ${what}`);
      }
    }
    for (const fact of r.facts) {
      const key = fact.slice(0, fact.indexOf('='));
      if (!(e.facts ?? []).includes(fact) || !tests.some(([s, neg]) => s === key && !neg)) {
        throw new Error(`fact ${fact} is not the edge's or not tested by '${r.when}': ${what}`);
      }
    }
  }
}

export interface Report {
  edges: Edge[];
  lost: Record<string, number>;
  /** Live captures: which walker walked kernel stacks, and walk counters. */
  capture?: { kernel_stack_walker: string } & Record<string, number | string>;
}

export interface Recording {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts `record ARGS --format json` and resolves once it says it is recording. */
export async function startRecord(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Recording> {
  const proc = spawn(agentBin, ['record', ...args, '--format', 'json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = once(proc, 'exit').then(([code]) => code as number | null);
  const until = Date.now() + deadline(10000);
  while (!err.includes('recording')) {
    if (proc.exitCode !== null || Date.now() > until) {
      proc.kill('SIGKILL');
      throw new Error(`record did not start: ${err.trim()}`);
    }
    await sleep(20);
  }
  return { proc, stdout: () => out, stderr: () => err, exited };
}

/** Ends a recording with SIGINT and parses its report. */
export async function stopRecord(rec: Recording): Promise<Report> {
  rec.proc.kill('SIGINT');
  const timer = setTimeout(() => rec.proc.kill('SIGKILL'), deadline(20000));
  const code = await rec.exited;
  clearTimeout(timer);
  if (code !== 0) {
    throw new Error(`record exited with ${code}: ${rec.stderr().trim()}`);
  }
  return JSON.parse(rec.stdout()) as Report;
}

/** Runs the workload in one mode until it exits; resolves to its pid. */
export async function runWorkload(mode: string, extra: string[] = []): Promise<number> {
  const w = startWorkload(mode, extra);
  const code = await w.exited;
  if (code !== 0) {
    throw new Error(`workload ${mode} exited with ${code}: ${w.stderr()}`);
  }
  return w.proc.pid!;
}

export function startWorkload(mode: string, extra: string[] = []) {
  const proc = spawn(workloadBin, [mode, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  proc.stdout!.resume();
  const exited = once(proc, 'exit').then(([code]) => code as number | null);
  return { proc, exited, stderr: () => err };
}

/**
 * A shell that execs into the workload when exec() is called: trace its pid
 * first, and the exec and all of the workload's run happen under tracing,
 * however long the agent takes to start.
 */
export function startWorkloadOnCue(mode: string, extra: string[] = []) {
  const proc = spawn('sh', ['-c', 'read cue && exec "$0" "$@"', workloadBin, mode, ...extra], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  proc.stdout!.resume();
  const exited = once(proc, 'exit').then(([code]) => code as number | null);
  return { proc, exited, stderr: () => err, exec: () => proc.stdin!.end('go\n') };
}

/** Edges whose target thread has this name, largest count first. */
export function edgesOf(report: Report, targetThread: string): Edge[] {
  return report.edges.filter((e) => e.target.comm === targetThread).sort((a, b) => (b.count ?? 0) - (a.count ?? 0));
}

export function describeEdge(e: Edge): string {
  return `${e.waker.comm || '-'}(${e.waker.context}) -> ${e.target.comm}: ${e.category} x${e.count}`;
}
