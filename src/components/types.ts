// SPDX-License-Identifier: Apache-2.0
import { WakeflowQuery } from '../types';

/** Props of an editor for one query type: it only ever sees and returns a query of that type. */
export interface ModeEditorProps<Q extends WakeflowQuery> {
  query: Q;
  onChange: (query: Q) => void;
  onRunQuery: () => void;
}

export const LABEL_WIDTH = 14;
