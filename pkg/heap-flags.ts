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
 *
 * --heap-growing-percent=100: after each major GC the old generation may
 * grow to twice what survived before the next one starts, where V8's own
 * factor, chosen from its GC and mutator speeds, reached up to 4 here. The
 * answers' Buffer objects are promoted before they die, and the blocks they
 * hold (glibc's heap, not V8's) are freed only by a major GC: with the
 * smaller factor it comes sooner. What free-now.ts frees explicitly does not
 * wait for it; the rest (grpc-js's framed copy of each answer, the Arrow
 * writer's pieces, socket chunks) does. Read at every major GC, so it acts
 * when set here. Costs a few ms of CPU per query (more major GCs); the
 * figures are in docs/performance.md, "The backend's peak RSS".
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_FLAGS = ['--semi-space-growth-factor=1', '--heap-growing-percent=100'];

for (const f of HEAP_FLAGS) {
  setFlagsFromString(f);
}
