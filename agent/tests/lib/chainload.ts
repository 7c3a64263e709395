// SPDX-License-Identifier: Apache-2.0
/*
 * Builds the chain workloads (agent/tests/chains/chainload.c) for the
 * tests that trace them: the agent's record and serve suites and the
 * backend/browser stacks. One compile line, so every suite runs the same
 * binary: frame pointers for user stacks, warnings as errors.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export const CHAINLOAD_SOURCE = path.join(__dirname, '..', 'chains', 'chainload.c');

/** Compiles chainload.c to `out` and returns `out`. */
export function buildChainload(out: string): string {
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
