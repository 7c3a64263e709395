// SPDX-License-Identifier: Apache-2.0
import type { QueryType } from '../../shared/query';
import type { QueryOf } from '../types';

/** Props of the editor of one query type: it only ever sees and returns a query of that type. */
export interface TypeEditorProps<T extends QueryType> {
  query: QueryOf<T>;
  /** Commits a change and runs the query (Grafana runs what was last passed to onChange). */
  onChange: (query: QueryOf<T>) => void;
}

export const LABEL_WIDTH = 14;
