// SPDX-License-Identifier: Apache-2.0
/*
 * The Arrow encoder read back by another reader (@uwdata/flechette): the
 * file format, one explicit type per field kind, nanosecond times, nulls only
 * where declared, and the SDK's metadata keys; typed columns (columns.ts,
 * typed arrays) give the same files as plain arrays.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { TimeUnit, Type, tableFromIPC } from '@uwdata/flechette';
import fc from 'fast-check';

import { FrameEncodingError, encodeFrame } from './arrow';
import { Utf8Builder, Utf8Column } from './columns';
import { field, withNotices } from './frame';

const T0 = 1_764_583_200_123;

test('every field type, metadata and ns times survive another reader', () => {
  const frame = withNotices(
    {
      name: 'offcpu',
      meta: { type: 'timeseries-multi', typeVersion: [0, 1] },
      fields: [
        field.timeMs('time', [T0, T0 + 10_000]),
        field.float64('offcpu', [0.5, 1.25], { labels: { category: 'ipc.eventfd' }, config: { unit: 's' } }),
        field.int64('count', [1, 2 ** 53 + 2]),
        field.string('label', ['a', 'ü\n']),
        field.bool('alive', [true, false]),
        field.float64('maybe', [null, 3], { nullable: true }),
      ],
    },
    [{ severity: 'warning', text: 'agent x did not answer' }]
  );
  const buf = encodeFrame(frame, 'A');
  assert.equal(Buffer.from(buf.subarray(0, 6)).toString(), 'ARROW1');
  assert.equal(Buffer.from(buf.subarray(buf.length - 6)).toString(), 'ARROW1');
  const t = tableFromIPC(buf, { useBigInt: true });
  const sm = t.schema.metadata!;
  assert.equal(sm.get('name'), 'offcpu');
  assert.equal(sm.get('refId'), 'A');
  const meta = JSON.parse(sm.get('meta')!);
  assert.deepEqual(meta.typeVersion, [0, 1]);
  assert.equal(meta.notices[0].severity, 'warning');
  const f = t.schema.fields;
  assert.deepEqual(
    f.map((x) => x.type.typeId),
    [Type.Timestamp, Type.Float, Type.Int, Type.Utf8, Type.Bool, Type.Float]
  );
  assert.equal((f[0].type as { unit: number }).unit, TimeUnit.NANOSECOND);
  assert.equal((f[1].type as { precision: number }).precision, 2, 'Float64');
  assert.equal((f[2].type as { bitWidth: number }).bitWidth, 64);
  assert.deepEqual(JSON.parse(f[1].metadata!.get('labels')!), { category: 'ipc.eventfd' });
  assert.deepEqual(JSON.parse(f[1].metadata!.get('config')!), { unit: 's' });
  assert.equal(f[0].metadata!.get('tstype'), 'time');
  assert.equal(f[0].metadata!.get('labels'), undefined);
  assert.deepEqual(
    f.map((x) => x.nullable),
    [false, false, false, false, false, true]
  );
  const raw = t.getChild('time')!.data[0].values as BigInt64Array;
  assert.deepEqual([...raw], [BigInt(T0) * 1_000_000n, BigInt(T0 + 10_000) * 1_000_000n]);
  assert.deepEqual([...t.getChild('count')!.toArray()], [1n, BigInt(2 ** 53 + 2)]);
  assert.deepEqual([...t.getChild('label')!.toArray()], ['a', 'ü\n']);
  assert.deepEqual([...t.getChild('alive')!.toArray()], [true, false]);
  assert.deepEqual([...t.getChild('maybe')!.toArray()], [null, 3]);
});

test('a frame without fields is a schema-only file; empty fields give zero rows', () => {
  const t = tableFromIPC(encodeFrame({ name: 'notices', fields: [] }, 'B'));
  assert.equal(t.numCols, 0);
  assert.equal(t.schema.metadata!.get('name'), 'notices');
  const e = tableFromIPC(encodeFrame({ name: 'chains', fields: [field.string('id', []), field.int64('count', [])] }));
  assert.equal(e.numRows, 0);
  assert.equal(e.numCols, 2);
});

test('unequal lengths and nulls in non-nullable fields are refused before encoding', () => {
  assert.throws(
    () => encodeFrame({ name: 'x', fields: [field.string('a', ['1']), field.string('b', [])] }),
    FrameEncodingError
  );
  assert.throws(() => encodeFrame({ name: 'x', fields: [field.float64('a', [null])] }), /not nullable/);
});

test('typed columns go in as they are: Float64Array (NaN = null), Utf8Column, Uint8Array bools, ms times', () => {
  const frame = {
    name: 'typed',
    fields: [
      field.timeMs('time', Float64Array.from([T0, NaN, 0])),
      field.float64('v', Float64Array.from([0.5, NaN, -1]), { nullable: true }),
      field.int64('n', Float64Array.from([7, NaN, -3]), { nullable: true }),
      field.string('s', Utf8Column.from(['a', '', 'ü😀'])),
      field.bool('b', Uint8Array.from([1, 0, 1])),
    ],
  };
  const t = tableFromIPC(
    encodeFrame({ ...frame, fields: frame.fields.map((f) => (f.name === 'time' ? { ...f, nullable: true } : f)) }),
    { useBigInt: true }
  );
  const time = t.getChild('time')!;
  assert.deepEqual([...(time.data[0].values as BigInt64Array)], [BigInt(T0) * 1_000_000n, 0n, 0n]);
  assert.equal(time.toArray()[1], null);
  assert.deepEqual([...t.getChild('v')!.toArray()], [0.5, null, -1]);
  assert.deepEqual([...t.getChild('n')!.toArray()], [7n, null, -3n]);
  assert.deepEqual([...t.getChild('s')!.toArray()], ['a', '', 'ü😀']);
  assert.deepEqual([...t.getChild('b')!.toArray()], [true, false, true]);
  assert.throws(() => encodeFrame(frame), /time is not nullable/, 'a NaN in a field that is not nullable is a null');
});

test('milliseconds become exact int64 nanoseconds, and numbers exact int64s, without BigInt per value', () => {
  const ns = (ms: number) => {
    const t = tableFromIPC(encodeFrame({ name: 't', fields: [field.timeMs('t', [ms])] }), { useBigInt: true });
    return (t.getChild('t')!.data[0].values as BigInt64Array)[0];
  };
  const int = (v: number) => {
    const t = tableFromIPC(encodeFrame({ name: 'i', fields: [field.int64('i', Float64Array.of(v))] }), {
      useBigInt: true,
    });
    return (t.getChild('i')!.data[0].values as BigInt64Array)[0];
  };
  fc.assert(
    fc.property(
      fc.oneof(
        fc.integer({ min: 0, max: 9_223_372_036_854 }),
        fc.integer({ min: -(2 ** 40), max: 2 ** 45 }),
        fc.double({ min: -1e13, max: 1e13, noNaN: true })
      ),
      (ms) => {
        assert.equal(ns(ms), BigInt.asIntN(64, BigInt(Math.round(ms)) * 1_000_000n), String(ms));
      }
    ),
    { numRuns: 300 }
  );
  fc.assert(
    fc.property(fc.oneof(fc.maxSafeInteger(), fc.double({ min: -1e18, max: 1e18, noNaN: true })), (v) => {
      assert.equal(int(v), BigInt.asIntN(64, BigInt(Math.trunc(v))), String(v));
    }),
    { numRuns: 300 }
  );
});

test('Utf8Builder: whole strings, joined byte ranges and growth give the same column as the strings', () => {
  const src = Buffer.from('xx"frame_a","ü_b","c"yy');
  const starts = Int32Array.from([3, 13, 20]);
  const ends = Int32Array.from([10, 17, 21]);
  const b = new Utf8Builder(1, 1);
  b.push('');
  b.addJoined(src, starts, ends, 0, 3);
  b.endValue();
  b.addString('a'.repeat(5000));
  b.addBytes(src, 3, 10);
  b.endValue();
  b.addJoined(src, starts, ends, 1, 1);
  b.endValue();
  const col = b.finish();
  assert.deepEqual(col.toArray(), ['', 'frame_a\nü_b\nc', 'a'.repeat(5000) + 'frame_a', '']);
  const t = tableFromIPC(encodeFrame({ name: 's', fields: [field.string('s', col)] }));
  assert.deepEqual([...t.getChild('s')!.toArray()], col.toArray());
});

test('Utf8Builder: joined byte ranges in any order, adjacent or apart, and short strings of any text, as the strings would give', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.string({ unit: 'binary', maxLength: 40 }), fc.nat(3)), { maxLength: 12 }),
      fc.boolean(),
      fc.array(fc.string({ unit: 'binary', maxLength: 80 }), { maxLength: 6 }),
      fc.nat(64),
      (frames, shuffle, texts, hint) => {
        // An answer's bytes: each frame after a gap of 0-3 bytes.
        const parts: Buffer[] = [];
        const starts: number[] = [];
        const ends: number[] = [];
        let at = 0;
        for (const [text, gap] of frames) {
          const bytes = Buffer.from(text, 'utf8');
          parts.push(Buffer.alloc(gap, 0x2c), bytes);
          starts.push(at + gap);
          ends.push(at + gap + bytes.length);
          at += gap + bytes.length;
        }
        const order = frames.map((_, i) => i);
        if (shuffle) {
          order.reverse();
        }
        const src = Buffer.concat(parts);
        const b = new Utf8Builder(2, hint);
        b.addJoined(
          src,
          Int32Array.from(order, (i) => starts[i]),
          Int32Array.from(order, (i) => ends[i]),
          0,
          order.length
        );
        b.endValue();
        texts.forEach((t) => b.addString(t));
        b.endValue();
        const want = [order.map((i) => Buffer.from(frames[i][0], 'utf8').toString('utf8')).join('\n'), texts.join('')];
        assert.deepEqual(b.finish().toArray(), want);
      }
    ),
    { numRuns: 2000 }
  );
});
