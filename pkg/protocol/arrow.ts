// SPDX-License-Identifier: Apache-2.0
/*
 * Frames to Arrow IPC *file* buffers, the encoding Grafana's SDK reads
 * (data/arrow.go UnmarshalArrowFrame: ipc.NewFileReader, so the ARROW1 magic
 * and footer are required; stream format is not readable). One buffer per
 * frame. Every column gets an explicit type: apache-arrow would infer
 * dictionary strings and millisecond times, which Grafana rejects or reads
 * as 1970. Metadata keys are the SDK's: schema `name`, `refId`, `meta`;
 * field `labels`, `config`, `tstype`.
 */
import {
  Bool,
  Field as ArrowField,
  Float64,
  Int64,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampNanosecond,
  Utf8,
  makeData,
  tableToIPC,
  Data,
} from 'apache-arrow';

import { Utf8Builder, Utf8Column } from './columns';
import { Field, FieldType, Frame } from './frame';

/** One Arrow type per field type (immutable, so shared). */
const TYPES = {
  string: new Utf8(),
  float64: new Float64(),
  int64: new Int64(),
  bool: new Bool(),
  time: new TimestampNanosecond(),
} as const;

/** The SDK's TypeScript type names (data/arrow.go getTypeScriptTypeString). */
const TS_TYPE: Record<FieldType, string> = {
  string: 'string',
  float64: 'number',
  int64: 'number',
  bool: 'boolean',
  time: 'time',
};

const TWO_32 = 4294967296;
const TWO_21 = 2097152;
const TWO_11 = 2048;
/** Largest epoch ms whose nanoseconds fit an int64 (year 2262). */
const MAX_MS = 9_223_372_036_854;

/** Nulls of plain arrays (null, undefined) and of float columns (NaN). */
function isNull(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));
}

/** Validity bitmap (1 = value present) or undefined when nothing is null. */
function validity(values: ArrayLike<unknown>): { bitmap?: Uint8Array; nullCount: number } {
  const n = values.length;
  let nullCount = 0;
  for (let i = 0; i < n; i++) {
    if (isNull(values[i])) {
      nullCount++;
    }
  }
  if (nullCount === 0) {
    return { nullCount };
  }
  const bitmap = new Uint8Array(Math.ceil(n / 8));
  for (let i = 0; i < n; i++) {
    if (!isNull(values[i])) {
      bitmap[i >> 3] |= 1 << (i & 7);
    }
  }
  return { bitmap, nullCount };
}

/**
 * 64-bit integers written as two 32-bit halves (little-endian, as Arrow and
 * both our targets are), so that no BigInt is made per value; values the
 * halves cannot hold exactly go through BigInt.
 */
function int64Data(values: ArrayLike<number | bigint | null>): BigInt64Array {
  const n = values.length;
  const out = new BigInt64Array(n);
  const halves = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (typeof v === 'bigint') {
      out[i] = v;
    } else if (v !== null && v !== undefined && !Number.isNaN(v)) {
      const x = Math.trunc(v);
      if (x >= 0 && x <= Number.MAX_SAFE_INTEGER) {
        halves[2 * i] = x % TWO_32;
        halves[2 * i + 1] = Math.floor(x / TWO_32);
      } else {
        out[i] = BigInt(x);
      }
    }
  }
  return out;
}

/** Epoch milliseconds to int64 nanoseconds, exactly, without a BigInt per value (see int64Data). */
function nanosecondData(ms: ArrayLike<number | null>): BigInt64Array {
  const n = ms.length;
  const out = new BigInt64Array(n);
  const halves = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) {
    const v = ms[i];
    if (v === null || v === undefined || Number.isNaN(v)) {
      continue;
    }
    const m = Math.round(v);
    if (m >= 0 && m <= MAX_MS) {
      // ns = m * 1e6 = A * 2^21 + B with m = a * 2^21 + b; every product below is exact in a double.
      const a = Math.floor(m / TWO_21);
      const A = a * 1e6;
      const B = (m - a * TWO_21) * 1e6;
      const x = (A % TWO_11) * TWO_21 + B;
      halves[2 * i] = x % TWO_32;
      halves[2 * i + 1] = Math.floor(A / TWO_11) + Math.floor(x / TWO_32);
    } else {
      out[i] = BigInt(m) * 1_000_000n;
    }
  }
  return out;
}

function utf8Data(values: ReadonlyArray<string | null>): Utf8Column {
  let bytes = 0;
  for (const v of values) {
    bytes += v === null || v === undefined ? 0 : v.length;
  }
  const b = new Utf8Builder(values.length, bytes + 64);
  for (const v of values) {
    if (v !== null && v !== undefined) {
      b.addString(v);
    }
    b.endValue();
  }
  return b.finish();
}

function boolData(values: ArrayLike<boolean | number | null>): Uint8Array {
  const data = new Uint8Array(Math.ceil(values.length / 8));
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === true || v === 1) {
      data[i >> 3] |= 1 << (i & 7);
    }
  }
  return data;
}

function columnData(f: Field): Data {
  const n = f.values.length;
  if (f.values instanceof Utf8Column) {
    return makeData({
      type: TYPES.string,
      length: n,
      nullCount: 0,
      valueOffsets: f.values.offsets,
      data: f.values.data,
    });
  }
  const { bitmap, nullCount } =
    f.values instanceof Uint8Array ? { bitmap: undefined, nullCount: 0 } : validity(f.values);
  switch (f.type) {
    case 'string': {
      const col = utf8Data(f.values as Array<string | null>);
      return makeData({
        type: TYPES.string,
        length: n,
        nullCount,
        nullBitmap: bitmap,
        valueOffsets: col.offsets,
        data: col.data,
      });
    }
    case 'bool':
      return makeData({
        type: TYPES.bool,
        length: n,
        nullCount,
        nullBitmap: bitmap,
        data: boolData(f.values as ArrayLike<boolean | number | null>),
      });
    case 'float64': {
      const v = f.values as Array<number | null> | Float64Array;
      // A Float64Array is Arrow's layout already (a null's NaN is masked by the bitmap).
      const data = v instanceof Float64Array ? v : Float64Array.from(v, (x) => (x === null ? 0 : Number(x)));
      return makeData({ type: TYPES.float64, length: n, nullCount, nullBitmap: bitmap, data });
    }
    case 'int64':
      return makeData({
        type: TYPES.int64,
        length: n,
        nullCount,
        nullBitmap: bitmap,
        data: int64Data(f.values as ArrayLike<number | bigint | null>),
      });
    case 'time':
      return makeData({
        type: TYPES.time,
        length: n,
        nullCount,
        nullBitmap: bitmap,
        data: nanosecondData(f.values as ArrayLike<number | null>),
      });
  }
}

function fieldMetadata(f: Field): Map<string, string> {
  const m = new Map<string, string>([['tstype', TS_TYPE[f.type]]]);
  if (f.labels && Object.keys(f.labels).length > 0) {
    m.set('labels', JSON.stringify(f.labels));
  }
  if (f.config && Object.keys(f.config).length > 0) {
    m.set('config', JSON.stringify(f.config));
  }
  return m;
}

export class FrameEncodingError extends Error {}

/** Checks the frame (equal lengths, non-null where not nullable) and writes it as one Arrow IPC file. */
export function encodeFrame(frame: Frame, refId = frame.refId ?? ''): Uint8Array {
  const length = frame.fields.length === 0 ? 0 : frame.fields[0].values.length;
  for (const f of frame.fields) {
    if (f.values.length !== length) {
      throw new FrameEncodingError(
        `frame ${frame.name}: field ${f.name} has ${f.values.length} values, the first field ${length}`
      );
    }
    if (!f.nullable && !(f.values instanceof Utf8Column) && validity(f.values).nullCount > 0) {
      throw new FrameEncodingError(`frame ${frame.name}: field ${f.name} is not nullable but holds a null`);
    }
  }
  const schemaMeta = new Map<string, string>([
    ['name', frame.name],
    ['refId', refId],
  ]);
  if (frame.meta && Object.keys(frame.meta).length > 0) {
    schemaMeta.set('meta', JSON.stringify(frame.meta));
  }
  const fields = frame.fields.map((f) => new ArrowField(f.name, TYPES[f.type], !!f.nullable, fieldMetadata(f)));
  const schema = new Schema(fields, schemaMeta);
  if (fields.length === 0) {
    // A frame without fields is a schema-only file (the Rust SDK writes the same).
    return tableToIPC(new Table(schema), 'file');
  }
  const children = frame.fields.map(columnData);
  const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children }));
  return tableToIPC(new Table(schema, [batch]), 'file');
}
