// SPDX-License-Identifier: Apache-2.0
/*
 * Dashboard variables in filters. Each filter value may be a variable
 * (`$namespace`, `${pod}`, `[[workload]]`) or contain one; a multi-value
 * variable becomes several values, and a variable set to "All" removes the
 * filter (All means every value, which is no filter, and the agents' limit of
 * 16 values per filter would otherwise refuse a large namespace). A variable
 * the dashboard does not define is no filter either: a panel copied from
 * "Envoy wakeups" into Istio's Workload dashboard, which has no `$pod`, then
 * still shows every pod of `$workload` instead of nothing.
 */
import type { ScopedVars } from '@grafana/data';
import type { TemplateSrv } from '@grafana/runtime';

/**
 * Joins the values of a multi-value variable while replacing. A control
 * character: the backend refuses them in filter values, so it can never be
 * part of a real value.
 */
const SEPARATOR = '\u001f';
const ALL = '$__all';
const WHOLE_VARIABLE = /^(?:\$(\w+)|\$\{(\w+)(?::[\w-]+)?\}|\[\[(\w+)(?::[\w-]+)?\]\])$/;

function variableName(text: string): string | undefined {
  const m = WHOLE_VARIABLE.exec(text.trim());
  return m ? (m[1] ?? m[2] ?? m[3]) : undefined;
}

function isAll(value: unknown): boolean {
  return value === ALL || (Array.isArray(value) && value.includes(ALL));
}

/** Whether the variable the text consists of is set to "All", in the panel's scope or the dashboard's. */
function isDefined(name: string, templateSrv: TemplateSrv, scopedVars: ScopedVars): boolean {
  return name in scopedVars || templateSrv.getVariables().some((v) => v.name === name);
}

function selectsAll(name: string, templateSrv: TemplateSrv, scopedVars: ScopedVars): boolean {
  const scoped = scopedVars[name];
  if (scoped) {
    return isAll(scoped.value);
  }
  const variable = templateSrv.getVariables().find((v) => v.name === name) as
    { current?: { value?: unknown } } | undefined;
  return isAll(variable?.current?.value);
}

const joinValues = (value: unknown): string =>
  Array.isArray(value) ? value.map(String).join(SEPARATOR) : String(value ?? '');

/** The values of one filter with every variable replaced; an empty list means no filter. */
export function expandFilterValues(values: string[], templateSrv: TemplateSrv, scopedVars: ScopedVars): string[] {
  const expanded: string[] = [];
  for (const value of values) {
    const name = variableName(value);
    if (
      name !== undefined &&
      (!isDefined(name, templateSrv, scopedVars) || selectsAll(name, templateSrv, scopedVars))
    ) {
      // Every value, or a variable this dashboard lacks: no filter on this key.
      return [];
    }
    for (const piece of templateSrv.replace(value, scopedVars, joinValues).split(SEPARATOR)) {
      const v = piece.trim();
      if (v !== '' && !expanded.includes(v)) {
        expanded.push(v);
      }
    }
  }
  return expanded;
}

/** Whether any filter value refers to a variable (Grafana re-runs such queries when the variable changes). */
export function hasVariables(values: string[], templateSrv: TemplateSrv): boolean {
  return values.some((v) => templateSrv.containsTemplate(v));
}
