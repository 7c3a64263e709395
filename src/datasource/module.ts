// SPDX-License-Identifier: Apache-2.0
import { DataSourcePlugin } from '@grafana/data';

import { ConfigEditor } from './components/ConfigEditor';
import { QueryEditor } from './components/QueryEditor';
import { QueryHelp } from './components/QueryHelp';
import { DataSource } from './datasource';
import type { WakeflowOptions, WakeflowQuery } from './types';

export const plugin = new DataSourcePlugin<DataSource, WakeflowQuery, WakeflowOptions>(DataSource)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor)
  .setQueryEditorHelp(QueryHelp);
