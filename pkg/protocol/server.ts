// SPDX-License-Identifier: Apache-2.0
/*
 * The plugin's gRPC server: binds 127.0.0.1 on a free port and serves the
 * services Grafana's plugin host calls (proto/*.proto). Every handler is
 * wrapped so that a thrown error becomes one gRPC error with one sentence,
 * never a dead process. The data source's logic comes in as PluginHandlers.
 */
import * as grpc from '@grpc/grpc-js';

import { Logger } from './logger';
import {
  CallResourceRequest,
  CallResourceResponse,
  CheckHealthRequest,
  CollectMetricsRequest,
  PluginHandlers,
  QueryDataRequest,
} from './messages';
import { servedServices } from './protos';

/** What the Go SDK accepts (backend/serve.go); grpc-js would stop at 4 MiB. */
export const MAX_RECEIVE_BYTES = 16 * 1024 * 1024;
export const BIND_HOST = '127.0.0.1';

export interface PluginServer {
  port: number;
  /** Stops accepting calls, lets running ones finish for up to graceMs, then drops them. */
  stop(graceMs?: number): Promise<void>;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A unary handler that never throws past gRPC: failures answer INTERNAL with the error's sentence. */
function unary<Req, Res>(log: Logger, method: string, fn: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call.request).then(
      (res) => callback(null, res),
      (e: unknown) => {
        log.error('request failed', { method, error: errorMessage(e) });
        callback({ code: grpc.status.INTERNAL, details: `${method} failed: ${errorMessage(e)}` });
      }
    );
  };
}

export async function startPluginServer(
  handlers: PluginHandlers,
  log: Logger,
  onShutdown: () => void
): Promise<PluginServer> {
  const services = servedServices();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
    'grpc.max_send_message_length': -1,
  });

  server.addService(services.data, {
    QueryData: unary<QueryDataRequest, unknown>(log, 'QueryData', (r) => handlers.queryData(r)),
    // QueryChunkedData is left out: grpc-js answers UNIMPLEMENTED, which Grafana reads as "not supported".
  });
  server.addService(services.diagnostics, {
    CheckHealth: unary<CheckHealthRequest, unknown>(log, 'CheckHealth', (r) => handlers.checkHealth(r)),
    CollectMetrics: unary<CollectMetricsRequest, unknown>(log, 'CollectMetrics', (r) => handlers.collectMetrics(r)),
  });
  server.addService(services.resource, {
    // A server stream of which we send exactly one message: Grafana fails a
    // resource call that got none ("received empty resource response").
    CallResource: (call: grpc.ServerWritableStream<CallResourceRequest, CallResourceResponse>) => {
      handlers.callResource(call.request).then(
        (res) => {
          call.write(res);
          call.end();
        },
        (e: unknown) => {
          log.error('request failed', { method: 'CallResource', error: errorMessage(e) });
          call.write({
            code: 500,
            headers: { 'Content-Type': { values: ['application/json'] } },
            body: Buffer.from(JSON.stringify({ error: `resource call failed: ${errorMessage(e)}` })),
          });
          call.end();
        }
      );
    },
  });
  server.addService(services.controller, {
    Shutdown: (_call: unknown, callback: grpc.sendUnaryData<object>) => {
      log.info('shutdown requested by the plugin host');
      callback(null, {});
      // After the answer is on its way: Grafana waits 2 s, then kills us.
      setImmediate(onShutdown);
    },
  });
  // go-plugin's health check asks for service "plugin"; we are healthy for any name while we run.
  server.addService(services.health, {
    Check: (_call: unknown, callback: grpc.sendUnaryData<object>) => callback(null, { status: 'SERVING' }),
    Watch: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      call.write({ status: 'SERVING' });
    },
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${BIND_HOST}:0`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p)
    );
  });

  return {
    port,
    stop: (graceMs = 1000) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
