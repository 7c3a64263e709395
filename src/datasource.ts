// SPDX-License-Identifier: Apache-2.0
import { CoreApp, ScopedVars } from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv } from '@grafana/runtime';

import { withDefaults } from './query';
import { DEFAULT_QUERY, FILTER_KEYS, WakeflowOptions, WakeflowQuery } from './types';

/**
 * Queries go to the plugin backend (`pkg/`, a later issue), which asks the
 * agents; the browser only prepares them.
 */
export class DataSource extends DataSourceWithBackend<WakeflowQuery, WakeflowOptions> {
  getDefaultQuery(_: CoreApp): Partial<WakeflowQuery> {
    return DEFAULT_QUERY;
  }

  /** Filters take dashboard variables (the Istio dashboards' `$namespace`, `$workload`, ...). */
  applyTemplateVariables(query: WakeflowQuery, scopedVars: ScopedVars): WakeflowQuery {
    const templateSrv = getTemplateSrv();
    const resolved = withDefaults(query);
    for (const key of FILTER_KEYS) {
      const value = resolved[key];
      if (value) {
        resolved[key] = templateSrv.replace(value, scopedVars);
      }
    }
    return resolved;
  }
}
