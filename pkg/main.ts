// SPDX-License-Identifier: Apache-2.0
/*
 * The backend executable's entry point: the plugin protocol (pkg/protocol)
 * serving the wakeflow data source (pkg/datasource).
 */
// First: V8 flags the process sets on itself before anything allocates.
import './heap-flags';
import { WakeflowDataSource } from './datasource/datasource';
import { closeConnections } from './datasource/agent-client';
import { servePlugin } from './protocol/serve';

void servePlugin({
  env: process.env,
  handlers: (log) => new WakeflowDataSource(log),
  close: closeConnections,
});
