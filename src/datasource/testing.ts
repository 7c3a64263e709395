// SPDX-License-Identifier: Apache-2.0
/*
 * Test doubles of Grafana's own services for the data source's unit tests:
 * the template service (dashboard variables) and the instance settings.
 * Browser tests use Grafana's real packages instead.
 */
import type { DataSourceInstanceSettings, ScopedVars, TypedVariableModel } from '@grafana/data';
import type { TemplateSrv } from '@grafana/runtime';

import type { WakeflowOptions } from './types';

type Value = string | string[];

/**
 * Grafana's template service reduced to what the data source relies on:
 * `$name`, `${name}` and `[[name]]` replaced from the panel's scoped
 * variables first, then the dashboard's; a multi-value variable handed to the
 * format function as a list; unknown variables left as written.
 */
export class DashboardVariables implements TemplateSrv {
  constructor(private readonly values: Record<string, Value>) {}

  replace(target?: string, scopedVars?: ScopedVars, format?: string | Function): string {
    return (target ?? '').replace(/\$\{(\w+)(?::[\w-]+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, (whole, a, b, c) => {
      const name: string = a ?? b ?? c;
      const value: Value | undefined = (scopedVars?.[name]?.value as Value | undefined) ?? this.values[name];
      if (value === undefined) {
        return whole;
      }
      if (typeof format === 'function') {
        return format(value);
      }
      return Array.isArray(value) ? `{${value.join(',')}}` : value;
    });
  }

  getVariables(): TypedVariableModel[] {
    return Object.entries(this.values).map(
      ([name, value]) => ({ name, current: { value } }) as unknown as TypedVariableModel
    );
  }

  containsTemplate(target?: string): boolean {
    return /\$\w+|\$\{\w+|\[\[\w+/.test(target ?? '');
  }

  updateTimeRange(): void {}
}

export const instanceSettings: DataSourceInstanceSettings<WakeflowOptions> = {
  uid: 'wakeflow-test',
  type: 'wakeflow-offwake-datasource',
  name: 'Wakeflow',
  access: 'proxy',
  jsonData: {},
  readOnly: false,
  meta: { id: 'wakeflow-offwake-datasource', info: { version: 'test' } } as DataSourceInstanceSettings['meta'],
};

/**
 * The labels of an editor's fields (InlineField's <label>), not those of the choices inside a radio group nor
 * the empty <label> an InlineSwitch draws as its track.
 */
export function fieldLabels(root: HTMLElement): HTMLLabelElement[] {
  return Array.from(root.querySelectorAll('label')).filter(
    (label) => !label.closest('[role="radiogroup"]') && (label.textContent ?? '').trim() !== ''
  );
}

/**
 * The fields of an editor whose label has no info icon: every InlineField of our editors carries a tooltip,
 * which Grafana draws as an info-circle icon inside the label, so a field without one stands out.
 */
export function labelsWithoutInfoIcon(root: HTMLElement): string[] {
  return fieldLabels(root)
    .filter((label) => label.querySelector('[data-testid="info-circle"]') === null)
    .map((label) => label.textContent ?? '');
}
