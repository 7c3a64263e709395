// SPDX-License-Identifier: Apache-2.0
/*
 * Our .proto files are Grafana's wire contract: the packages, services and
 * field numbers below are the ones grafana-plugin-sdk-go's proto/backend.proto
 * and go-plugin's protos define (read at SDK ecae76cc). A renumbered field
 * would silently read as empty on one side, so each one we rely on is pinned.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import protobuf from 'protobufjs';

import { PROTO_FILES, loadProtos, parseProto, servedServices } from './protos';

const FIELDS: Record<string, Record<string, [number, string]>> = {
  'pluginv2.DataSourceInstanceSettings': {
    id: [1, 'int64'],
    name: [2, 'string'],
    url: [3, 'string'],
    jsonData: [8, 'bytes'],
    decryptedSecureJsonData: [9, 'string'],
    lastUpdatedMS: [10, 'int64'],
    uid: [11, 'string'],
  },
  'pluginv2.PluginContext': {
    orgId: [1, 'int64'],
    pluginId: [2, 'string'],
    user: [3, 'User'],
    dataSourceInstanceSettings: [5, 'DataSourceInstanceSettings'],
    grafanaConfig: [6, 'string'],
    pluginVersion: [7, 'string'],
  },
  'pluginv2.TimeRange': { fromEpochMS: [1, 'int64'], toEpochMS: [2, 'int64'] },
  'pluginv2.DataQuery': {
    refId: [1, 'string'],
    maxDataPoints: [2, 'int64'],
    intervalMS: [3, 'int64'],
    timeRange: [4, 'TimeRange'],
    json: [5, 'bytes'],
    queryType: [6, 'string'],
  },
  'pluginv2.QueryDataRequest': {
    pluginContext: [1, 'PluginContext'],
    headers: [2, 'string'],
    queries: [3, 'DataQuery'],
  },
  'pluginv2.QueryDataResponse': { responses: [1, 'DataResponse'] },
  'pluginv2.DataResponse': {
    frames: [1, 'bytes'],
    error: [2, 'string'],
    status: [4, 'int32'],
    errorSource: [5, 'string'],
    format: [6, 'DataFrameFormat'],
  },
  'pluginv2.CallResourceRequest': {
    pluginContext: [1, 'PluginContext'],
    path: [2, 'string'],
    method: [3, 'string'],
    url: [4, 'string'],
    headers: [5, 'StringList'],
    body: [6, 'bytes'],
  },
  'pluginv2.CallResourceResponse': { code: [1, 'int32'], headers: [2, 'StringList'], body: [3, 'bytes'] },
  'pluginv2.StringList': { values: [1, 'string'] },
  'pluginv2.CheckHealthRequest': { pluginContext: [1, 'PluginContext'], headers: [2, 'string'] },
  'pluginv2.CheckHealthResponse': { status: [1, 'HealthStatus'], message: [2, 'string'], jsonDetails: [3, 'bytes'] },
  'pluginv2.CollectMetricsRequest': { pluginContext: [1, 'PluginContext'] },
  'pluginv2.CollectMetricsResponse': { metrics: [1, 'Payload'] },
  'pluginv2.CollectMetricsResponse.Payload': { prometheus: [1, 'bytes'] },
  'grpc.health.v1.HealthCheckRequest': { service: [1, 'string'] },
  'grpc.health.v1.HealthCheckResponse': { status: [1, 'ServingStatus'] },
};

const SERVICES: Record<string, string[]> = {
  'pluginv2.Data': ['QueryData', 'QueryChunkedData'],
  'pluginv2.Diagnostics': ['CheckHealth', 'CollectMetrics'],
  'pluginv2.Resource': ['CallResource'],
  'plugin.GRPCController': ['Shutdown'],
  'grpc.health.v1.Health': ['Check', 'Watch'],
};

function lookup<T extends protobuf.ReflectionObject>(name: string): T {
  for (const f of PROTO_FILES) {
    const found = parseProto(f).lookup(name);
    if (found) {
      return found as T;
    }
  }
  throw new Error(`${name} is in none of ${PROTO_FILES.join(', ')}`);
}

test("the field numbers and types we rely on are Grafana's", () => {
  for (const [msg, fields] of Object.entries(FIELDS)) {
    const type = lookup<protobuf.Type>(msg);
    for (const [name, [id, t]] of Object.entries(fields)) {
      const f = type.fields[name];
      assert.ok(f, `${msg}.${name} exists`);
      assert.equal(f.id, id, `${msg}.${name} is field ${id}`);
      assert.equal(f.type, t, `${msg}.${name} is ${t}`);
    }
  }
  const health = lookup<protobuf.Enum>('pluginv2.CheckHealthResponse.HealthStatus');
  assert.deepEqual({ ...health.values }, { UNKNOWN: 0, OK: 1, ERROR: 2 });
  assert.deepEqual({ ...lookup<protobuf.Enum>('pluginv2.DataFrameFormat').values }, { ARROW: 0, JSON: 1 });
  assert.equal(lookup<protobuf.Enum>('grpc.health.v1.HealthCheckResponse.ServingStatus').values.SERVING, 1);
});

test('the services and methods Grafana calls, with their streaming', () => {
  for (const [svc, methods] of Object.entries(SERVICES)) {
    const s = lookup<protobuf.Service>(svc);
    assert.deepEqual(Object.keys(s.methods).sort(), [...methods].sort(), svc);
  }
  const callResource = lookup<protobuf.Service>('pluginv2.Resource').methods.CallResource;
  assert.equal(callResource.responseStream, true, 'CallResource answers a stream');
  const p = loadProtos();
  assert.equal(p.pluginv2.Data.service.QueryData.path, '/pluginv2.Data/QueryData');
  assert.equal(p.controller.service.Shutdown.path, '/plugin.GRPCController/Shutdown');
  assert.equal(p.health.service.Check.path, '/grpc.health.v1.Health/Check');
});

test("the server's service definitions are proto-loader's: paths, streaming, names, bytes and JS shapes", () => {
  const loaded = loadProtos();
  const served = servedServices();
  const theirs = {
    data: loaded.pluginv2.Data.service,
    diagnostics: loaded.pluginv2.Diagnostics.service,
    resource: loaded.pluginv2.Resource.service,
    controller: loaded.controller.service,
    health: loaded.health.service,
  };
  // Messages as Grafana and our handlers send them: nested, repeated, maps, bytes, int64, enums, defaults left out.
  const samples: Record<string, object> = {
    QueryData: {
      pluginContext: {
        orgId: 1,
        pluginId: 'wakeflow',
        dataSourceInstanceSettings: {
          id: 7,
          uid: 'u',
          jsonData: Buffer.from('{"a":1}'),
          lastUpdatedMS: 1764000000000,
          decryptedSecureJsonData: { agentToken: 't' },
        },
      },
      headers: { a: 'b' },
      queries: [
        {
          refId: 'A',
          maxDataPoints: 43200,
          intervalMS: 1000,
          timeRange: { fromEpochMS: 1, toEpochMS: 2 },
          json: Buffer.from('{}'),
        },
      ],
    },
    CheckHealth: { pluginContext: { orgId: 2 } },
    CallResource: { path: 'pods', method: 'GET', headers: { h: { values: ['1', '2'] } }, body: Buffer.alloc(0) },
    Check: { service: 'plugin' },
  };
  const replies: Record<string, object> = {
    QueryData: {
      responses: { A: { frames: [Buffer.from([1, 2, 3])], status: 200, error: '' }, B: { status: 400, error: 'no' } },
    },
    CheckHealth: { status: 'ERROR', message: 'm', jsonDetails: Buffer.from('{}') },
    CollectMetrics: { metrics: { prometheus: Buffer.from('x 1\n') } },
    CallResource: { code: 404, headers: { 'Content-Type': { values: ['application/json'] } }, body: Buffer.from('{}') },
    Check: { status: 'SERVING' },
    Watch: { status: 'SERVING' },
  };
  for (const key of Object.keys(theirs) as Array<keyof typeof theirs>) {
    const a = served[key];
    const b = theirs[key];
    assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), key);
    for (const m of Object.keys(b)) {
      for (const prop of ['path', 'requestStream', 'responseStream', 'originalName'] as const) {
        assert.equal(a[m][prop], b[m][prop], `${key}.${m}.${prop}`);
      }
      for (const [msg, ser, de] of [
        [samples[m] ?? {}, 'requestSerialize', 'requestDeserialize'],
        [replies[m] ?? {}, 'responseSerialize', 'responseDeserialize'],
      ] as const) {
        const bytes = a[m][ser](msg);
        assert.deepEqual(bytes, b[m][ser](msg), `${key}.${m}.${ser}`);
        assert.deepEqual(a[m][de](bytes), b[m][de](bytes), `${key}.${m}.${de}`);
      }
    }
  }
});

test("a QueryData answer's serializer frees its frames once they are in the message, and the message once grpc-js has copied it", async () => {
  const serialize = servedServices().data.QueryData.responseSerialize;
  const deserialize = loadProtos().pluginv2.Data.service.QueryData.responseDeserialize;
  const frame = Buffer.allocUnsafeSlow(65536).fill(9);
  const bytes = serialize({ responses: { A: { frames: [frame], status: 200, error: '' } } }) as Buffer;
  assert.equal(frame.length, 0, 'the frame is freed once copied into the message');
  // What grpc-js does before serialize's caller returns: the message copied behind its length prefix.
  const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), bytes]);
  const decoded = deserialize(framed.subarray(5)) as { responses: Record<string, { frames: Buffer[] }> };
  assert.deepEqual(decoded.responses.A.frames[0], Buffer.alloc(65536, 9));
  await Promise.resolve();
  assert.equal(bytes.length, 0, 'the message is freed at the next microtask');
  assert.deepEqual((deserialize(framed.subarray(5)) as typeof decoded).responses.A.frames[0], Buffer.alloc(65536, 9));
});
