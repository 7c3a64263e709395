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
  DataType,
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

import { Field, FieldType, Frame } from './frame';

function arrowType(t: FieldType): DataType {
  switch (t) {
    case 'string':
      return new Utf8();
    case 'float64':
      return new Float64();
    case 'int64':
      return new Int64();
    case 'bool':
      return new Bool();
    case 'time':
      return new TimestampNanosecond();
  }
}

/** The SDK's TypeScript type names (data/arrow.go getTypeScriptTypeString). */
const TS_TYPE: Record<FieldType, string> = {
  string: 'string',
  float64: 'number',
  int64: 'number',
  bool: 'boolean',
  time: 'time',
};

/** Validity bitmap (1 = value present) or undefined when nothing is null. */
function validity(values: readonly unknown[]): { bitmap?: Uint8Array; nullCount: number } {
  let nullCount = 0;
  for (const v of values) {
    if (v === null || v === undefined) {
      nullCount++;
    }
  }
  if (nullCount === 0) {
    return { nullCount };
  }
  const bitmap = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((v, i) => {
    if (v !== null && v !== undefined) {
      bitmap[i >> 3] |= 1 << (i & 7);
    }
  });
  return { bitmap, nullCount };
}

function columnData(f: Field): Data {
  const type = arrowType(f.type);
  const n = f.values.length;
  const { bitmap, nullCount } = validity(f.values);
  if (f.type === 'string') {
    // Offsets and UTF-8 bytes written directly: apache-arrow's generic builder
    // is several times slower on the chains table's stack columns (~2 MB).
    const values = f.values as Array<string | null>;
    const valueOffsets = new Int32Array(n + 1);
    let total = 0;
    for (let i = 0; i < n; i++) {
      total += values[i] === null ? 0 : Buffer.byteLength(values[i] as string, 'utf8');
      valueOffsets[i + 1] = total;
    }
    const data = Buffer.allocUnsafe(total);
    for (let i = 0; i < n; i++) {
      if (values[i] !== null) {
        data.write(values[i] as string, valueOffsets[i], 'utf8');
      }
    }
    return makeData({
      type: type as Utf8,
      length: n,
      nullCount,
      nullBitmap: bitmap,
      valueOffsets,
      data: new Uint8Array(data.buffer, data.byteOffset, total),
    });
  }
  if (f.type === 'bool') {
    const data = new Uint8Array(Math.ceil(n / 8));
    f.values.forEach((v, i) => {
      if (v === true) {
        data[i >> 3] |= 1 << (i & 7);
      }
    });
    return makeData({ type: type as Bool, length: n, nullCount, nullBitmap: bitmap, data });
  }
  if (f.type === 'float64') {
    const data = new Float64Array(n);
    f.values.forEach((v, i) => (data[i] = v === null ? 0 : Number(v)));
    return makeData({ type: type as Float64, length: n, nullCount, nullBitmap: bitmap, data });
  }
  // int64 and time: 64-bit integers written as they are (time already in ns).
  const data = new BigInt64Array(n);
  f.values.forEach((v, i) => {
    data[i] = v === null ? 0n : typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v)));
  });
  if (f.type === 'int64') {
    return makeData({ type: type as Int64, length: n, nullCount, nullBitmap: bitmap, data });
  }
  return makeData({ type: type as TimestampNanosecond, length: n, nullCount, nullBitmap: bitmap, data });
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
    if (!f.nullable && f.values.some((v) => v === null || v === undefined)) {
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
  const fields = frame.fields.map((f) => new ArrowField(f.name, arrowType(f.type), !!f.nullable, fieldMetadata(f)));
  const schema = new Schema(fields, schemaMeta);
  if (fields.length === 0) {
    // A frame without fields is a schema-only file (the Rust SDK writes the same).
    return tableToIPC(new Table(schema), 'file');
  }
  const children = frame.fields.map(columnData);
  const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children }));
  return tableToIPC(new Table(schema, [batch]), 'file');
}
