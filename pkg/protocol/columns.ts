// SPDX-License-Identifier: Apache-2.0
/*
 * Columns already in Arrow's memory layout, so the encoder hands them to
 * apache-arrow as they are: a string column is its UTF-8 bytes and offsets
 * (Utf8Column, built with Utf8Builder, which can copy bytes straight from an
 * agent's answer without making JS strings of them); numbers are typed arrays
 * (frame.ts). Big frames (the chains table, the flame graph) are built this
 * way; small ones may still use plain arrays.
 */
import { freeNow } from './free-now';

/** An Arrow Utf8 column: value i is data[offsets[i], offsets[i + 1]). Never null. */
export class Utf8Column {
  constructor(
    readonly offsets: Int32Array,
    readonly data: Uint8Array
  ) {}

  get length(): number {
    return this.offsets.length - 1;
  }

  /** Value i as a JS string (tests and small lookups; the encoder never needs it). */
  at(i: number): string {
    return Buffer.from(this.data.buffer, this.data.byteOffset, this.data.byteLength).toString(
      'utf8',
      this.offsets[i],
      this.offsets[i + 1]
    );
  }

  toArray(): string[] {
    return Array.from({ length: this.length }, (_, i) => this.at(i));
  }

  /** A column of these strings; `bytesPerValue` sizes the first allocation (it grows past it). */
  static from(values: ArrayLike<string>, bytesPerValue = 16): Utf8Column {
    const b = new Utf8Builder(values.length, values.length * bytesPerValue);
    for (let i = 0; i < values.length; i++) {
      b.push(values[i]);
    }
    return b.finish();
  }
}

const NEWLINE = 0x0a;
/** Strings up to this long are written by a JS loop while they are ASCII (measured: a thread name, a category, a frame name). */
const SHORT_STRING = 64;

/**
 * Appends values one by one. A value is either a whole JS string (push) or
 * pieces added with add*() and closed with endValue(). Grows by doubling.
 */
export class Utf8Builder {
  private offsets: Int32Array;
  private data: Buffer;
  private n = 0;
  private len = 0;

  constructor(values: number, bytesHint = values * 16) {
    this.offsets = new Int32Array(values + 1);
    this.data = Buffer.allocUnsafe(Math.max(64, bytesHint));
  }

  private room(bytes: number): void {
    if (this.len + bytes <= this.data.length) {
      return;
    }
    let cap = this.data.length * 2;
    while (cap < this.len + bytes) {
      cap *= 2;
    }
    const next = Buffer.allocUnsafe(cap);
    this.data.copy(next, 0, 0, this.len);
    // The outgrown block is the builder's alone: freed now, not at the GC's next chance (free-now.ts).
    freeNow(this.data);
    this.data = next;
  }

  /** Adds a JS string to the value being built. */
  addString(s: string): void {
    const n = s.length;
    // A UTF-16 code unit is at most 3 UTF-8 bytes.
    this.room(n * 3);
    if (n <= SHORT_STRING) {
      // Most values are short ASCII names: a loop of their code units beats Buffer.write's native call.
      const d = this.data;
      let o = this.len;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) {
          break;
        }
        d[o++] = c;
      }
      if (i === n) {
        this.len = o;
        return;
      }
      // Not ASCII: written whole below, over the bytes the loop wrote.
    }
    this.len += this.data.write(s, this.len, 'utf8');
  }

  /** Adds src[start, end) (UTF-8 already) to the value being built. */
  addBytes(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.room(n);
    const d = this.data;
    let o = this.len;
    if (n < 64) {
      // Short pieces (stack frames): a loop beats the native copy's call cost.
      for (let i = start; i < end; i++) {
        d[o++] = src[i];
      }
    } else {
      d.set(src.subarray(start, end), o);
    }
    this.len += n;
  }

  /**
   * Adds src[starts[k], ends[k]) for k in [from, to), joined by newlines (a
   * stack's frames). Frames in order within one region of src (an array of
   * an answer, `["f1", "f2"]`) are copied as that region in one native copy
   * and then moved together with copyWithin, a builtin with no call into C++
   * and no allocation: measured on 48,000 frames of ~30 bytes, 1.2 ms
   * against 2.5 ms for a byte loop and 3.0 ms for a Buffer.copy per frame.
   */
  addJoined(src: Uint8Array, starts: Int32Array, ends: Int32Array, from: number, to: number): void {
    if (from >= to) {
      return;
    }
    let bytes = to - from;
    let inOrder = true;
    for (let k = from; k < to; k++) {
      bytes += ends[k] - starts[k];
      inOrder &&= k === from || starts[k] > ends[k - 1];
    }
    const s0 = starts[from];
    const region = ends[to - 1] - s0;
    let o = this.len;
    if (!inOrder) {
      this.room(bytes);
      const d = this.data;
      for (let k = from; k < to; k++) {
        if (k > from) {
          d[o++] = NEWLINE;
        }
        for (let p = starts[k], e = ends[k]; p < e; p++) {
          d[o++] = src[p];
        }
      }
      this.len = o;
      return;
    }
    this.room(Math.max(bytes, region));
    const data = this.data;
    data.set(src.subarray(s0, s0 + region), o);
    // Frame k now starts at base + starts[k]; each moves left (never right), so copyWithin's overlap is safe.
    const base = o - s0;
    for (let k = from; k < to; k++) {
      if (k > from) {
        data[o++] = NEWLINE;
      }
      const start = base + starts[k];
      const end = base + ends[k];
      if (start !== o) {
        data.copyWithin(o, start, end);
      }
      o += end - start;
    }
    this.len = o;
  }

  addNewline(): void {
    this.room(1);
    this.data[this.len++] = NEWLINE;
  }

  /** Closes the value being built. */
  endValue(): void {
    if (this.n + 1 >= this.offsets.length) {
      const next = new Int32Array(this.offsets.length * 2);
      next.set(this.offsets);
      this.offsets = next;
    }
    this.offsets[++this.n] = this.len;
  }

  /** One whole value. */
  push(s: string): void {
    this.addString(s);
    this.endValue();
  }

  get length(): number {
    return this.n;
  }

  /** The column (views of the builder's memory: do not use the builder afterwards). */
  finish(): Utf8Column {
    return new Utf8Column(
      this.offsets.subarray(0, this.n + 1),
      new Uint8Array(this.data.buffer, this.data.byteOffset, this.len)
    );
  }
}
