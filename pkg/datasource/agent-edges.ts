// SPDX-License-Identifier: Apache-2.0
/*
 * /api/v1/edges answers, read from their bytes into columns (EdgeBatch)
 * rather than into an object per edge. An agent answers up to 1,000 edges of
 * ~2 KB each, most of it the two stacks; of three agents' answers only the
 * merged top N reach the frames. So numbers are read at once (the sort keys
 * among them), while strings stay byte ranges of the answer until a frame
 * needs them: stacks are copied from those bytes into the frames' UTF-8
 * columns, small strings are decoded for the edges that made the cut.
 *
 * Every value is read as defensively as before: a field of the wrong type
 * becomes its empty value (docs/backend.md), exactly what
 * normaliseEdge(JSON.parse(...)) gives, which the tests check.
 */
import { Utf8Builder } from '../protocol/columns';
import { JsonCursor, TextInterner, readAnswer } from './json-cursor';

/** A string member's bytes in the answer: start, end; start -1 when absent or not a string; end < 0 when escaped (~end). */
class StringRefs {
  start: Int32Array;
  end: Int32Array;
  constructor(cap: number) {
    this.start = new Int32Array(cap).fill(-1);
    this.end = new Int32Array(cap);
  }
  grow(cap: number): void {
    const s = new Int32Array(cap).fill(-1);
    s.set(this.start);
    const e = new Int32Array(cap);
    e.set(this.end);
    this.start = s;
    this.end = e;
  }
}

function grown<T extends Float64Array | Int32Array | Uint8Array>(a: T, cap: number, fill?: number): T {
  const b = new (a.constructor as new (n: number) => T)(cap);
  if (fill !== undefined) {
    b.fill(fill);
  }
  b.set(a);
  return b;
}

const STRING_FIELDS = [
  'wakerComm',
  'wakerProc',
  'wakerContext',
  'targetComm',
  'targetProc',
  'targetRole',
  'kind',
  'category',
  'activity',
  'preemptorComm',
] as const;
type StringField = (typeof STRING_FIELDS)[number];

const NUMBER_FIELDS = [
  'id',
  'count',
  'offcpuUs',
  'offcpuMaxUs',
  'runqUs',
  'wakerPid',
  'wakerTid',
  'targetPid',
  'targetTid',
  'wakerKernelFrames',
  'targetKernelFrames',
  'firstSeenMs',
  'lastSeenMs',
] as const;
type NumberField = (typeof NUMBER_FIELDS)[number];

/** Members read whole (JSON.parse of their bytes) when a frame needs them: small and rare. */
const RAW_FIELDS = ['facts', 'explanation', 'labels'] as const;
type RawField = (typeof RAW_FIELDS)[number];

export type StackSide = 'waker' | 'target';

type Json = Record<string, unknown>;
export const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * What a member that should be a string shows when an agent sent something
 * else: its JSON text. Not String(): a parsed object with a "toString"
 * member ({"toString": false}) makes String() throw, and one bad frame must
 * not fail the whole answer.
 */
export const textOf = (x: unknown): string => (typeof x === 'string' ? x : JSON.stringify(x));

/** A list of strings; a member that is not a string becomes its JSON text. */
export const strList = (v: unknown): string[] => (Array.isArray(v) ? v.map(textOf) : []);

export function labelsOf(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObj(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === 'string' || typeof x === 'number') {
        out[k] = String(x);
      }
    }
  }
  return out;
}

/** labels: string or number members (numbers as String gives them); a value that is not an object is no labels. */
export function readLabels(c: JsonCursor): Record<string, string> {
  const out: Record<string, string> = {};
  if (c.kind() !== 'object') {
    c.skip();
    return out;
  }
  c.openObject();
  while (c.nextKey()) {
    const k = c.key;
    const kind = c.kind();
    if (kind === 'string') {
      out[k] = c.string();
    } else if (kind === 'number') {
      out[k] = String(c.number());
    } else {
      c.skip();
      // A repeated key of another type removes the earlier value, as JSON.parse would.
      delete out[k];
    }
  }
  return out;
}

/** Defaults of the string members that must not be empty. */
const STRING_DEFAULTS: Partial<Record<StringField, string>> = {
  wakerContext: 'unknown',
  targetRole: 'other',
  kind: 'unknown',
  category: 'other',
};

/** The agent's edges of one answer, column by column. Row i is the answer's i-th edge object. */
export class EdgeBatch {
  length = 0;
  private cap: number;
  readonly num = {} as Record<NumberField, Float64Array>;
  readonly strs = {} as Record<StringField, StringRefs>;
  readonly raw = {} as Record<RawField, StringRefs>;
  stacksSampled: Uint8Array;
  /** 1 where the edge's preemptor is an object. */
  preemptor: Uint8Array;
  /** Stack frames: row i's waker stack is frames [wakerFrom[i], wakerTo[i]) of frameStart/frameEnd. */
  wakerFrom: Int32Array;
  wakerTo: Int32Array;
  targetFrom: Int32Array;
  targetTo: Int32Array;
  frameStart: Int32Array;
  frameEnd: Int32Array;
  frames = 0;
  /** Frames that were not strings in the answer, as String() made them (frameStart is -1 there). */
  private oddFrames = new Map<number, string>();

  /** `rows`: how many edges are expected (the columns grow past it by doubling). */
  constructor(
    readonly buf: Buffer,
    rows = 256
  ) {
    // At least 16, so that doubling always grows (and a NaN or 0 hint cannot make columns that never do).
    const cap = Math.max(16, Math.floor(rows) || 0);
    this.cap = cap;
    for (const k of NUMBER_FIELDS) {
      this.num[k] = new Float64Array(cap);
    }
    for (const k of STRING_FIELDS) {
      this.strs[k] = new StringRefs(cap);
    }
    for (const k of RAW_FIELDS) {
      this.raw[k] = new StringRefs(cap);
    }
    this.stacksSampled = new Uint8Array(cap);
    this.preemptor = new Uint8Array(cap);
    this.wakerFrom = new Int32Array(cap);
    this.wakerTo = new Int32Array(cap);
    this.targetFrom = new Int32Array(cap);
    this.targetTo = new Int32Array(cap);
    this.frameStart = new Int32Array(cap * 48);
    this.frameEnd = new Int32Array(cap * 48);
  }

  /** Adds a row with every member at its empty value; returns its index. */
  addRow(): number {
    if (this.length === this.cap) {
      const cap = this.cap * 2;
      for (const k of NUMBER_FIELDS) {
        this.num[k] = grown(this.num[k], cap);
      }
      for (const k of STRING_FIELDS) {
        this.strs[k].grow(cap);
      }
      for (const k of RAW_FIELDS) {
        this.raw[k].grow(cap);
      }
      this.stacksSampled = grown(this.stacksSampled, cap);
      this.preemptor = grown(this.preemptor, cap);
      this.wakerFrom = grown(this.wakerFrom, cap);
      this.wakerTo = grown(this.wakerTo, cap);
      this.targetFrom = grown(this.targetFrom, cap);
      this.targetTo = grown(this.targetTo, cap);
      this.cap = cap;
    }
    const i = this.length++;
    for (const k of NULLABLE_NUMBERS) {
      this.num[k][i] = NaN;
    }
    return i;
  }

  addFrame(start: number, end: number): void {
    if (this.frames === this.frameStart.length) {
      this.frameStart = grown(this.frameStart, this.frames * 2);
      this.frameEnd = grown(this.frameEnd, this.frames * 2);
    }
    this.frameStart[this.frames] = start;
    this.frameEnd[this.frames++] = end;
  }

  addOddFrame(text: string): void {
    this.oddFrames.set(this.frames, text);
    this.addFrame(-1, 0);
  }

  /* --- reading rows back -------------------------------------------- */

  private decode(start: number, end: number): string {
    if (start < 0) {
      return '';
    }
    return end < 0
      ? (JSON.parse(this.buf.toString('utf8', start - 1, ~end + 1)) as string)
      : this.buf.toString('utf8', start, end);
  }

  /** A string member of row i, with the defaults normaliseEdge gives (an empty context is `unknown`, ...). */
  string(f: StringField, i: number): string {
    const s = this.decode(this.strs[f].start[i], this.strs[f].end[i]);
    if (f === 'activity') {
      return s === 'none' ? '' : s;
    }
    return s || STRING_DEFAULTS[f] || '';
  }

  /** A sub-value of row i read whole, or undefined when absent. */
  rawValue(f: RawField, i: number): unknown {
    const s = this.raw[f].start[i];
    return s < 0 ? undefined : JSON.parse(this.buf.toString('utf8', s, this.raw[f].end[i]));
  }

  labels(i: number): Record<string, string> {
    const s = this.raw.labels.start[i];
    if (s < 0) {
      return {};
    }
    this.cursor ??= new JsonCursor(this.buf);
    this.cursor.pos = s;
    return readLabels(this.cursor);
  }

  facts(i: number): string[] {
    const s = this.raw.facts.start[i];
    // Most edges have none: `[]` needs no parsing.
    if (s < 0 || (this.raw.facts.end[i] - s === 2 && this.buf[s] === 0x5b && this.buf[s + 1] === 0x5d)) {
      return [];
    }
    return strList(this.rawValue('facts', i));
  }

  /**
   * The agent's explanation as it sent it (JSON text), when it is an object;
   * otherwise empty. Copied, not re-encoded: the panel reads it defensively.
   */
  explanationJson(i: number): string {
    const s = this.raw.explanation.start[i];
    return s >= 0 && this.buf[s] === 0x7b ? this.buf.toString('utf8', s, this.raw.explanation.end[i]) : '';
  }

  /** Reads labels of rows (one cursor, its key cache shared). */
  private cursor: JsonCursor | undefined;

  hasPreemptor(i: number): boolean {
    return this.preemptor[i] === 1;
  }

  private stackRange(side: StackSide, i: number): [number, number] {
    return side === 'waker' ? [this.wakerFrom[i], this.wakerTo[i]] : [this.targetFrom[i], this.targetTo[i]];
  }

  /** Row i's stack as strings, innermost frame first. */
  stack(side: StackSide, i: number): string[] {
    const [from, to] = this.stackRange(side, i);
    const out = new Array<string>(to - from);
    for (let f = from; f < to; f++) {
      out[f - from] = this.frameText(f);
    }
    return out;
  }

  stackDepth(side: StackSide, i: number): number {
    const [from, to] = this.stackRange(side, i);
    return to - from;
  }

  frameText(f: number): string {
    const s = this.frameStart[f];
    return s === -1 ? (this.oddFrames.get(f) ?? '') : this.decode(s, this.frameEnd[f]);
  }

  /**
   * Frame f's text, the same string for the same frame across edges and
   * agents (`names` is shared by the caller): the flame graph meets each of
   * a few hundred distinct frames thousands of times.
   */
  frameName(f: number, names: TextInterner): string {
    const s = this.frameStart[f];
    const e = this.frameEnd[f];
    return s >= 0 && e >= 0 ? names.text(this.buf, s, e) : this.frameText(f);
  }

  /** Appends row i's stack, frames joined by newlines, to the value being built (bytes copied, not decoded). */
  appendStack(b: Utf8Builder, side: StackSide, i: number): void {
    const [from, to] = this.stackRange(side, i);
    if (this.plainFrames(from, to)) {
      b.addJoined(this.buf, this.frameStart, this.frameEnd, from, to);
      return;
    }
    for (let f = from; f < to; f++) {
      if (f > from) {
        b.addNewline();
      }
      b.addString(this.frameText(f));
    }
  }

  /** Frames [from, to) are strings without escapes: their bytes are their UTF-8. */
  private plainFrames(from: number, to: number): boolean {
    for (let f = from; f < to; f++) {
      if (this.frameStart[f] < 0 || this.frameEnd[f] < 0) {
        return false;
      }
    }
    return true;
  }
}

const NULLABLE_NUMBERS: readonly NumberField[] = [
  'offcpuMaxUs',
  'wakerPid',
  'wakerTid',
  'targetPid',
  'targetTid',
  'wakerKernelFrames',
  'targetKernelFrames',
];

/* --- reading an answer ------------------------------------------------- */

/** A finite number, or `dflt` for anything else (another type, or 1e400 which reads as Infinity). */
export function finiteOr(c: JsonCursor, dflt: number): number {
  const v = c.numberOr(dflt);
  return Number.isFinite(v) ? v : dflt;
}

function stringRef(c: JsonCursor, refs: StringRefs, i: number): void {
  if (c.kind() === 'string') {
    c.stringRange();
    refs.start[i] = c.start;
    refs.end[i] = c.escaped ? ~c.end : c.end;
  } else {
    c.skip();
    refs.start[i] = -1;
  }
}

function rawRef(c: JsonCursor, refs: StringRefs, i: number): void {
  const [s, e] = c.rawRange();
  refs.start[i] = s;
  refs.end[i] = e;
}

const TASK_FIELDS = {
  waker: { comm: 'wakerComm', proc: 'wakerProc', pid: 'wakerPid', tid: 'wakerTid', extra: 'wakerContext' },
  target: { comm: 'targetComm', proc: 'targetProc', pid: 'targetPid', tid: 'targetTid', extra: 'targetRole' },
} as const;

/** waker or target: {comm, proc, pid, tid} and context or role. A value that is not an object leaves them empty. */
function readTask(c: JsonCursor, b: EdgeBatch, i: number, which: 'waker' | 'target'): void {
  const f = TASK_FIELDS[which];
  // A repeated member replaces the whole object, as in JSON.parse.
  for (const k of [f.comm, f.proc, f.extra]) {
    b.strs[k].start[i] = -1;
  }
  b.num[f.pid][i] = NaN;
  b.num[f.tid][i] = NaN;
  if (c.kind() !== 'object') {
    c.skip();
    return;
  }
  const extraKey = which === 'waker' ? 'context' : 'role';
  c.openObject();
  while (c.nextKey()) {
    const k = c.key;
    if (k === 'comm') {
      stringRef(c, b.strs[f.comm], i);
    } else if (k === 'proc') {
      stringRef(c, b.strs[f.proc], i);
    } else if (k === 'pid') {
      b.num[f.pid][i] = finiteOr(c, NaN);
    } else if (k === 'tid') {
      b.num[f.tid][i] = finiteOr(c, NaN);
    } else if (k === extraKey) {
      stringRef(c, b.strs[f.extra], i);
    } else {
      c.skip();
    }
  }
}

function readPreemptor(c: JsonCursor, b: EdgeBatch, i: number): void {
  b.strs.preemptorComm.start[i] = -1;
  b.preemptor[i] = 0;
  if (c.kind() !== 'object') {
    c.skip();
    return;
  }
  b.preemptor[i] = 1;
  c.openObject();
  while (c.nextKey()) {
    if (c.key === 'comm') {
      stringRef(c, b.strs.preemptorComm, i);
    } else {
      c.skip();
    }
  }
}

function readStack(c: JsonCursor, b: EdgeBatch, i: number, side: StackSide): void {
  const from = b.frames;
  if (c.kind() === 'array') {
    c.openArray();
    // Plain frames in one loop; anything else (an escape, a non-string, whitespace) element by element.
    for (c.plainStrings(b); c.nextItem(); c.plainStrings(b)) {
      if (c.kind() === 'string') {
        c.stringRange();
        b.addFrame(c.start, c.escaped ? ~c.end : c.end);
      } else {
        b.addOddFrame(textOf(c.value()));
      }
    }
  } else {
    c.skip();
  }
  if (side === 'waker') {
    b.wakerFrom[i] = from;
    b.wakerTo[i] = b.frames;
  } else {
    b.targetFrom[i] = from;
    b.targetTo[i] = b.frames;
  }
}

/** An edge's number members: the column each goes to, and what a missing or odd one is (NaN: null). */
const EDGE_NUMBERS = new Map<string, [NumberField, number]>([
  ['id', ['id', 0]],
  ['count', ['count', 0]],
  ['offcpu_us', ['offcpuUs', 0]],
  ['offcpu_max_us', ['offcpuMaxUs', NaN]],
  ['runq_us', ['runqUs', 0]],
  ['waker_stack_kernel_frames', ['wakerKernelFrames', NaN]],
  ['target_stack_kernel_frames', ['targetKernelFrames', NaN]],
  ['first_seen_ms', ['firstSeenMs', 0]],
  ['last_seen_ms', ['lastSeenMs', 0]],
]);
/** An edge's string members read as byte ranges, and those kept as raw JSON. */
const EDGE_STRINGS = new Map<string, StringField>([
  ['kind', 'kind'],
  ['category', 'category'],
  ['activity', 'activity'],
]);
const EDGE_RAW = new Map<string, RawField>(RAW_FIELDS.map((f) => [f, f]));

function readEdge(c: JsonCursor, b: EdgeBatch): void {
  const i = b.addRow();
  c.openObject();
  while (c.nextKey()) {
    const k = c.key;
    const number = EDGE_NUMBERS.get(k);
    const string = number ? undefined : EDGE_STRINGS.get(k);
    const raw = number || string ? undefined : EDGE_RAW.get(k);
    if (number) {
      b.num[number[0]][i] = finiteOr(c, number[1]);
    } else if (string) {
      stringRef(c, b.strs[string], i);
    } else if (raw) {
      rawRef(c, b.raw[raw], i);
    } else if (k === 'waker' || k === 'target') {
      readTask(c, b, i, k);
    } else if (k === 'waker_stack' || k === 'target_stack') {
      readStack(c, b, i, k === 'waker_stack' ? 'waker' : 'target');
    } else if (k === 'preemptor') {
      readPreemptor(c, b, i);
    } else if (k === 'stacks_sampled') {
      b.stacksSampled[i] = c.isTrue() ? 1 : 0;
    } else {
      c.skip();
    }
  }
}

export interface EdgesAnswer {
  matched: number;
  edges: EdgeBatch;
  warning: string;
}

/**
 * An edges answer's bytes (any bytes), or undefined when they are not a
 * wakeflow agent's edges answer (not JSON, or no `edges` array).
 */
export function readEdgesAnswer(body: Buffer, expected = 256): EdgesAnswer | undefined {
  let matched = 0;
  let warning = '';
  let edges: EdgeBatch | undefined;
  const json = readAnswer(body, (c) => {
    if (c.key === 'edges') {
      // A repeated member counts once, the last one (as in JSON.parse).
      edges = undefined;
      if (c.kind() !== 'array') {
        c.skip();
        return;
      }
      edges = new EdgeBatch(c.buf, expected);
      c.openArray();
      while (c.nextItem()) {
        if (c.kind() === 'object') {
          readEdge(c, edges);
        } else {
          c.skip();
        }
      }
    } else if (c.key === 'matched') {
      matched = finiteOr(c, 0);
    } else if (c.key === 'warning') {
      warning = c.stringOr('');
    } else {
      c.skip();
    }
  });
  return json && edges ? { matched, edges, warning } : undefined;
}
