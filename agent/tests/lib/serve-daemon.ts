// SPDX-License-Identifier: Apache-2.0
/*
 * Helpers for agent/tests/serve.test.ts: start the real daemon (real BPF)
 * and real workload processes, talk to its HTTP API, wait for conditions.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import path from 'node:path';

import { deadline } from './pace';

export const repoRoot = path.resolve(__dirname, '..', '..', '..');
export const agentBin = process.env.WAKEFLOW_AGENT ?? path.join(repoRoot, 'agent', 'build', 'wakeflow-agent');
export const workloadBin = process.env.WAKEFLOW_WORKLOAD ?? path.join(path.dirname(agentBin), 'wakeflow-workload');

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  srv.close();
  await once(srv, 'close');
  if (!addr || typeof addr === 'string') {
    throw new Error('no port');
  }
  return addr.port;
}

export interface Daemon {
  proc: ChildProcess;
  url: string;
  log: () => string;
  exited: Promise<number | null>;
}

/** Starts `wakeflow-agent serve` and waits until /healthz answers. */
export async function startDaemon(args: string[], port?: number): Promise<Daemon> {
  const p = port ?? (await freePort());
  const proc = spawn(agentBin, ['serve', '--listen', `127.0.0.1:${p}`, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  proc.stdout!.on('data', (d) => (log += d));
  proc.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${p}`;
  const until = Date.now() + deadline(20000);
  for (;;) {
    if (proc.exitCode !== null) {
      throw new Error(`daemon exited with ${proc.exitCode}: ${log}`);
    }
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.status === 200) {
        break;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > until) {
      proc.kill('SIGKILL');
      throw new Error(`daemon did not answer /healthz: ${log}`);
    }
    await sleep(100);
  }
  return { proc, url, log: () => log, exited };
}

/** SIGTERM (or another signal) and wait for the exit code. */
export async function stopDaemon(d: Daemon, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (d.proc.exitCode !== null || d.proc.signalCode !== null) {
    return d.proc.exitCode;
  }
  d.proc.kill(signal);
  const timer = setTimeout(() => d.proc.kill('SIGKILL'), deadline(15000));
  const code = await d.exited;
  clearTimeout(timer);
  return code;
}

export interface Workload {
  proc: ChildProcess;
  pid: number;
}

/** Starts wakeflow-workload MODE for a long time (stopped by the test). */
/** env: added to this process's environment (e.g. the pod identity the agent's discovery reads). */
export async function startWorkload(
  mode: string,
  extra: string[] = [],
  env: Record<string, string> = {}
): Promise<Workload> {
  const proc = spawn(workloadBin, [mode, '--duration', '600', ...extra], {
    stdio: 'ignore',
    env: { ...process.env, ...env },
  });
  await sleep(50);
  if (proc.exitCode !== null || !proc.pid) {
    throw new Error(`workload ${mode} did not start`);
  }
  return { proc, pid: proc.pid };
}

export async function stopWorkload(w: Workload): Promise<void> {
  if (w.proc.exitCode !== null || w.proc.signalCode !== null) {
    return;
  }
  w.proc.kill('SIGKILL');
  await once(w.proc, 'exit');
}

export interface Answer<T> {
  status: number;
  body: T;
  text: string;
  type: string | null;
}

/** GET; body is the parsed JSON when the answer is JSON (else undefined). */
export async function get<T = unknown>(url: string, headers: Record<string, string> = {}): Promise<Answer<T>> {
  let r: Response;
  try {
    r = await fetch(url, { headers });
  } catch (e) {
    // fetch says only "fetch failed": its cause says why, and its socket's
    // counts whether the connection was a new one (nothing read yet) or a
    // kept-alive one closed as it was reused.
    const cause = (e as { cause?: { message?: string; socket?: unknown } }).cause;
    throw new Error(`GET ${url}: ${String(e)}: ${cause?.message ?? 'no cause'} ${JSON.stringify(cause?.socket ?? {})}`);
  }
  const text = await r.text();
  const isJson = (r.headers.get('content-type') ?? '').startsWith('application/json');
  const body = (isJson ? JSON.parse(text) : undefined) as T;
  return { status: r.status, body, text, type: r.headers.get('content-type') };
}

export interface RawAnswer {
  status: number;
  /** ms from the call to the end of the answer */
  ms: number;
  /** ms from the call to the request written */
  writtenMs: number;
  /** when each step happened, in ms from the call: connected, request written, answered, closed */
  steps: string;
}

/**
 * GET on a connection of its own (Connection: close), as a liveness probe
 * sends it: the request is handed to the socket at once and written as it
 * connects, and the answer is only collected until the daemon closes, so
 * the caller's event loop adds next to nothing between the daemon's accept
 * and the request (the daemon closes a connection that has not sent a whole
 * request within 5 s of its accept, and under emulation fetch's own work for
 * 30 requests at once held the loop longer than that: docs/testing.md, runs
 * 17-18). A failure says which side was late: a request written long before
 * the daemon closed unanswered waited in the daemon; one written late was
 * the client's.
 */
export function getOnNewConnection(url: string, target: string): Promise<RawAnswer> {
  const t0 = Date.now();
  const steps: string[] = [];
  const step = (what: string) => steps.push(`${what} +${Date.now() - t0} ms`);
  const u = new URL(url);
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname);
    s.on('connect', () => step('connected'));
    let writtenMs = -1;
    s.write(`GET ${target} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close\r\n\r\n`, () => {
      writtenMs = Date.now() - t0;
      step('request written');
    });
    s.on('data', (b) => {
      if (chunks.length === 0) {
        step('answer began');
      }
      chunks.push(b);
    });
    let error = '';
    s.on('error', (e) => (error = `: ${e.message}`));
    s.on('close', () => {
      step(`closed (${s.bytesWritten} bytes written, ${s.bytesRead} read)`);
      const head = Buffer.concat(chunks).toString('latin1').split('\r\n', 1)[0];
      const m = /^HTTP\/1\.[01] (\d{3}) /.exec(head);
      if (!m) {
        reject(new Error(`GET ${target} on a new connection, no answer${error}: ${steps.join(', ')}`));
        return;
      }
      resolve({ status: Number(m[1]), ms: Date.now() - t0, writtenMs, steps: steps.join(', ') });
    });
  });
}

/** Polls fn until it returns a truthy value (returned) or the time is up. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  ms = 20000
): Promise<T> {
  const until = Date.now() + deadline(ms);
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) {
        return v;
      }
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await sleep(250);
  }
}

export function run(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface SeriesAnswer {
  step_ms: number;
  from_ms: number;
  to_ms: number;
  warning?: string;
  series: Array<{ labels: Record<string, string>; points: Array<[number, number]> }>;
}

/** Sum of all points of all series. */
export function total(a: SeriesAnswer): number {
  return a.series.reduce((s, x) => s + x.points.reduce((t, p) => t + p[1], 0), 0);
}

/**
 * A throwaway cgroup in the hierarchy that holds the cpu controller: the v1
 * `cpu` mount on a hybrid host (as this CI machine and many nodes still
 * are), else cgroup v2, where the cpu controller is enabled in the root's
 * subtree_control first. Created directly under the hierarchy's root: a
 * child of our own v2 cgroup could not get the cpu controller while we
 * (processes) sit in its parent ("no internal processes").
 */
export interface TestCgroup {
  /** The cgroup path as /proc/PID/cgroup shows it, e.g. "/wf-test-1a2b3c". */
  path: string;
  dir: string;
  version: 1 | 2;
  /** Moves a whole process (all its threads) into the cgroup. */
  add(pid: number): void;
  /** CPU bandwidth limit: quota per period, in microseconds. */
  limitCpu(quotaUs: number, periodUs: number): void;
  /** Moves every process back to the root and removes the cgroup. */
  destroy(): Promise<void>;
}

function cpuHierarchy(): { root: string; version: 1 | 2 } {
  for (const v1 of ['cpu', 'cpu,cpuacct', 'cpuacct,cpu']) {
    const d = path.join('/sys/fs/cgroup', v1);
    if (existsSync(path.join(d, 'cpu.cfs_quota_us'))) {
      return { root: d, version: 1 };
    }
  }
  for (const d of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    const controllers = path.join(d, 'cgroup.controllers');
    if (existsSync(controllers) && readFileSync(controllers, 'utf8').split(/\s+/).includes('cpu')) {
      const sub = path.join(d, 'cgroup.subtree_control');
      if (!readFileSync(sub, 'utf8').split(/\s+/).includes('cpu')) {
        writeFileSync(sub, '+cpu');
      }
      return { root: d, version: 2 };
    }
  }
  throw new Error('no cgroup hierarchy with the cpu controller under /sys/fs/cgroup');
}

export function createTestCgroup(): TestCgroup {
  const { root, version } = cpuHierarchy();
  const name = `wf-test-${randomBytes(4).toString('hex')}`;
  const dir = path.join(root, name);
  mkdirSync(dir);
  const procs = (d: string) => path.join(d, 'cgroup.procs');
  return {
    path: `/${name}`,
    dir,
    version,
    add(pid) {
      // cgroup.procs (not tasks / cgroup.threads) moves every thread.
      writeFileSync(procs(dir), String(pid));
    },
    limitCpu(quotaUs, periodUs) {
      if (version === 1) {
        writeFileSync(path.join(dir, 'cpu.cfs_period_us'), String(periodUs));
        writeFileSync(path.join(dir, 'cpu.cfs_quota_us'), String(quotaUs));
      } else {
        writeFileSync(path.join(dir, 'cpu.max'), `${quotaUs} ${periodUs}`);
      }
    },
    async destroy() {
      const until = Date.now() + deadline(5000);
      for (;;) {
        for (const pid of readFileSync(procs(dir), 'utf8').split('\n').filter(Boolean)) {
          try {
            writeFileSync(procs(root), pid);
          } catch {
            // exited meanwhile
          }
        }
        try {
          rmdirSync(dir);
          return;
        } catch (e) {
          // EBUSY while an exiting task is still being reaped
          if (Date.now() > until) {
            throw e;
          }
        }
        await sleep(50);
      }
    },
  };
}
