// SPDX-License-Identifier: Apache-2.0
/*
 * The data source API of the harness server answered by the real backend
 * executable, the way Grafana's server answers it: /api/ds/query becomes one
 * QueryData call (each query's JSON as sent, the body's time range), health
 * becomes CheckHealth (HTTP 200 for OK, 400 otherwise, as Grafana's
 * /api/datasources/uid/:uid/health), resources become CallResource. The
 * plugin process is launched by tests/backend/grafana-host.ts exactly as
 * Grafana's plugin manager launches it.
 */
import {
  callResource,
  checkHealth,
  query,
  queryRequest,
  startPlugin,
  type InstanceSettings,
  type PluginProcess,
} from '../../backend/grafana-host';
import { resultToJson } from './grafanaJson';
import type { DataSourceState, PluginHost, QueryBody } from './server';

function settingsOf(ds: DataSourceState): InstanceSettings {
  return { uid: ds.uid, jsonData: ds.jsonData, secure: ds.secureJsonData, lastUpdatedMS: ds.lastUpdatedMS };
}

export interface BackendHost extends PluginHost {
  plugin: PluginProcess;
  stop: () => Promise<void>;
}

export async function startBackendHost(): Promise<BackendHost> {
  const plugin = await startPlugin();
  return {
    plugin,
    stop: () => plugin.stop(),
    async query(ds: DataSourceState, body: QueryBody) {
      const fromMs = Number(body.from);
      const toMs = Number(body.to);
      const specs = body.queries.map((q, i) => ({
        refId: q.refId ?? String.fromCharCode(65 + i),
        model: q,
        fromMs,
        toMs,
        maxDataPoints: typeof q.maxDataPoints === 'number' ? q.maxDataPoints : 100,
        intervalMs: typeof q.intervalMs === 'number' ? q.intervalMs : 1000,
      }));
      const answers = await query(plugin, queryRequest(settingsOf(ds), specs));
      const results: Record<string, unknown> = {};
      let failed = false;
      for (const [refId, r] of Object.entries(answers)) {
        const { ok, json } = resultToJson(r);
        failed ||= !ok;
        results[refId] = json;
      }
      // Grafana answers 400 when any query of the request failed (pkg/api/ds_query.go), the others' frames included.
      return { status: failed ? 400 : 200, json: { results } };
    },
    async resource(ds: DataSourceState, pathAndQuery: string) {
      const answer = await callResource(plugin, settingsOf(ds), pathAndQuery);
      return { status: answer.code, json: answer.body };
    },
    async health(ds: DataSourceState) {
      const h = await checkHealth(plugin, settingsOf(ds));
      return { status: h.status === 'OK' ? 200 : 400, json: h };
    },
  };
}
