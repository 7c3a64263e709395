// SPDX-License-Identifier: Apache-2.0
/*
 * How much slower than a real machine the tests run. 1 on a real machine;
 * tests/kernels sets WAKEFLOW_TEST_SLOWDOWN when its guest kernel runs
 * under qemu's software emulation (TCG), where the agent's start (verifying
 * its BPF programs, reading the kernel's tables) takes 15-20 times as long
 * and a request or a process start about six times.
 * Deadlines (how long to wait for something that will happen) and the
 * lifetime of a workload that must outlive the agent's start scale with it;
 * what a test measures or classifies does not.
 */
const raw = process.env.WAKEFLOW_TEST_SLOWDOWN ?? '1';
export const slowdown = Number(raw);
if (!Number.isFinite(slowdown) || slowdown < 1) {
  throw new Error(`WAKEFLOW_TEST_SLOWDOWN must be a number >= 1, not '${raw}'`);
}

/** ms (or seconds) as long as they take here. */
export const scaled = (ms: number) => ms * slowdown;
