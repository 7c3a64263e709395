// SPDX-License-Identifier: Apache-2.0
/*
 * The pluginv2 messages as @grpc/proto-loader hands them to us with the
 * options in protos.ts (keepCase, int64 as Number, bytes as Buffer, enums as
 * their names, defaults filled in). Only the fields the backend reads or
 * writes are typed; proto/backend.proto is the full contract.
 */

export interface DataSourceInstanceSettings {
  id: number;
  name: string;
  url: string;
  uid: string;
  jsonData: Buffer;
  decryptedSecureJsonData: Record<string, string>;
  lastUpdatedMS: number;
}

export interface PluginContext {
  orgId: number;
  pluginId: string;
  dataSourceInstanceSettings: DataSourceInstanceSettings | null;
  grafanaConfig: Record<string, string>;
  pluginVersion: string;
  userAgent: string;
}

export interface TimeRange {
  fromEpochMS: number;
  toEpochMS: number;
}

export interface DataQuery {
  refId: string;
  maxDataPoints: number;
  intervalMS: number;
  timeRange: TimeRange | null;
  json: Buffer;
  queryType: string;
}

export interface QueryDataRequest {
  pluginContext: PluginContext | null;
  headers: Record<string, string>;
  queries: DataQuery[];
}

export interface DataResponse {
  frames: Uint8Array[];
  error: string;
  status: number;
  errorSource: '' | 'plugin' | 'downstream';
}

export interface QueryDataResponse {
  responses: Record<string, DataResponse>;
}

export interface CheckHealthRequest {
  pluginContext: PluginContext | null;
  headers: Record<string, string>;
}

export type HealthStatus = 'UNKNOWN' | 'OK' | 'ERROR';

export interface CheckHealthResponse {
  status: HealthStatus;
  message: string;
  jsonDetails: Buffer;
}

export interface CollectMetricsRequest {
  pluginContext: PluginContext | null;
}

export interface CollectMetricsResponse {
  metrics: { prometheus: Buffer };
}

export interface StringList {
  values: string[];
}

export interface CallResourceRequest {
  pluginContext: PluginContext | null;
  path: string;
  method: string;
  url: string;
  headers: Record<string, StringList>;
  body: Buffer;
}

export interface CallResourceResponse {
  code: number;
  headers: Record<string, StringList>;
  body: Buffer;
}

/** What the data source implements; the server turns each into its RPC. */
export interface PluginHandlers {
  queryData(req: QueryDataRequest): Promise<QueryDataResponse>;
  checkHealth(req: CheckHealthRequest): Promise<CheckHealthResponse>;
  collectMetrics(req: CollectMetricsRequest): Promise<CollectMetricsResponse>;
  callResource(req: CallResourceRequest): Promise<CallResourceResponse>;
}
