// SPDX-License-Identifier: Apache-2.0
import { AppPlugin } from '@grafana/data';

import { App } from './app/App';

/*
 * The app plugin is the installable unit: it carries the data source
 * (src/datasource/) and the panel (src/panel/) as nested plugins, and its one
 * page is the query cheat sheet.
 */
export const plugin = new AppPlugin<{}>().setRootPage(App);
