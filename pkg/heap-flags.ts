// SPDX-License-Identifier: Apache-2.0
/*
 * V8 flags the backend sets on itself, first thing: Grafana starts the
 * executable with no command-line options and no NODE_OPTIONS, and a Node 20
 * single executable application carries none, so what the process needs it
 * sets here, before any query allocates.
 *
 * --semi-space-growth-factor=1: the young generation stays at its first
 * size (1 MiB a semi-space) instead of doubling up to 16 MiB under the
 * answers' many short-lived objects. That is up to 30 MiB of heap pages less,
 * and the dead Buffers of the agents' answers (held in glibc's heap, not
 * V8's) are freed at the next scavenge, which now comes every MiB of young
 * objects rather than every 16. In the bench (three queries over three
 * agents, 3 x 8 rounds each way) the peak RSS fell from 137-153 to
 * 128-132 MiB; the cost is 1-2 ms more CPU per categories query (more
 * scavenges), nothing measurable on chains (docs/performance.md, "Backend
 * memory and categories"). The one V8 flag of this kind that still acts
 * once the heap is set up: --max-semi-space-size set here is ignored.
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_FLAGS = ['--semi-space-growth-factor=1'];

for (const f of HEAP_FLAGS) {
  setFlagsFromString(f);
}
