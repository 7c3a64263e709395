// SPDX-License-Identifier: Apache-2.0
/*
 * The build of the three plugins (the app at src/, the data source at
 * src/datasource/, the panel at src/panel/). create-plugin's configuration
 * (.config/webpack, left as scaffolded) already makes one AMD entry per
 * `src/**\/plugin.json` + `module.ts` and copies every JSON file, but it copies
 * the logos and README of the root plugin only. Each nested plugin is its own
 * plugin in Grafana's catalog (its own logo, its own README page), so their
 * files are copied here too.
 */
import CopyWebpackPlugin from 'copy-webpack-plugin';
import type { Configuration } from 'webpack';

import grafanaConfig, { type Env } from './.config/webpack/webpack.config';

/** Nested plugin folders under src/, each with plugin.json, module.ts, README.md and img/. */
export const NESTED_PLUGINS = ['datasource', 'panel'] as const;

const config = async (env: Env): Promise<Configuration> => {
  const base = await grafanaConfig(env);
  base.plugins = [
    ...(base.plugins ?? []),
    new CopyWebpackPlugin({
      patterns: NESTED_PLUGINS.flatMap((dir) => [
        { from: `${dir}/README.md`, to: `${dir}/README.md` },
        { from: `${dir}/img`, to: `${dir}/img` },
      ]),
    }),
  ];
  return base;
};

export default config;
