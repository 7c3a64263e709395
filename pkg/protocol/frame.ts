// SPDX-License-Identifier: Apache-2.0
/*
 * Grafana's data frame, as the plugin SDK models it (data/frame.go): a named
 * list of equally long typed fields with labels and display config, and
 * frame-level meta. Only the types the backend emits exist here, each with
 * one Arrow type in arrow.ts, so nothing is ever inferred.
 */

import { Utf8Column } from './columns';

export type FieldType = 'string' | 'float64' | 'int64' | 'bool' | 'time';

/**
 * The values of a field of each type: a plain array (`null` only in nullable
 * fields), or a column already in Arrow's layout, which the encoder takes
 * without converting it (columns.ts). In a Float64Array, NaN stands for null
 * (agents' numbers are always finite). Times are epoch milliseconds, stored
 * as nanoseconds by the encoder.
 */
export interface FieldValues {
  string: Array<string | null> | Utf8Column;
  float64: Array<number | null> | Float64Array;
  int64: Array<number | bigint | null> | Float64Array;
  bool: Array<boolean | null> | Uint8Array;
  time: Array<number | null> | Float64Array;
}

export interface FieldConfig {
  displayName?: string;
  displayNameFromDS?: string;
  unit?: string;
  decimals?: number;
  min?: number;
  max?: number;
  color?: { mode: string; fixedColor?: string };
  links?: Array<{ title: string; url: string }>;
  custom?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface Field<T extends FieldType = FieldType> {
  name: string;
  type: T;
  values: FieldValues[T];
  nullable?: boolean;
  labels?: Record<string, string>;
  config?: FieldConfig;
}

export type NoticeSeverity = 'info' | 'warning' | 'error';
export interface Notice {
  severity: NoticeSeverity;
  text: string;
}

/** SDK data/frame_meta.go, the keys we use. */
export interface FrameMeta {
  type?: string;
  typeVersion?: [number, number];
  preferredVisualisationType?: string;
  notices?: Notice[];
  executedQueryString?: string;
  custom?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface Frame {
  name: string;
  refId?: string;
  meta?: FrameMeta;
  fields: Field[];
}

/** Typed field constructors: the type is named once, where the field is made. */
function make<T extends FieldType>(type: T) {
  return (name: string, values: FieldValues[T], extra: Partial<Field<T>> = {}): Field<T> => ({
    name,
    type,
    values,
    ...extra,
  });
}

export const field = {
  string: make('string'),
  float64: make('float64'),
  int64: make('int64'),
  bool: make('bool'),
  /** Times in epoch milliseconds (stored as nanoseconds). */
  timeMs: make('time'),
};

/** Rows in a frame: every field must have this many values (checked by the encoder). */
export function frameLength(frame: Frame): number {
  return frame.fields.length === 0 ? 0 : frame.fields[0].values.length;
}

/** Adds notices to a frame's meta (kept in order, after any it had). */
export function withNotices(frame: Frame, notices: Notice[]): Frame {
  if (notices.length === 0) {
    return frame;
  }
  const meta = { ...(frame.meta ?? {}) };
  meta.notices = [...(meta.notices ?? []), ...notices];
  return { ...frame, meta };
}

/** The typed arrays a frame's fields hold (a Utf8Column's offsets and bytes), to be freed once it is encoded. */
export function frameBuffers(frame: Frame): ArrayBufferView[] {
  const out: ArrayBufferView[] = [];
  for (const f of frame.fields) {
    if (f.values instanceof Utf8Column) {
      out.push(f.values.offsets, f.values.data);
    } else if (ArrayBuffer.isView(f.values)) {
      out.push(f.values);
    }
  }
  return out;
}
