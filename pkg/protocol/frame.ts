// SPDX-License-Identifier: Apache-2.0
/*
 * Grafana's data frame, as the plugin SDK models it (data/frame.go): a named
 * list of equally long typed fields with labels and display config, and
 * frame-level meta. Only the types the backend emits exist here, each with
 * one Arrow type in arrow.ts, so nothing is ever inferred.
 */

export type FieldType = 'string' | 'float64' | 'int64' | 'bool' | 'time';

/** JS value of one cell per type; `time` is epoch nanoseconds. `null` only in nullable fields. */
export interface FieldValues {
  string: string;
  float64: number;
  int64: number | bigint;
  bool: boolean;
  time: bigint;
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
  values: Array<FieldValues[T] | null>;
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
export const field = {
  string: (name: string, values: Array<string | null>, extra: Partial<Field<'string'>> = {}): Field<'string'> => ({
    name,
    type: 'string',
    values,
    ...extra,
  }),
  float64: (name: string, values: Array<number | null>, extra: Partial<Field<'float64'>> = {}): Field<'float64'> => ({
    name,
    type: 'float64',
    values,
    ...extra,
  }),
  int64: (
    name: string,
    values: Array<number | bigint | null>,
    extra: Partial<Field<'int64'>> = {}
  ): Field<'int64'> => ({
    name,
    type: 'int64',
    values,
    ...extra,
  }),
  bool: (name: string, values: Array<boolean | null>, extra: Partial<Field<'bool'>> = {}): Field<'bool'> => ({
    name,
    type: 'bool',
    values,
    ...extra,
  }),
  /** Times given in epoch milliseconds, stored as nanoseconds. */
  timeMs: (name: string, ms: Array<number | null>, extra: Partial<Field<'time'>> = {}): Field<'time'> => ({
    name,
    type: 'time',
    values: ms.map((v) => (v === null ? null : BigInt(Math.round(v)) * 1_000_000n)),
    ...extra,
  }),
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
