// SPDX-License-Identifier: Apache-2.0
import { DataSourcePlugin } from '@grafana/data';

import { ConfigEditor } from './components/ConfigEditor';
import { QueryEditor } from './components/QueryEditor';
import { DataSource } from './datasource';
import { WakeflowOptions, WakeflowQuery } from './types';

export const plugin = new DataSourcePlugin<DataSource, WakeflowQuery, WakeflowOptions>(DataSource)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor);
