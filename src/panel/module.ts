// SPDX-License-Identifier: Apache-2.0
import { PanelPlugin } from '@grafana/data';

import { ChainsPanel } from './components/ChainsPanel';
import { buildOptions, normalizeOptions, type ChainsPanelOptions } from './options';

export const plugin = new PanelPlugin<ChainsPanelOptions>(ChainsPanel)
  .setPanelOptions(buildOptions)
  // Dashboards saved by any version open with every option valid.
  .setMigrationHandler((panel) => normalizeOptions(panel.options));
