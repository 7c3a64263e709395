// SPDX-License-Identifier: Apache-2.0
/*
 * A strict pull reader of JSON bytes (RFC 8259), for the agents' big answers.
 * JSON.parse turns a 2 MB edges answer into some 100,000 objects and strings
 * that must all live until the frames are built; with three agents' answers
 * alive at once the garbage collector cost more than everything else. The
 * cursor walks the bytes instead: callers read the members they know (numbers
 * as numbers, strings as JS strings or as byte ranges to be copied later into
 * Arrow's UTF-8 buffers) and skip the rest. Everything is validated as it is
 * passed over, so an answer the cursor accepts is one JSON.parse accepts too.
 *
 *   const c = new JsonCursor(buf);
 *   c.openObject();
 *   while (c.nextKey()) {
 *     if (c.key === 'n') n = c.numberOr(0); else c.skip();
 *   }
 *   c.done();
 */
import { isUtf8 } from 'node:buffer';

export class JsonSyntaxError extends Error {}

/** Containers nested deeper than this are refused (no answer of ours comes near). */
export const MAX_DEPTH = 256;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
/** 10^0 .. 10^22, each exact in a double. */
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

/** `"` `\` `/` `b` `f` `n` `r` `t` may follow a backslash; `u` is followed by four hex digits. */
const SIMPLE_ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') {
  SIMPLE_ESCAPE[c.charCodeAt(0)] = 1;
}
const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') {
  HEX[c.charCodeAt(0)] = 1;
}

/** The JSON type of the value that starts with this byte. */
export type JsonKind = 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null';

function kindOf(c: number): JsonKind | undefined {
  if (c === OPEN_OBJECT) {
    return 'object';
  }
  if (c === OPEN_ARRAY) {
    return 'array';
  }
  if (c === QUOTE) {
    return 'string';
  }
  if (c === MINUS || (c >= ZERO && c <= NINE)) {
    return 'number';
  }
  if (c === 0x74 || c === 0x66) {
    return 'boolean';
  }
  if (c === 0x6e) {
    return 'null';
  }
  return undefined;
}

/** Answer bytes the cursor can take: valid UTF-8, or decoded with replacement characters as Buffer.toString does. */
export function utf8Bytes(buf: Buffer): Buffer {
  return isUtf8(buf) ? buf : Buffer.from(buf.toString('utf8'), 'utf8');
}

/**
 * Strings decoded from byte ranges, one string for equal bytes: answers
 * repeat a few keys and a few hundred stack frames thousands of times, so
 * each is decoded once, found again by a hash of its bytes, and (being one
 * string) hashes once as a Map key. ASCII ranges only; others are decoded
 * each time (rare: C++ symbols and comms are ASCII). Ranges must not hold
 * escapes.
 */
export class TextInterner {
  private byHash = new Map<number, string>();

  /** `make` turns a new decoded string into the one kept (internedKey for property names). */
  constructor(private readonly make: (text: string) => string = (text) => text) {}

  text(src: Buffer, start: number, end: number): string {
    let h = end - start;
    let any = 0;
    for (let p = start; p < end; p++) {
      const c = src[p];
      any |= c;
      h = (Math.imul(h, 31) + c) | 0;
    }
    if (any >= 0x80) {
      return src.toString('utf8', start, end);
    }
    const known = this.byHash.get(h);
    if (known !== undefined && known.length === end - start) {
      let same = true;
      for (let i = 0; i < known.length; i++) {
        if (known.charCodeAt(i) !== src[start + i]) {
          same = false;
          break;
        }
      }
      if (same) {
        return known;
      }
    }
    // A hash collision replaces the earlier string: still correct, only decoded again.
    const text = this.make(src.toString('latin1', start, end));
    this.byHash.set(h, text);
    return text;
  }
}

/**
 * The engine's own copy of a name (a property key is internalized):
 * comparing it with a string literal (`c.key === 'edges'`) is then a pointer comparison.
 */
const internedKey = (text: string) => Object.keys({ [text]: 0 })[0];

export class JsonCursor {
  /** Offset of the next byte to read. */
  pos = 0;
  /** The key nextKey() just read. */
  key = '';
  /** The string stringRange() just passed: its content is buf[start, end) (without quotes). */
  start = 0;
  end = 0;
  /** Whether that string holds escapes (its bytes are then not its value). */
  escaped = false;
  /** Whether that string holds bytes above 0x7f (UTF-8 sequences). */
  private wide = false;
  /** Set by openObject/openArray until the first member or element is asked for. */
  private fresh = false;
  private depth = 0;
  /** Keys seen (keyText). */
  private keys = new TextInterner(internedKey);

  /** `buf` must be valid UTF-8 (see utf8Bytes). */
  constructor(readonly buf: Buffer) {}

  fail(what: string): never {
    throw new JsonSyntaxError(`${what} at byte ${this.pos}`);
  }

  /** Skips whitespace; the next byte, or -1 at the end. */
  peek(): number {
    const b = this.buf;
    let p = this.pos;
    while (p < b.length) {
      const c = b[p];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
        p++;
      } else {
        this.pos = p;
        return c;
      }
    }
    this.pos = p;
    return -1;
  }

  /** The kind of the next value (after whitespace); fails on a byte no value starts with. */
  kind(): JsonKind {
    const k = kindOf(this.peek());
    if (k === undefined) {
      this.fail(this.pos >= this.buf.length ? 'unexpected end' : 'expected a value');
    }
    return k;
  }

  /** Nothing but whitespace may follow the top-level value. */
  done(): void {
    if (this.peek() !== -1) {
      this.fail('unexpected data after the value');
    }
  }

  /* --- containers ------------------------------------------------------ */

  /** Consumes `{`; then `while (c.nextKey()) { ...read or skip the value... }`. */
  openObject(): void {
    if (this.peek() !== OPEN_OBJECT) {
      this.fail('expected an object');
    }
    this.enter();
  }

  /** Consumes `[`; then `while (c.nextItem()) { ...read or skip the value... }`. */
  openArray(): void {
    if (this.peek() !== OPEN_ARRAY) {
      this.fail('expected an array');
    }
    this.enter();
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) {
      this.fail(`containers nested deeper than ${MAX_DEPTH}`);
    }
    this.pos++;
    this.fresh = true;
  }

  /**
   * The next member's key (in `key`), positioned at its value; false (and
   * the `}` consumed) when the object ends. The value must be read or
   * skipped before the next call.
   */
  nextKey(): boolean {
    if (!this.more(CLOSE_OBJECT)) {
      return false;
    }
    if (this.peek() !== QUOTE) {
      this.fail('expected a key');
    }
    this.stringRange();
    this.key = this.keyText();
    if (this.peek() !== COLON) {
      this.fail("expected ':'");
    }
    this.pos++;
    return true;
  }

  /** Positioned at the next element; false (and the `]` consumed) when the array ends. */
  nextItem(): boolean {
    return this.more(CLOSE_ARRAY);
  }

  /**
   * In an array (after openArray or an element): the elements that follow
   * and are plain strings (no escapes, nothing between tokens) read in one
   * tight loop, each range given to sink.addFrame(start, end). Stops before
   * anything else, where nextItem() and the other calls go on as usual (a
   * stack is some fifty such strings; token by token they cost more than
   * their bytes). What it passes over is what stringRange would accept.
   */
  plainStrings(sink: { addFrame(start: number, end: number): void }): void {
    const b = this.buf;
    let p = this.pos;
    let fresh = this.fresh;
    for (;;) {
      let q = p;
      if (!fresh) {
        if (b[q] !== COMMA) {
          break;
        }
        q++;
      }
      if (b[q] !== QUOTE) {
        break;
      }
      const start = ++q;
      let c = b[q];
      // Past the end b[q] is undefined: every test below is false and the loop stops.
      while (c !== QUOTE && c !== BACKSLASH && c >= 0x20) {
        c = b[++q];
      }
      if (c !== QUOTE) {
        break;
      }
      sink.addFrame(start, q);
      p = q + 1;
      fresh = false;
    }
    this.pos = p;
    this.fresh = fresh;
  }

  private more(close: number): boolean {
    const c = this.peek();
    if (this.fresh) {
      this.fresh = false;
      if (c === close) {
        this.pos++;
        this.depth--;
        return false;
      }
      return true;
    }
    if (c === close) {
      this.pos++;
      this.depth--;
      return false;
    }
    if (c !== COMMA) {
      this.fail(close === CLOSE_OBJECT ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    this.pos++;
    return true;
  }

  /* --- scalars ----------------------------------------------------------- */

  /** Passes over a string, leaving its content's range in start/end and whether it is escaped. */
  stringRange(): void {
    const b = this.buf;
    if (this.peek() !== QUOTE) {
      this.fail('expected a string');
    }
    let p = this.pos + 1;
    let escaped = false;
    let wide = 0;
    for (;;) {
      if (p >= b.length) {
        this.pos = p;
        this.fail('unterminated string');
      }
      const c = b[p];
      if (c === QUOTE) {
        break;
      }
      if (c === BACKSLASH) {
        escaped = true;
        const e = b[p + 1];
        if (e === 0x75) {
          if (!(HEX[b[p + 2]] && HEX[b[p + 3]] && HEX[b[p + 4]] && HEX[b[p + 5]])) {
            this.pos = p;
            this.fail('bad \\u escape');
          }
          p += 6;
        } else if (SIMPLE_ESCAPE[e]) {
          p += 2;
        } else {
          this.pos = p;
          this.fail('bad escape');
        }
      } else if (c < 0x20) {
        this.pos = p;
        this.fail('control character in a string');
      } else {
        wide |= c;
        p++;
      }
    }
    this.start = this.pos + 1;
    this.end = p;
    this.escaped = escaped;
    this.wide = wide >= 0x80;
    this.pos = p + 1;
  }

  /**
   * The key stringRange() just passed. Answers repeat a few keys thousands
   * of times: each is decoded once and found again by its bytes.
   */
  private keyText(): string {
    if (this.escaped || this.end - this.start > 32) {
      return this.decodeRange();
    }
    return this.keys.text(this.buf, this.start, this.end);
  }

  /** The value of the string stringRange() just passed. */
  decodeRange(): string {
    if (this.escaped) {
      // Rare (agents escape only quotes, backslashes and control characters): JSON.parse knows every escape.
      return JSON.parse(this.buf.toString('utf8', this.start - 1, this.end + 1)) as string;
    }
    return this.wide
      ? this.buf.toString('utf8', this.start, this.end)
      : this.buf.toString('latin1', this.start, this.end);
  }

  /** A string's value. */
  string(): string {
    this.stringRange();
    return this.decodeRange();
  }

  /** A number's value. */
  number(): number {
    const b = this.buf;
    this.peek();
    const s = this.pos;
    let p = s;
    if (b[p] === MINUS) {
      p++;
    }
    // The digits as one integer m (exact while it has at most 15 significant digits), and how many were fractional.
    let m = 0;
    let significant = 0;
    const first = b[p];
    if (first === ZERO) {
      p++;
    } else if (first > ZERO && first <= NINE) {
      while (p < b.length && b[p] >= ZERO && b[p] <= NINE) {
        m = m * 10 + (b[p] - ZERO);
        p++;
        significant++;
      }
    } else {
      this.fail('expected a number');
    }
    let scale = 0;
    if (b[p] === DOT) {
      const d = ++p;
      while (p < b.length && b[p] >= ZERO && b[p] <= NINE) {
        m = m * 10 + (b[p] - ZERO);
        if (m !== 0) {
          significant++;
        }
        p++;
      }
      if (p === d) {
        this.pos = p;
        this.fail('expected a digit after the decimal point');
      }
      scale = d - p;
    }
    if (b[p] === 0x65 || b[p] === 0x45) {
      p++;
      let negative = false;
      if (b[p] === PLUS || b[p] === MINUS) {
        negative = b[p] === MINUS;
        p++;
      }
      const d = p;
      let e = 0;
      while (p < b.length && b[p] >= ZERO && b[p] <= NINE) {
        e = e < 1e6 ? e * 10 + (b[p] - ZERO) : e;
        p++;
      }
      if (p === d) {
        this.pos = p;
        this.fail('expected a digit in the exponent');
      }
      scale += negative ? -e : e;
    }
    this.pos = p;
    // m is exact (at most 15 digits) and so is 10^|scale| up to 10^22: one
    // division or product of exact operands is correctly rounded, which is
    // what JSON.parse gives (Clinger's fast path). Anything else goes to the
    // engine's own conversion.
    if (significant <= 15 && scale >= -22 && scale <= 22) {
      const v = scale < 0 ? m / POW10[-scale] : m * POW10[scale];
      return b[s] === MINUS ? -v : v;
    }
    return Number(b.toString('latin1', s, p));
  }

  private literal(text: string, value: boolean | null): boolean | null {
    const b = this.buf;
    const p = this.pos;
    for (let i = 0; i < text.length; i++) {
      if (b[p + i] !== text.charCodeAt(i)) {
        this.fail(`expected ${text}`);
      }
    }
    this.pos = p + text.length;
    return value;
  }

  /** true, false or null. */
  private literalValue(c: number): boolean | null {
    return c === 0x74
      ? this.literal('true', true)
      : c === 0x66
        ? this.literal('false', false)
        : this.literal('null', null);
  }

  /* --- defensive reads: a value of another type is skipped and the default returned --- */

  /** A number, or `dflt` when the value is not a number. */
  numberOr<D>(dflt: D): number | D {
    return this.kind() === 'number' ? this.number() : (this.skip(), dflt);
  }

  /** A string, or `dflt` when the value is not a string. */
  stringOr<D>(dflt: D): string | D {
    return this.kind() === 'string' ? this.string() : (this.skip(), dflt);
  }

  /** true only for the literal true. */
  isTrue(): boolean {
    const k = this.kind();
    if (k === 'boolean') {
      return this.literalValue(this.buf[this.pos]) === true;
    }
    this.skip();
    return false;
  }

  /** The JS value of whatever comes next (JSON.parse of its bytes): for small sub-values read whole. */
  value(): unknown {
    this.peek();
    const s = this.pos;
    this.skip();
    return JSON.parse(this.buf.toString('utf8', s, this.pos));
  }

  /** The next value's bytes [start, pos) after skipping it. */
  rawRange(): [number, number] {
    this.peek();
    const s = this.pos;
    this.skip();
    return [s, this.pos];
  }

  /** Passes over one value of any kind, validating it, without recursion. */
  skip(): void {
    // Open containers: 1 = object, 2 = array (a small stack, not recursion).
    const open: number[] = [];
    for (;;) {
      const c = this.peek();
      if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        if (this.depth + open.length + 1 > MAX_DEPTH) {
          this.fail(`containers nested deeper than ${MAX_DEPTH}`);
        }
        this.pos++;
        const close = c === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY;
        if (this.peek() === close) {
          this.pos++;
        } else {
          open.push(c === OPEN_OBJECT ? 1 : 2);
          if (c === OPEN_OBJECT) {
            this.memberKey();
          }
          continue;
        }
      } else if (c === QUOTE) {
        this.stringRange();
      } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
        this.number();
      } else if (c === 0x74 || c === 0x66 || c === 0x6e) {
        this.literalValue(c);
      } else {
        this.fail(c === -1 ? 'unexpected end' : 'expected a value');
      }
      // After a value: close what ends here, or step to the next member or element.
      for (;;) {
        if (open.length === 0) {
          return;
        }
        const top = open[open.length - 1];
        const n = this.peek();
        if (n === COMMA) {
          this.pos++;
          if (top === 1) {
            this.memberKey();
          }
          break;
        }
        if (n === (top === 1 ? CLOSE_OBJECT : CLOSE_ARRAY)) {
          this.pos++;
          open.pop();
          continue;
        }
        this.fail(top === 1 ? "expected ',' or '}'" : "expected ',' or ']'");
      }
    }
  }

  /** A key and its colon, inside skip(). */
  private memberKey(): void {
    if (this.peek() !== QUOTE) {
      this.fail('expected a key');
    }
    this.stringRange();
    if (this.peek() !== COLON) {
      this.fail("expected ':'");
    }
    this.pos++;
  }
}

/**
 * Reads a whole answer: a top-level object whose members `member` reads or
 * skips (the cursor positioned at each value, `c.key` its key), and nothing
 * after it. False when the bytes are not a JSON object: an agent's answer is
 * one, so anything else is "not a wakeflow agent" to the caller, never an
 * exception (the bytes come from the network). `body` may be any bytes.
 */
export function readAnswer(body: Buffer, member: (c: JsonCursor) => void): boolean {
  const c = new JsonCursor(utf8Bytes(body));
  try {
    if (c.kind() !== 'object') {
      return false;
    }
    c.openObject();
    while (c.nextKey()) {
      member(c);
    }
    c.done();
    return true;
  } catch (e) {
    if (e instanceof JsonSyntaxError) {
      return false;
    }
    throw e;
  }
}
