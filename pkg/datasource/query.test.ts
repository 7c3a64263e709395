// SPDX-License-Identifier: Apache-2.0
/*
 * The query decoder: defaults, every error naming its field, and a
 * property-based fuzz (fast-check, fixed seed per run printed on failure)
 * over arbitrary JSON and DataQuery fields: the decoder either returns a
 * query within every limit or throws a QueryError of one sentence; nothing
 * else. testdata/query-corpus.json keeps the inputs worth replaying (each
 * counterexample fast-check ever found goes there).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import fc from 'fast-check';

import { FILTER_KEYS, FILTER_LIMITS, QUERY_DEFAULTS, QUERY_LIMITS, QUERY_TYPES } from '../../src/shared/query';
import { DataQuery } from '../protocol/messages';
import { QueryError, decodeQuery } from './query';

const FROM = 1_764_000_000_000;
const TO = FROM + 3_600_000;

function dq(json: string | Buffer, extra: Partial<DataQuery> = {}): DataQuery {
  return {
    refId: 'A',
    maxDataPoints: 1000,
    intervalMS: 1000,
    timeRange: { fromEpochMS: FROM, toEpochMS: TO },
    json: Buffer.isBuffer(json) ? json : Buffer.from(json),
    queryType: '',
    ...extra,
  };
}

function errorOf(json: string, extra: Partial<DataQuery> = {}): string {
  try {
    decodeQuery(dq(json, extra));
  } catch (e) {
    assert.ok(e instanceof QueryError, `a QueryError, not ${String(e)}`);
    return e.message;
  }
  assert.fail(`accepted ${json}`);
}

/** What every decoded query must satisfy. */
function checkDecoded(d: ReturnType<typeof decodeQuery>): void {
  const m = d.model as unknown as Record<string, unknown>;
  assert.ok(QUERY_TYPES.includes(d.model.queryType));
  assert.ok(d.fromMs < d.toMs);
  assert.ok(d.maxDataPoints >= 1 && d.maxDataPoints <= 43200);
  for (const k of FILTER_KEYS) {
    const v = m[k] as string[] | undefined;
    if (v) {
      assert.ok(Array.isArray(v) && v.length >= 1 && v.length <= FILTER_LIMITS.maxValues);

      assert.ok(v.every((x) => typeof x === 'string' && !/[\u0000-\u001f\u007f]/.test(x)));
    }
  }
  if (d.model.queryType === 'chains') {
    assert.ok(Number.isInteger(d.model.limit) && d.model.limit >= 1 && d.model.limit <= QUERY_LIMITS.chains.maxLimit);
  }
  if (d.model.queryType === 'flamegraph') {
    assert.ok(d.model.limit >= 1 && d.model.limit <= QUERY_LIMITS.flamegraph.maxLimit);
  }
}

function checkSentence(msg: string): void {
  assert.ok(msg.length > 10 && msg.length < 400, msg);
  assert.ok(!msg.includes('\n'), 'one line');
  assert.match(msg, /[.)]$/, 'a sentence');
}

test('every option has a default: {"queryType": T} alone is a whole query', () => {
  for (const t of QUERY_TYPES) {
    const d = decodeQuery(dq(JSON.stringify({ queryType: t })));
    assert.deepEqual(d.model, { queryType: t, ...QUERY_DEFAULTS[t] });
  }
  assert.equal(decodeQuery(dq('')).model.queryType, 'categories');
  assert.equal(decodeQuery(dq('{}', { queryType: 'targets' })).model.queryType, 'targets');
});

test('filters: strings become lists, empty values vanish, duplicates merge', () => {
  const d = decodeQuery(dq('{"queryType": "chains", "pod": "a", "namespace": ["x", "", "x", "y"], "role": []}'));
  assert.deepEqual(d.model, {
    queryType: 'chains',
    pod: ['a'],
    namespace: ['x', 'y'],
    sort: 'offcpu',
    limit: 50,
    depth: 1,
  });
});

test('alert defaults: maxDataPoints and intervalMS kept, zeros defaulted', () => {
  const d = decodeQuery(dq('{"queryType": "preemption"}', { maxDataPoints: 43200, intervalMS: 1000 }));
  assert.equal(d.maxDataPoints, 43200);
  const z = decodeQuery(dq('{}', { maxDataPoints: 0, intervalMS: 0 }));
  assert.equal(z.maxDataPoints, 1000);
  assert.equal(z.intervalMs, 1000);
});

test('each bad input gets one sentence naming the field', () => {
  const cases: Array<[string, RegExp, Partial<DataQuery>?]> = [
    ['{"queryType": "chains", limit: }', /^The query is not valid JSON/],
    ['"chains"', /^The query must be a JSON object/],
    ['{"queryType": "cpu"}', /^queryType 'cpu' is not one of categories, preemption, chains, flamegraph, targets\.$/],
    [
      '{"queryType": "chains", "limit": 1001}',
      /^limit must be a whole number from 1 to 1000 \(in a chains query\), not 1001\.$/,
    ],
    ['{"queryType": "chains", "limit": -1}', /^limit /],
    ['{"queryType": "chains", "depth": 0}', /^depth must be a whole number from 1 to 4/],
    ['{"queryType": "categories", "metric": "cpu"}', /^metric 'cpu' is not one of offcpu, wakeups, runq/],
    ['{"queryType": "categories", "groupBy": "node"}', /^groupBy 'node'/],
    ['{"queryType": "preemption", "ratio": "avg"}', /^ratio 'avg' is not one of time, count/],
    ['{"queryType": "preemption", "throttled": 1}', /^throttled must be true or false/],
    ['{"queryType": "flamegraph", "value": "bytes"}', /^value 'bytes'/],
    ['{"queryType": "chains", "sort": "name"}', /^sort 'name'/],
    ['{"pod": "a\\u0007b"}', /^Filter pod has a value with a control character/],
    ['{"pod": {"a": 1}}', /^Filter pod must be a string or a list of strings/],
    ['{"pod": [1]}', /^Filter pod must hold strings only/],
    ['{"role": "boss"}', /^Filter role 'boss' is not one of worker, main/],
    ['{"category": "net.t"}', /^Filter category 'net.t' is neither a category nor a dotted prefix/],
    ['{"queryType": "targets", "thread": "x"}', /^Filter thread does not apply to targets queries/],
    ['{}', /^The time range is empty or inverted/, { timeRange: { fromEpochMS: TO, toEpochMS: FROM } }],
    ['{}', /^The time range is missing/, { timeRange: null }],
  ];
  for (const [json, re, extra] of cases) {
    const msg = errorOf(json, extra);
    assert.match(msg, re, json);
    checkSentence(msg);
  }
  assert.match(
    errorOf(JSON.stringify({ pod: Array.from({ length: 17 }, (_, i) => `p${i}`) })),
    /has 17 values, more than 16/
  );
  assert.match(errorOf(JSON.stringify({ pod: 'x'.repeat(256) })), /longer than 255 bytes/);
  assert.match(errorOf(' '.repeat(70_000) + '{}'), /more than 65536/);
});

interface CorpusEntry {
  note: string;
  json?: string;
  jsonBase64?: string;
  queryType?: string;
  fromMs?: number;
  toMs?: number;
}

test('the kept corpus: each input decodes within limits or fails with one sentence', () => {
  const corpus = JSON.parse(
    readFileSync(path.join(__dirname, 'testdata', 'query-corpus.json'), 'utf8')
  ) as CorpusEntry[];
  assert.ok(corpus.length >= 30);
  for (const c of corpus) {
    const json = c.jsonBase64 !== undefined ? Buffer.from(c.jsonBase64, 'base64') : Buffer.from(c.json ?? '');
    const q = dq(json, {
      queryType: c.queryType ?? '',
      ...(c.fromMs !== undefined ? { timeRange: { fromEpochMS: c.fromMs, toEpochMS: c.toMs ?? 0 } } : {}),
    });
    try {
      checkDecoded(decodeQuery(q));
    } catch (e) {
      assert.ok(e instanceof QueryError, `${c.note}: ${String(e)}`);
      checkSentence(e.message);
    }
  }
});

const jsonish = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(
      null,
      true,
      false,
      0,
      -1,
      1,
      1000,
      1001,
      1e308,
      -0,
      2.5,
      '',
      'none',
      'net',
      'net.t',
      'worker',
      'chains'
    ),
    fc.string(),
    fc.string({ unit: 'grapheme', maxLength: 300 }),
    fc.double(),
    fc.integer(),
    fc.array(tie('value'), { maxLength: 20 }),
    fc.dictionary(fc.string({ maxLength: 12 }), tie('value'), { maxKeys: 5 })
  ),
}));

const KEYS = [
  'queryType',
  'metric',
  'groupBy',
  'ratio',
  'throttled',
  'sort',
  'limit',
  'depth',
  'value',
  ...FILTER_KEYS,
];

const queryish = fc.dictionary(
  fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 10 })),
  fc.oneof(
    jsonish.value,
    fc.constantFrom(...QUERY_TYPES),
    fc.constantFrom('offcpu', 'count', 'runq', 'pod', 'workload', 'time')
  ),
  { maxKeys: 8 }
);

test('fuzz: arbitrary query JSON, bytes and DataQuery fields never throw anything but one QueryError sentence', () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
  const runs = Number(process.env.FUZZ_RUNS ?? 3000);
  const input = fc.record({
    body: fc.oneof(
      queryish.map((o) => Buffer.from(JSON.stringify(o))),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      fc.string().map((s) => Buffer.from(s))
    ),
    queryType: fc.oneof(fc.constant(''), fc.constantFrom(...QUERY_TYPES), fc.string({ maxLength: 10 })),
    from: fc.oneof(fc.constant(FROM), fc.integer({ min: -1, max: 2 ** 52 }), fc.double()),
    span: fc.oneof(fc.constant(3_600_000), fc.integer({ min: -10, max: 10 }), fc.double()),
    maxDataPoints: fc.oneof(fc.constant(1000), fc.integer({ min: -5, max: 100_000 })),
    intervalMS: fc.oneof(fc.constant(1000), fc.integer({ min: -5, max: 10_000_000 })),
  });
  fc.assert(
    fc.property(input, (i) => {
      const q = dq(i.body, {
        queryType: i.queryType,
        maxDataPoints: i.maxDataPoints,
        intervalMS: i.intervalMS,
        timeRange: { fromEpochMS: i.from, toEpochMS: i.from + i.span },
      });
      try {
        checkDecoded(decodeQuery(q));
      } catch (e) {
        if (!(e instanceof QueryError)) {
          throw e;
        }
        checkSentence(e.message);
      }
    }),
    { seed, numRuns: runs }
  );
});
