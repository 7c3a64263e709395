// SPDX-License-Identifier: Apache-2.0
/*
 * The Arrow encoder read back by another reader (@uwdata/flechette): the
 * file format, one explicit type per field kind, nanosecond times, nulls only
 * where declared, and the SDK's metadata keys.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { TimeUnit, Type, tableFromIPC } from '@uwdata/flechette';

import { FrameEncodingError, encodeFrame } from './arrow';
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
