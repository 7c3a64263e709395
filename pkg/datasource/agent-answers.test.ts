// SPDX-License-Identifier: Apache-2.0
/*
 * The agents' big answers read from their bytes (json-cursor.ts,
 * agent-edges.ts, the series reader in agent-api.ts) against the plain way:
 * JSON.parse, then each value read defensively as the backend always has
 * (the reference readers below are that specification, kept from the
 * JSON.parse implementation). Property-based (fast-check, seed printed on
 * failure; FUZZ_SEED, FUZZ_RUNS): the cursor accepts exactly what JSON.parse
 * accepts and reads the same values; edges and series read the same as the
 * reference, garbage members included.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { Utf8Builder } from '../protocol/columns';
import { readSeriesAnswer } from './agent-api';
import { readEdgesAnswer } from './agent-edges';
import { JsonCursor, JsonSyntaxError, MAX_DEPTH, TextInterner, utf8Bytes } from './json-cursor';

const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const runs = Number(process.env.FUZZ_RUNS ?? 1000);
const opts = { seed, numRuns: runs };

/* --- the cursor against JSON.parse -------------------------------------- */

/** Any JSON value rebuilt through the cursor's typed reads. */
function readAny(c: JsonCursor): unknown {
  switch (c.kind()) {
    case 'object': {
      const o: Record<string, unknown> = {};
      c.openObject();
      while (c.nextKey()) {
        const k = c.key;
        // Define, not assign: "__proto__" is an ordinary key in JSON.
        Object.defineProperty(o, k, { value: readAny(c), enumerable: true, writable: true, configurable: true });
      }
      return o;
    }
    case 'array': {
      const a: unknown[] = [];
      c.openArray();
      while (c.nextItem()) {
        a.push(readAny(c));
      }
      return a;
    }
    case 'string':
      return c.string();
    case 'number':
      return c.number();
    default:
      return c.value();
  }
}

function viaCursor(text: string, how: 'read' | 'skip'): { ok: true; value?: unknown } | { ok: false } {
  const c = new JsonCursor(utf8Bytes(Buffer.from(text, 'utf8')));
  try {
    if (how === 'skip') {
      c.skip();
      c.done();
      return { ok: true };
    }
    const value = readAny(c);
    c.done();
    return { ok: true, value };
  } catch (e) {
    if (e instanceof JsonSyntaxError) {
      return { ok: false };
    }
    throw e;
  }
}

function viaParse(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

const spaced = fc
  .tuple(fc.jsonValue({ maxDepth: 4 }), fc.constantFrom(undefined, 0, 1, 2, '\t', ' \r\n'))
  .map(([v, indent]) => JSON.stringify(v, null, indent));

/** Valid JSON with a few bytes changed, inserted or removed: mostly invalid, sometimes still valid. */
const mutated = fc
  .tuple(
    spaced,
    fc.array(
      fc.record({
        at: fc.nat(),
        op: fc.constantFrom('insert', 'delete', 'replace'),
        ch: fc.constantFrom(...'{}[]":,\\ \t\n0123456789.eE+-tfnulx\u0001\u001f\u00e9'.split(''), '\\u12', '\\x'),
      }),
      { minLength: 1, maxLength: 3 }
    )
  )
  .map(([text, edits]) => {
    let s = text;
    for (const e of edits) {
      const i = s.length === 0 ? 0 : e.at % (s.length + 1);
      s =
        e.op === 'insert'
          ? s.slice(0, i) + e.ch + s.slice(i)
          : s.slice(0, i) + (e.op === 'replace' ? e.ch : '') + s.slice(i + 1);
    }
    return s;
  });

test('cursor: valid JSON reads as JSON.parse reads it, through the typed reads and through skip', () => {
  fc.assert(
    fc.property(spaced, (text) => {
      const want = viaParse(text);
      assert.ok(want.ok);
      const got = viaCursor(text, 'read');
      assert.ok(got.ok, text);
      assert.deepEqual(got.value, want.value);
      assert.ok(viaCursor(text, 'skip').ok);
    }),
    opts
  );
});

test('cursor: changed JSON is refused exactly when JSON.parse refuses it', () => {
  fc.assert(
    fc.property(mutated, (text) => {
      const want = viaParse(text);
      const got = viaCursor(text, 'read');
      assert.equal(got.ok, want.ok, `JSON.parse ${want.ok ? 'accepts' : 'refuses'} ${JSON.stringify(text)}`);
      if (got.ok && want.ok) {
        assert.deepEqual(got.value, want.value);
      }
      assert.equal(viaCursor(text, 'skip').ok, want.ok, JSON.stringify(text));
    }),
    opts
  );
});

test('cursor: numbers, escapes and odd corners as JSON.parse has them', () => {
  const cases = [
    '0',
    '-0',
    '123456789012345',
    '1234567890123456789',
    '9007199254740993',
    '1.5e3',
    '-2.5E-3',
    '1e400',
    '0.1',
    '4.0811390916666666',
    '"\\u00e9\\ud83d\\ude00\\n\\"\\\\\\/"',
    '"é😀"',
    '{"a":1,"a":2}',
    '{"__proto__":1}',
    ' [ 1 , { } , [ ] , "" ] ',
  ];
  for (const t of cases) {
    const got = viaCursor(t, 'read');
    assert.ok(got.ok, t);
    assert.deepEqual(got.value, JSON.parse(t), t);
  }
  for (const bad of [
    '',
    ' ',
    '01',
    '1.',
    '.5',
    '+1',
    '1e',
    '"a',
    '"\\q"',
    '"\u0001"',
    '[1,]',
    '{"a"}',
    '{,}',
    'tru',
    'nul',
    '[1 2]',
    '1 2',
    '\ufeff1',
  ]) {
    assert.equal(viaCursor(bad, 'read').ok, false, JSON.stringify(bad));
    assert.equal(viaCursor(bad, 'skip').ok, false, JSON.stringify(bad));
  }
  // Nesting beyond MAX_DEPTH is refused (JSON.parse would take it), without recursion either way.
  const deep = '['.repeat(MAX_DEPTH + 1) + ']'.repeat(MAX_DEPTH + 1);
  assert.equal(viaCursor(deep, 'skip').ok, false);
  assert.equal(viaCursor('['.repeat(MAX_DEPTH) + ']'.repeat(MAX_DEPTH), 'skip').ok, true);
  // Bytes that are not UTF-8 read as Buffer.toString reads them (replacement characters).
  const raw = Buffer.from([0x22, 0x61, 0xff, 0x62, 0x22]);
  assert.equal(new JsonCursor(utf8Bytes(raw)).string(), JSON.parse(raw.toString('utf8')));
});

test('cursor: decimal numbers are the doubles JSON.parse makes of them, bit for bit', () => {
  const read = (t: string) => new JsonCursor(Buffer.from(t)).number();
  // What the agent writes ("%.15g": rates, seconds per second), JS's own shortest form, and
  // hand-made decimals of up to 22 digits with exponents on both sides of the fast path's edges.
  const fromDouble = fc
    .double({ noNaN: true, noDefaultInfinity: true })
    .chain((d) =>
      fc.constantFrom(
        JSON.stringify(d),
        d.toPrecision(15),
        d.toPrecision(17),
        d.toExponential(14),
        Math.abs(d).toPrecision(1)
      )
    );
  const decimal = fc
    .tuple(
      fc.boolean(),
      fc.stringMatching(/^(0|[1-9][0-9]{0,21})$/),
      fc.option(fc.stringMatching(/^[0-9]{1,22}$/)),
      fc.option(fc.integer({ min: -340, max: 340 }))
    )
    .map(
      ([neg, int, frac, exp]) =>
        `${neg ? '-' : ''}${int}${frac === null ? '' : `.${frac}`}${exp === null ? '' : `e${exp}`}`
    );
  fc.assert(
    fc.property(fc.oneof(fromDouble, decimal), (t) => {
      assert.ok(Object.is(read(t), JSON.parse(t)), t);
    }),
    { numRuns: 20000 }
  );
  for (const t of [
    '0.1',
    '0.30000000000000004',
    '4.10538860833333',
    '1e22',
    '1e23',
    '123456789012345e-22',
    '1234567890123456e-22',
    '9.999999999999999e22',
    '5e-324',
    '-0.0',
    '0e400',
    '1.7976931348623157e308',
  ]) {
    assert.ok(Object.is(read(t), JSON.parse(t)), t);
  }
});

/* --- edges: the reference reading -------------------------------------- */

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const numOrNaN = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : NaN);
// A member that is not a string shows as its JSON text (String() throws on {"toString": false}).
const strList = (v: unknown): string[] =>
  Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))) : [];
function labelsOf(v: unknown): Record<string, string> {
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

/** What the frames must show of one edge object (the JSON.parse implementation's rules). */
function referenceEdge(e: Json) {
  const w = isObj(e.waker) ? e.waker : {};
  const t = isObj(e.target) ? e.target : {};
  const activity = str(e.activity);
  return {
    id: num(e.id),
    wakerComm: str(w.comm),
    wakerProc: str(w.proc),
    wakerPid: numOrNaN(w.pid),
    wakerTid: numOrNaN(w.tid),
    wakerContext: str(w.context) || 'unknown',
    targetComm: str(t.comm),
    targetProc: str(t.proc),
    targetPid: numOrNaN(t.pid),
    targetTid: numOrNaN(t.tid),
    targetRole: str(t.role) || 'other',
    kind: str(e.kind) || 'unknown',
    preemptor: isObj(e.preemptor) ? str(e.preemptor.comm) : '',
    category: str(e.category) || 'other',
    activity: activity === 'none' ? '' : activity,
    count: num(e.count),
    offcpuUs: num(e.offcpu_us),
    offcpuMaxUs: numOrNaN(e.offcpu_max_us),
    runqUs: num(e.runq_us),
    stacksSampled: e.stacks_sampled === true,
    wakerStack: strList(e.waker_stack),
    wakerKernelFrames: numOrNaN(e.waker_stack_kernel_frames),
    targetStack: strList(e.target_stack),
    targetKernelFrames: numOrNaN(e.target_stack_kernel_frames),
    facts: strList(e.facts),
    explanation: isObj(e.explanation) ? e.explanation : undefined,
    labels: labelsOf(e.labels),
    firstSeenMs: num(e.first_seen_ms),
    lastSeenMs: num(e.last_seen_ms),
  };
}

function readBack(text: string) {
  const a = readEdgesAnswer(Buffer.from(text, 'utf8'));
  if (!a) {
    return undefined;
  }
  const b = a.edges;
  const rows = Array.from({ length: b.length }, (_, i) => {
    const joined = new Utf8Builder(1);
    b.appendStack(joined, 'waker', i);
    joined.endValue();
    b.appendStack(joined, 'target', i);
    joined.endValue();
    const [wakerJoined, targetJoined] = joined.finish().toArray();
    assert.equal(wakerJoined, b.stack('waker', i).join('\n'));
    assert.equal(targetJoined, b.stack('target', i).join('\n'));
    const x = b.explanationJson(i);
    return {
      id: b.num.id[i],
      wakerComm: b.string('wakerComm', i),
      wakerProc: b.string('wakerProc', i),
      wakerPid: b.num.wakerPid[i],
      wakerTid: b.num.wakerTid[i],
      wakerContext: b.string('wakerContext', i),
      targetComm: b.string('targetComm', i),
      targetProc: b.string('targetProc', i),
      targetPid: b.num.targetPid[i],
      targetTid: b.num.targetTid[i],
      targetRole: b.string('targetRole', i),
      kind: b.string('kind', i),
      preemptor: b.hasPreemptor(i) ? b.string('preemptorComm', i) : '',
      category: b.string('category', i),
      activity: b.string('activity', i),
      count: b.num.count[i],
      offcpuUs: b.num.offcpuUs[i],
      offcpuMaxUs: b.num.offcpuMaxUs[i],
      runqUs: b.num.runqUs[i],
      stacksSampled: b.stacksSampled[i] === 1,
      wakerStack: b.stack('waker', i),
      wakerKernelFrames: b.num.wakerKernelFrames[i],
      targetStack: b.stack('target', i),
      targetKernelFrames: b.num.targetKernelFrames[i],
      facts: b.facts(i),
      explanation: x === '' ? undefined : (JSON.parse(x) as unknown),
      labels: b.labels(i),
      firstSeenMs: b.num.firstSeenMs[i],
      lastSeenMs: b.num.lastSeenMs[i],
    };
  });
  return { matched: a.matched, warning: a.warning, rows };
}

const garbage = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1e308, '', 'none', [], {}, [1, null, 'x', { a: 1 }, [2]]),
  fc.jsonValue({ maxDepth: 2 })
);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: arb }, { weight: 1, arbitrary: garbage });
const text = fc.oneof(
  fc.constantFrom(
    'envoy',
    'wrk:worker_0',
    'tcp_v4_rcv',
    'Envoy::Http::Stream<"x">\\',
    'a","b',
    'é😀',
    '',
    'none',
    'task'
  ),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 20 })
);
const integer = fc.oneof(fc.integer({ min: -1, max: 2 ** 31 }), fc.maxSafeNat());
const task = fc.record(
  {
    comm: maybe(text),
    proc: maybe(text),
    pid: maybe(integer),
    tid: maybe(integer),
    context: maybe(text),
    role: maybe(text),
  },
  { requiredKeys: [] }
);
const edgeish = fc.record(
  {
    id: maybe(integer),
    waker: maybe(task),
    target: maybe(task),
    kind: maybe(text),
    preemptor: maybe(fc.oneof(fc.constant(null), task)),
    category: maybe(text),
    activity: maybe(fc.oneof(fc.constant(null), text)),
    count: maybe(integer),
    offcpu_us: maybe(fc.oneof(integer, fc.double())),
    offcpu_max_us: maybe(fc.oneof(fc.constant(null), integer)),
    runq_us: maybe(integer),
    stacks_sampled: maybe(fc.boolean()),
    waker_stack: maybe(fc.array(maybe(text), { maxLength: 6 })),
    waker_stack_kernel_frames: maybe(fc.oneof(fc.constant(null), fc.nat(40))),
    target_stack: maybe(fc.array(text, { maxLength: 6 })),
    target_stack_kernel_frames: maybe(fc.nat(40)),
    facts: maybe(fc.array(maybe(text), { maxLength: 3 })),
    explanation: maybe(fc.record({ category: maybe(fc.record({ rule: maybe(text), frames: garbage })) })),
    labels: maybe(fc.dictionary(text, maybe(text), { maxKeys: 4 })),
    first_seen_ms: maybe(integer),
    last_seen_ms: maybe(integer),
    unknown_member: garbage,
  },
  { requiredKeys: [] }
);

test('edges: every member of every edge reads as the reference reading of JSON.parse, garbage included', () => {
  const answer = fc.record(
    {
      matched: maybe(integer),
      warning: maybe(text),
      edges: fc.array(fc.oneof({ weight: 6, arbitrary: edgeish }, { weight: 1, arbitrary: garbage }), { maxLength: 8 }),
    },
    { requiredKeys: ['edges'] }
  );
  fc.assert(
    fc.property(answer, fc.constantFrom(undefined, 1), (a, indent) => {
      const body = JSON.stringify(a, null, indent);
      const parsed = JSON.parse(body) as Json;
      const got = readBack(body);
      assert.ok(got);
      assert.equal(got.matched, num(parsed.matched));
      assert.equal(got.warning, str(parsed.warning));
      assert.deepEqual(got.rows, (parsed.edges as unknown[]).filter(isObj).map(referenceEdge));
    }),
    opts
  );
});

test('edges: stacks with bytes changed are refused exactly when JSON.parse refuses them, read as it reads them', () => {
  // Edits land in or near the stacks (whose plain frames are read in one loop, plainStrings): escapes,
  // control characters, quotes, commas, whitespace, a cut-off end.
  const frames = fc.array(
    fc.oneof(fc.constantFrom('f', 'Envoy::a()', 'é', 'a"b', 'a\\b', '\n', ''), fc.string({ maxLength: 6 })),
    {
      maxLength: 5,
    }
  );
  const edit = fc.record({
    at: fc.nat(),
    op: fc.constantFrom('insert', 'delete', 'replace'),
    ch: fc.constantFrom(...'"\\,[] \t\n\u0001\u001f\u007fé0'.split(''), '\\u12', '\\n', '\\"'),
  });
  fc.assert(
    fc.property(
      fc.array(fc.tuple(frames, frames), { minLength: 1, maxLength: 3 }),
      fc.array(edit, { maxLength: 3 }),
      (edges, edits) => {
        let body = JSON.stringify({ edges: edges.map(([w, t], id) => ({ id, waker_stack: w, target_stack: t })) });
        const first = body.indexOf('[', body.indexOf('waker_stack'));
        for (const e of edits) {
          // Mostly inside the stacks (from the first one's '[' on); the end of the body is reachable too.
          const i = first + (e.at % (body.length - first + 1));
          body =
            e.op === 'insert'
              ? body.slice(0, i) + e.ch + body.slice(i)
              : body.slice(0, i) + (e.op === 'replace' ? e.ch : '') + body.slice(i + 1);
        }
        let parsed: Json | undefined;
        try {
          parsed = JSON.parse(body) as Json;
        } catch {
          parsed = undefined;
        }
        const got = readBack(body);
        if (!parsed || !Array.isArray(parsed.edges)) {
          assert.equal(got, undefined, body);
          return;
        }
        assert.ok(got, body);
        assert.deepEqual(got.rows, (parsed.edges as unknown[]).filter(isObj).map(referenceEdge), body);
      }
    ),
    { numRuns: 3000 }
  );
});

test('edges: a repeated member counts once, the last one, as in JSON.parse', () => {
  const body =
    '{"edges":[{"waker":{"comm":"a","pid":1},"waker":{"tid":2},"waker_stack":["x"],"waker_stack":["y","z"],' +
    '"labels":{"pod":"p"},"labels":7,"count":1,"count":"2"}],"edges":[{"id":5}],"matched":3}';
  const got = readBack(body);
  assert.ok(got);
  assert.deepEqual(
    got.rows.map((r) => r.id),
    [5]
  );
  const twice = readBack(body.replace(',"edges":[{"id":5}]', ''))!.rows[0];
  const ref = referenceEdge((JSON.parse(body.replace(',"edges":[{"id":5}]', '')) as { edges: Json[] }).edges[0]);
  assert.deepEqual(twice, ref);
  assert.equal(twice.wakerComm, '');
  assert.equal(twice.wakerTid, 2);
  assert.deepEqual(twice.wakerStack, ['y', 'z']);
});

test('edges: a frame that is not a string shows as its JSON text, even an object String() cannot convert', () => {
  // fast-check found it (seed 856073369): {"toString": false} made String() throw and failed the whole answer.
  const got = readBack('{"edges":[{"id":1,"waker_stack":[{"toString":false},5,null,"f"],"target_stack":[[1]]}]}');
  assert.ok(got);
  assert.deepEqual(got.rows[0].wakerStack, ['{"toString":false}', '5', 'null', 'f']);
  assert.deepEqual(got.rows[0].targetStack, ['[1]']);
});

test('edges: answers that are not an edges answer are refused', () => {
  for (const body of [
    '',
    '[]',
    '{}',
    '{"edges":3}',
    '{"edges":[',
    '{"edges":[]} x',
    '<html></html>',
    'null',
    '{"edges":[]]',
  ]) {
    assert.equal(readEdgesAnswer(Buffer.from(body)), undefined, body);
  }
  assert.ok(readEdgesAnswer(Buffer.from('{"edges":[]}')));
});

/* --- series: the reference reading -------------------------------------- */

function referenceSeries(b: Json) {
  const series: Array<{ labels: Record<string, string>; points: Array<[number, number]> }> = [];
  for (const s of b.series as unknown[]) {
    if (!isObj(s) || !Array.isArray(s.points)) {
      continue;
    }
    const points: Array<[number, number]> = [];
    for (const p of s.points) {
      if (
        Array.isArray(p) &&
        typeof p[0] === 'number' &&
        Number.isFinite(p[0]) &&
        typeof p[1] === 'number' &&
        Number.isFinite(p[1])
      ) {
        points.push([p[0], p[1]]);
      }
    }
    points.sort((x, y) => x[0] - y[0]);
    series.push({ labels: labelsOf(s.labels), points });
  }
  return { stepMs: num(b.step_ms), series, truncated: b.truncated === true, warning: str(b.warning) };
}

test('series: labels and points read as the reference reading of JSON.parse, garbage included', () => {
  const point = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.tuple(fc.integer({ min: 0, max: 2 ** 42 }), fc.double({ noNaN: true, noDefaultInfinity: true })),
    },
    { weight: 1, arbitrary: garbage },
    { weight: 1, arbitrary: fc.array(maybe(fc.double()), { maxLength: 3 }) }
  );
  const one = fc.record(
    {
      labels: maybe(fc.dictionary(text, maybe(fc.oneof(text, fc.integer())), { maxKeys: 3 })),
      points: maybe(fc.array(point, { maxLength: 8 })),
      extra: garbage,
    },
    { requiredKeys: [] }
  );
  const answer = fc.record(
    {
      step_ms: maybe(integer),
      series: fc.array(fc.oneof({ weight: 5, arbitrary: one }, { weight: 1, arbitrary: garbage }), { maxLength: 5 }),
      truncated: maybe(fc.boolean()),
      warning: maybe(text),
    },
    { requiredKeys: ['series'] }
  );
  fc.assert(
    fc.property(answer, (a) => {
      const body = JSON.stringify(a);
      const got = readSeriesAnswer(Buffer.from(body));
      assert.ok(got);
      const want = referenceSeries(JSON.parse(body) as Json);
      assert.deepEqual(
        {
          ...got,
          series: got.series.map((s) => ({
            labels: s.labels,
            points: Array.from(s.t, (t, i): [number, number] => [t, s.v[i]]),
          })),
        },
        want
      );
    }),
    opts
  );
  for (const body of ['', '{}', '{"series":{}}', '{"series":[}', '[]']) {
    assert.equal(readSeriesAnswer(Buffer.from(body)), undefined, body);
  }
});

/* --- whatever arrives: refused or read, never an exception ---------------- */

const SAMPLE_EDGES =
  '{"matched":2,"edges":[{"id":1,"waker":{"comm":"wrk","pid":7,"tid":8,"context":"task"},' +
  '"target":{"comm":"envoy","proc":"envoy","pid":9,"tid":9,"role":"worker"},"kind":"blocked",' +
  '"category":"net.tcp","activity":"none","count":3,"offcpu_us":1.5e3,"runq_us":2,"stacks_sampled":true,' +
  '"waker_stack":["tcp_v4_rcv","é\\"x"],"target_stack":["epoll_wait"],"facts":["a"],' +
  '"explanation":{"category":{"rule":"r","frames":[0]}},"labels":{"pod":"p","n":1},' +
  '"first_seen_ms":1,"last_seen_ms":2},{"id":2,"preemptor":{"comm":"x"}}],"warning":"w"}';
const SAMPLE_SERIES = '{"step_ms":10000,"series":[{"labels":{"category":"ipc"},"points":[[1,0.5],[2,-1e-3]]}]}';

test('answers cut short at any byte, and any bytes at all, are refused or read: never an exception', () => {
  assert.equal(readEdgesAnswer(Buffer.from(SAMPLE_EDGES))?.edges.length, 2);
  assert.equal(readSeriesAnswer(Buffer.from(SAMPLE_SERIES))?.series[0].t.length, 2);
  // A connection closed mid-answer: every proper prefix is not JSON, so not an answer.
  for (const [body, read] of [
    [SAMPLE_EDGES, readEdgesAnswer],
    [SAMPLE_SERIES, readSeriesAnswer],
  ] as const) {
    const bytes = Buffer.from(body);
    for (let n = 0; n < bytes.length; n++) {
      assert.equal(read(bytes.subarray(0, n)), undefined, `cut at byte ${n} of ${bytes.length}`);
    }
  }
  // Random bytes, alone or spliced into a real answer (the readers may accept what JSON.parse accepts, no more).
  const spliced = (sample: string) =>
    fc.tuple(fc.nat(), fc.nat(8), fc.uint8Array({ maxLength: 8 })).map(([at, drop, bytes]) => {
      const b = Buffer.from(sample);
      const i = at % (b.length + 1);
      return Buffer.concat([b.subarray(0, i), bytes, b.subarray(i + drop)]);
    });
  const accepts = (b: Buffer) => viaParse(b.toString('utf8')).ok;
  const anyBytes = fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u));
  for (const [sample, read] of [
    [SAMPLE_EDGES, readEdgesAnswer],
    [SAMPLE_SERIES, readSeriesAnswer],
  ] as const) {
    fc.assert(
      fc.property(fc.oneof(anyBytes, spliced(sample)), (b) => {
        assert.ok(read(b) === undefined || accepts(b));
      }),
      opts
    );
  }
});

test('edges: a capacity hint of 0, NaN or 1 still reads every edge', () => {
  const many = `{"edges":[${Array.from({ length: 40 }, (_, i) => `{"id":${i},"waker_stack":["f${i}"]}`).join(',')}]}`;
  for (const hint of [0, NaN, 1, -5]) {
    const a = readEdgesAnswer(Buffer.from(many), hint);
    assert.equal(a?.edges.length, 40, String(hint));
    assert.deepEqual(a.edges.stack('waker', 39), ['f39']);
    assert.equal(a.edges.num.id[39], 39);
  }
});

test('interned text: equal bytes give the very same string, a hash collision or non-ASCII bytes the right one', () => {
  const names = new TextInterner();
  // "Aa" and "BB" have the same 31-multiplier hash.
  const buf = Buffer.from('Aa|BB|Aa|é|é|tcp_v4_rcv|tcp_v4_rcv');
  const at = (i: number) => {
    const parts = buf.toString('latin1').split('|');
    const start = parts.slice(0, i).reduce((n, p) => n + p.length + 1, 0);
    return names.text(buf, start, start + parts[i].length);
  };
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map(at), ['Aa', 'BB', 'Aa', 'é', 'é', 'tcp_v4_rcv', 'tcp_v4_rcv']);
  fc.assert(
    fc.property(fc.array(fc.string({ maxLength: 6 }), { maxLength: 30 }), (texts) => {
      const mixed = new TextInterner();
      for (const t of [...texts, ...texts]) {
        const b = Buffer.from(t, 'utf8');
        assert.equal(mixed.text(b, 0, b.length), t);
      }
    }),
    opts
  );
});
