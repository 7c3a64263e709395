// SPDX-License-Identifier: Apache-2.0
/*
 * The wakeflow data source: Grafana's requests (pluginv2 messages) in,
 * agents asked, frames out. One instance per configured data source, rebuilt
 * when its settings change. Every failure is answered, never thrown to the
 * protocol layer: a bad query is its refId's 400, an agent that fails is a
 * notice, all agents failing is that refId's 502.
 */
import { NOTICES_FRAME, TIMESERIES } from '../../src/shared/frames';
import { QueryType } from '../../src/shared/query';
import { encodeFrame } from '../protocol/arrow';
import { BufferLedger } from '../protocol/free-now';
import { Frame, frameBuffers, withNotices } from '../protocol/frame';
import { Logger } from '../protocol/logger';
import {
  CallResourceRequest,
  CallResourceResponse,
  CheckHealthRequest,
  CheckHealthResponse,
  CollectMetricsResponse,
  DataQuery,
  DataResponse,
  DataSourceInstanceSettings,
  PluginHandlers,
  QueryDataRequest,
  QueryDataResponse,
} from '../protocol/messages';
import { ClientOptions, DEFAULT_MAX_ANSWER_BYTES } from './agent-client';
import { Discovery, Resolver, systemResolver } from './discovery';
import { checkHealth } from './health';
import { BackendMetrics } from './metrics';
import { QueryError, decodeQuery } from './query';
import { categoriesQuery } from './queries/categories';
import { chainsQuery } from './queries/chains';
import { AgentsFailedError, QueryAnswer, QueryEnv } from './queries/context';
import { flamegraphQuery } from './queries/flamegraph';
import { preemptionQuery } from './queries/preemption';
import { targetsQuery } from './queries/targets';
import { callResource } from './resources';
import { Settings, SettingsCache, SettingsResult, parseSettings } from './settings';

export interface Instance {
  settings: SettingsResult;
  discovery?: Discovery;
}

export interface DataSourceOptions {
  resolver?: Resolver;
  maxAnswerBytes?: number;
}

/** Where the agents are and how to talk to them, or the settings' one error sentence. */
export type EnvResult = { ok: true; env: QueryEnv; settings: Settings } | { ok: false; status: number; error: string };

const SERIES_TYPES: ReadonlySet<QueryType> = new Set(['categories', 'preemption']);

export class WakeflowDataSource implements PluginHandlers {
  readonly metrics = new BackendMetrics();
  private instances: SettingsCache<Instance>;

  constructor(
    private log: Logger,
    private opts: DataSourceOptions = {}
  ) {
    this.instances = new SettingsCache((s) => {
      const settings = parseSettings(s.jsonData, s.decryptedSecureJsonData ?? {});
      if (!settings.ok) {
        this.log.warn('data source settings are invalid', { datasource: s.uid || s.id, error: settings.error });
        return { settings };
      }
      return { settings, discovery: new Discovery(settings.settings, this.opts.resolver ?? systemResolver) };
    });
  }

  /** The query environment for a request's data source. */
  async environment(ds: DataSourceInstanceSettings | null | undefined): Promise<EnvResult> {
    if (!ds) {
      return {
        ok: false,
        status: 400,
        error: 'The request names no data source instance: Grafana sends one with every query.',
      };
    }
    const inst = this.instances.get(ds);
    if (!inst.settings.ok) {
      return { ok: false, status: 400, error: inst.settings.error };
    }
    const settings = inst.settings.settings;
    const agents = await inst.discovery!.agents();
    if (!agents.ok) {
      return { ok: false, status: 502, error: agents.error };
    }
    const client: ClientOptions = {
      timeoutMs: settings.timeoutMs,
      token: settings.token,
      maxBytes: this.opts.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES,
    };
    return {
      ok: true,
      settings,
      env: {
        agents: agents.agents,
        client,
        maxConcurrency: settings.maxConcurrency,
        metrics: this.metrics,
        log: this.log,
      },
    };
  }

  async queryData(req: QueryDataRequest): Promise<QueryDataResponse> {
    const env = await this.environment(req.pluginContext?.dataSourceInstanceSettings);
    const responses: Record<string, DataResponse> = {};
    const answers = await Promise.all((req.queries ?? []).map((q) => this.answerOne(q, env)));
    (req.queries ?? []).forEach((q, i) => (responses[q.refId] = answers[i]));
    return { responses };
  }

  private async answerOne(q: DataQuery, envResult: EnvResult): Promise<DataResponse> {
    const t0 = performance.now();
    let type = 'unknown';
    let outcome = 'ok';
    const owned = new BufferLedger();
    try {
      const decoded = decodeQuery(q);
      type = decoded.model.queryType;
      if (!envResult.ok) {
        outcome = envResult.status === 400 ? 'bad_request' : 'failed';
        return { frames: [], error: envResult.error, status: envResult.status, errorSource: 'downstream' };
      }
      const answer = await this.run(decoded.model.queryType, decoded, {
        ...envResult.env,
        client: { ...envResult.env.client, answers: owned },
      });
      if (answer.failedAgents > 0) {
        outcome = 'partial';
      }
      const frames = this.finish(decoded.model.queryType, answer);
      const encoded = frames.map((f) => encodeFrame(f, q.refId));
      // The encoded bytes are copies: the columns die here (freed in the finally below).
      frames.forEach((f) => frameBuffers(f).forEach((b) => owned.keep(b)));
      return { frames: encoded, error: '', status: 200, errorSource: '' };
    } catch (e) {
      if (e instanceof QueryError) {
        outcome = 'bad_request';
        return { frames: [], error: e.message, status: 400, errorSource: 'downstream' };
      }
      if (e instanceof AgentsFailedError) {
        outcome = 'failed';
        return { frames: [], error: e.message, status: 502, errorSource: 'downstream' };
      }
      outcome = 'failed';
      this.log.error('query failed inside the backend', {
        refId: q.refId,
        error: e instanceof Error ? e.stack : String(e),
      });
      return {
        frames: [],
        error: `The wakeflow backend failed on this query: ${e instanceof Error ? e.message : String(e)}.`,
        status: 500,
        errorSource: 'plugin',
      };
    } finally {
      owned.freeAll();
      const seconds = (performance.now() - t0) / 1000;
      this.metrics.queries.inc({ query_type: type, outcome });
      this.metrics.queryDuration.observe({ query_type: type }, seconds);
      this.log.debug('query answered', { refId: q.refId, queryType: type, outcome, ms: Math.round(seconds * 1000) });
    }
  }

  private run(type: QueryType, q: ReturnType<typeof decodeQuery>, env: QueryEnv): Promise<QueryAnswer> {
    const m = q.model;
    switch (m.queryType) {
      case 'categories':
        return categoriesQuery(q, m, env);
      case 'preemption':
        return preemptionQuery(q, m, env);
      case 'chains':
        return chainsQuery(q, m, env);
      case 'flamegraph':
        return flamegraphQuery(q, m, env);
      case 'targets':
        return targetsQuery(q, m, env);
    }
    throw new QueryError(`queryType ${type} has no handler.`);
  }

  /** Notices go on the first frame; with no frame, on an empty `notices` frame (alerting reads it as no data). */
  private finish(type: QueryType, a: QueryAnswer): Frame[] {
    if (a.frames.length === 0) {
      const meta = SERIES_TYPES.has(type) ? { type: TIMESERIES.type, typeVersion: TIMESERIES.typeVersion } : {};
      return [withNotices({ name: NOTICES_FRAME, meta, fields: [] }, a.notices)];
    }
    return [withNotices(a.frames[0], a.notices), ...a.frames.slice(1)];
  }

  async checkHealth(req: CheckHealthRequest): Promise<CheckHealthResponse> {
    const res = await checkHealth(await this.environment(req.pluginContext?.dataSourceInstanceSettings));
    this.metrics.healthChecks.inc({ status: res.status });
    return res;
  }

  async collectMetrics(): Promise<CollectMetricsResponse> {
    return { metrics: { prometheus: Buffer.from(this.metrics.render()) } };
  }

  async callResource(req: CallResourceRequest): Promise<CallResourceResponse> {
    const res = await callResource(req, (ds) => this.environment(ds), this.log);
    this.metrics.resources.inc({ path: res.pathLabel, code: String(res.response.code) });
    return res.response;
  }
}
