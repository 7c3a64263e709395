// SPDX-License-Identifier: Apache-2.0
import { GrafanaTheme2 } from '@grafana/data';

import { CATEGORIES, categoryColor, PREEMPT_GROUP } from '../shared/taxonomy';

/*
 * One colour per category everywhere (this panel, its legend, the built-in
 * panels' overrides, the Node Graph arcs the backend colours): the fixed
 * Grafana colour name of src/shared/taxonomy.ts, resolved by the theme so it
 * has the same hue in light and dark.
 */
export function categoryCssColor(theme: GrafanaTheme2, category: string): string {
  return theme.visualization.getColorByName(categoryColor(category));
}

/** The human name of a category (`TCP data`), or its id for one the taxonomy does not know. */
export function categoryName(category: string): string {
  return CATEGORIES.find((c) => c.id === category)?.name ?? category;
}

/** Preempted or yielded: the scheduler took the CPU, nothing woke the thread. */
export function isPreemptCategory(category: string): boolean {
  return CATEGORIES.find((c) => c.id === category)?.group === PREEMPT_GROUP || category.startsWith('preempt.');
}
