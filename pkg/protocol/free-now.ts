// SPDX-License-Identifier: Apache-2.0
/*
 * Frees a big buffer the moment the backend is done with it, instead of
 * when V8 collects the Buffer object that holds it. An agent's answer or a
 * frame's bytes is one malloc'd block of 0.1-2 MB held by a small object on
 * V8's heap. By the end of a query that object has been promoted to the old
 * generation, and under the answers' allocation rate V8's incremental
 * marking is nearly always running (a major GC every 0.1-0.5 s in the
 * bench), so a block that dies while a marking cycle runs outlives it and
 * is freed only after the next one. With three queries in flight ~60 MiB of
 * glibc heap was such blocks (docs/performance.md, "The backend's peak RSS").
 *
 * structuredClone with `transfer` detaches the ArrayBuffer (the standard way
 * to take a backing store from it; Node 20 has no
 * ArrayBuffer.prototype.transfer): its views read as empty from then on, and
 * the block belongs to the clone, a new young object that nothing holds,
 * freed at the next scavenge (every MiB of allocation: heap-flags.ts).
 */

/**
 * Frees the memory under `view` now: its whole ArrayBuffer, which the caller
 * owns (nothing reads it, through this view or any other, afterwards). A
 * buffer of up to Buffer.poolSize (8 KiB) is left to the GC: it may be
 * Node's pool, shared by every small Buffer, and is not worth freeing early.
 * Returns whether it freed.
 */
export function freeNow(view: ArrayBufferView): boolean {
  const ab = view.buffer;
  if (!(ab instanceof ArrayBuffer) || ab.byteLength <= Buffer.poolSize) {
    return false;
  }
  structuredClone(ab, { transfer: [ab] });
  return true;
}

/** The big buffers one query owns, freed together when its answer is written. */
export class BufferLedger {
  private held: ArrayBufferView[] = [];

  keep(view: ArrayBufferView): void {
    this.held.push(view);
  }

  /** Frees every kept buffer (see freeNow) and forgets them. */
  freeAll(): void {
    for (const v of this.held) {
      freeNow(v);
    }
    this.held = [];
  }
}
