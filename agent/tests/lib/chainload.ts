// SPDX-License-Identifier: Apache-2.0
/*
 * Builds and starts the chain workloads (agent/tests/chains/chainload.c) for
 * the tests that trace them: the agent's record and serve suites and the
 * backend/browser stacks. One compile line, so every suite runs the same
 * binary: frame pointers for user stacks, warnings as errors; one way to
 * start a stage and wait for its "ready" line.
 *
 * WAKEFLOW_TEST_CHAINLOAD names a binary already built with this line: the
 * test guest of tests/kernels has no compiler, so tests/kernels/run builds
 * it on the host (through this function) and the guest copies it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync } from 'node:fs';
import path from 'node:path';

export const CHAINLOAD_SOURCE = path.join(__dirname, '..', 'chains', 'chainload.c');

/** Compiles chainload.c to `out` and returns `out`. */
export function buildChainload(out: string): string {
  const prebuilt = process.env.WAKEFLOW_TEST_CHAINLOAD;
  if (prebuilt) {
    copyFileSync(prebuilt, out);
    return out;
  }
  execFileSync('cc', [
    '-O2',
    '-g',
    '-Wall',
    '-Wextra',
    '-Werror',
    '-fno-omit-frame-pointer',
    CHAINLOAD_SOURCE,
    '-lpthread',
    '-o',
    out,
  ]);
  return out;
}

/** A started chainload stage. */
export interface ChainloadProcess {
  proc: ChildProcess;
  /** Its exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Resolves once it printed "ready" (its threads wait for each other); rejects if it exits first. */
  ready: Promise<void>;
  stderr: () => string;
}

/**
 * Starts `bin args...` with `env` added to ours; `shellPrefix`, when given,
 * runs in a shell first (for example to enter a cgroup) and then execs it.
 */
export function startChainload(
  bin: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  shellPrefix?: string
): ChainloadProcess {
  const opts = { stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } };
  const proc = shellPrefix
    ? spawn('sh', ['-c', `${shellPrefix} && exec "$0" "$@"`, bin, ...args], opts)
    : spawn(bin, args, opts);
  let err = '';
  let out = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) {
        resolve();
      }
    });
    proc.once('exit', (code) => reject(new Error(`${bin} ${args.join(' ')} exited (${code}) before ready: ${err}`)));
  });
  ready.catch(() => undefined); // awaited by the caller; never an unhandled rejection
  const exited = once(proc, 'exit').then(([code]) => code as number | null);
  return { proc, exited, ready, stderr: () => err };
}
