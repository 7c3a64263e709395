// SPDX-License-Identifier: Apache-2.0
/*
 * How much slower than a real machine the tests run. 1 on a real machine;
 * tests/kernels measures it for its guest kernel under qemu (the time of
 * tests/kernels/calibrate in the guest over its CPU time on the host:
 * process starts, ordinary code; software emulation and the host's other
 * work both count) and sets WAKEFLOW_TEST_SLOWDOWN.
 *
 * Durations that must hold as much work as on a real machine (a workload
 * that must outlive the agent's start, a recording that must see as many
 * intervals) are `scaled`. Deadlines (how long to wait for something that
 * will happen) are `deadline`: twice the factor, because the agent's start,
 * what the longest of them wait for (the verifier, the kernel's tables),
 * slows 2.5-3 times as much under emulation as the calibration does
 * (docs/testing.md). A longer deadline costs nothing when things go well;
 * a longer duration costs its whole length. What a test measures or
 * classifies is the same everywhere.
 */
const raw = process.env.WAKEFLOW_TEST_SLOWDOWN ?? '1';
export const slowdown = Number(raw);
if (!Number.isFinite(slowdown) || slowdown < 1) {
  throw new Error(`WAKEFLOW_TEST_SLOWDOWN must be a number >= 1, not '${raw}'`);
}

/** A duration (ms or seconds) that holds here the work it holds on a real machine. */
export const scaled = (ms: number) => ms * slowdown;

/** A deadline (ms or seconds) as long as it needs to be here; unchanged on a real machine. */
export const deadline = (ms: number) => (slowdown > 1 ? ms * slowdown * 2 : ms);
