// SPDX-License-Identifier: Apache-2.0
/*
 * What Grafana's server does between the plugin and the browser: the Arrow
 * frames of a QueryData answer become the JSON data frames of /api/ds/query
 * (the Go SDK's data.FrameToJSON): a schema (name, refId, meta, fields with
 * type, typeInfo, labels and config) and the columns, times as epoch
 * milliseconds with the sub-millisecond nanoseconds beside them.
 */
import { Type } from '@uwdata/flechette';

import type { DecodedFrame, DecodedResponse } from '../../backend/grafana-host';

interface FieldJson {
  name: string;
  type: 'string' | 'number' | 'boolean' | 'time' | 'other';
  typeInfo: { frame: string; nullable?: boolean };
  labels?: Record<string, string>;
  config?: Record<string, unknown>;
}

export interface FrameJson {
  schema: { name?: string; refId?: string; meta?: Record<string, unknown>; fields: FieldJson[] };
  data: { values: unknown[][]; nanos?: Array<number[] | null> };
}

function kind(typeId: number): Pick<FieldJson, 'type'> & { frame: string } {
  switch (typeId) {
    case Type.Utf8:
    case Type.LargeUtf8:
      return { type: 'string', frame: 'string' };
    case Type.Float:
      return { type: 'number', frame: 'float64' };
    case Type.Int:
      return { type: 'number', frame: 'int64' };
    case Type.Bool:
      return { type: 'boolean', frame: 'bool' };
    case Type.Timestamp:
      return { type: 'time', frame: 'time.Time' };
    default:
      return { type: 'other', frame: 'json.RawMessage' };
  }
}

export function frameToJson(frame: DecodedFrame): FrameJson {
  const values: unknown[][] = [];
  const nanos: Array<number[] | null> = [];
  let anyNanos = false;
  const fields = frame.fields.map((f, i) => {
    const k = kind(f.typeId);
    if (k.type === 'time') {
      // The stored int64 is nanoseconds: milliseconds in values, the rest in nanos.
      const ms: Array<number | null> = [];
      const ns: number[] = [];
      for (const v of f.values) {
        if (v === null || v === undefined) {
          ms.push(null);
          ns.push(0);
        } else {
          const n = BigInt(v as bigint | number);
          ms.push(Number(n / 1_000_000n));
          ns.push(Number(n % 1_000_000n));
        }
      }
      values.push(ms);
      const hasNs = ns.some((x) => x !== 0);
      nanos[i] = hasNs ? ns : null;
      anyNanos ||= hasNs;
    } else {
      values.push(f.values.map((v) => (typeof v === 'bigint' ? Number(v) : v)));
      nanos[i] = null;
    }
    const json: FieldJson = {
      name: f.name,
      type: k.type,
      typeInfo: { frame: k.frame, ...(f.nullable ? { nullable: true } : {}) },
    };
    if (f.labels && Object.keys(f.labels).length > 0) {
      json.labels = f.labels;
    }
    if (f.config && Object.keys(f.config).length > 0) {
      json.config = f.config;
    }
    return json;
  });
  return {
    schema: { name: frame.name, refId: frame.refId, meta: frame.meta, fields },
    data: anyNanos ? { values, nanos } : { values },
  };
}

/** One refId's result as /api/ds/query answers it. */
export function resultToJson(r: DecodedResponse) {
  const ok = !r.error && (r.status === 0 || (r.status >= 200 && r.status < 300));
  return {
    ok,
    json: {
      status: r.status || 200,
      frames: r.frames.map(frameToJson),
      ...(r.error ? { error: r.error, errorSource: r.errorSource } : {}),
    },
  };
}
