// SPDX-License-Identifier: Apache-2.0
/*
 * Loads the .proto files. They travel inside the executable as Node SEA
 * assets (pkg/build/build.ts puts them there), so the backend reads nothing
 * from its working directory or the plugin folder; run from source (tests,
 * tsx) they are read from proto/ beside this file.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

import { freeNow } from './free-now';
import { QueryDataResponse } from './messages';

export const PROTO_FILES = ['backend.proto', 'grpc_controller.proto', 'health.proto'] as const;
export type ProtoFile = (typeof PROTO_FILES)[number];

/** The message whose frames serializeResponse frees once it is written. */
const QUERY_DATA_RESPONSE = '.pluginv2.QueryDataResponse';

/** Options shared by the server and the test harness, so both see the same JS shapes (messages.ts). */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
};

interface SeaModule {
  isSea(): boolean;
  getAsset(key: string, encoding: string): string;
}

function seaModule(): SeaModule | undefined {
  try {
    // node:sea exists from Node 20.12; in a plain `node` run isSea() is false.

    return require('node:sea') as SeaModule;
  } catch {
    return undefined;
  }
}

export function protoSource(name: ProtoFile): string {
  const sea = seaModule();
  if (sea?.isSea()) {
    return sea.getAsset(name, 'utf8');
  }
  return readFileSync(path.join(__dirname, 'proto', name), 'utf8');
}

/** Parses one .proto's text into a protobufjs root (used by the field-number test too). */
export function parseProto(name: ProtoFile): protobuf.Root {
  return protobuf.parse(protoSource(name), new protobuf.Root(), { keepCase: true }).root;
}

export interface PluginProtos {
  pluginv2: {
    Data: grpc.ServiceClientConstructor;
    Diagnostics: grpc.ServiceClientConstructor;
    Resource: grpc.ServiceClientConstructor;
  };
  controller: grpc.ServiceClientConstructor;
  health: grpc.ServiceClientConstructor;
}

/** The services a plugin serves, each by its full name (the gRPC path's first part). */
export const SERVED_SERVICES = {
  data: ['backend.proto', 'pluginv2.Data'],
  diagnostics: ['backend.proto', 'pluginv2.Diagnostics'],
  resource: ['backend.proto', 'pluginv2.Resource'],
  controller: ['grpc_controller.proto', 'plugin.GRPCController'],
  health: ['health.proto', 'grpc.health.v1.Health'],
} as const satisfies Record<string, readonly [ProtoFile, string]>;
export type ServedService = keyof typeof SERVED_SERVICES;

/**
 * The served services' definitions for grpc.Server, made from the parsed
 * .proto files with the same (de)serializers @grpc/proto-loader makes
 * (fromObject + encode; decode + toObject with LOADER_OPTIONS), so handlers
 * see the very same JS shapes. proto-loader also builds a descriptor proto
 * of every message for reflection, which we never use: that cost ~35 ms of
 * the ~230 ms before the handshake, so the server does without it (the test
 * harness, a client, still loads through proto-loader: loadProtos).
 */
export function servedServices(): Record<ServedService, grpc.ServiceDefinition> {
  const roots = new Map<ProtoFile, protobuf.Root>();
  const rootOf = (file: ProtoFile): protobuf.Root => {
    let r = roots.get(file);
    if (!r) {
      r = parseProto(file);
      r.resolveAll();
      roots.set(file, r);
    }
    return r;
  };
  const serialize = (t: protobuf.Type) => (arg: object) => {
    if (Array.isArray(arg)) {
      throw new Error(`Failed to serialize message: expected object with ${t.name} structure, got array instead`);
    }
    // A Buffer in Node (protobufjs writes through Buffer there), as proto-loader returns it: not copied again.
    return t.encode(t.fromObject(arg)).finish() as Buffer;
  };
  /**
   * A response's serializer, which also frees what the message no longer
   * needs (free-now.ts): a QueryData answer's frames once they are copied
   * into the message, and the message itself once grpc-js has copied it
   * behind its 5-byte length prefix, which it does before serialize's caller
   * returns (server-interceptors.js, serializeMessage), so before any
   * microtask runs.
   */
  const serializeResponse = (t: protobuf.Type) => {
    const encode = serialize(t);
    return (arg: object) => {
      const bytes = encode(arg);
      if (t.fullName === QUERY_DATA_RESPONSE) {
        for (const r of Object.values((arg as QueryDataResponse).responses ?? {})) {
          r.frames?.forEach(freeNow);
        }
      }
      queueMicrotask(() => freeNow(bytes));
      return bytes;
    };
  };
  const deserialize = (t: protobuf.Type) => (buf: Buffer) => t.toObject(t.decode(buf), LOADER_OPTIONS);
  const out = {} as Record<ServedService, grpc.ServiceDefinition>;
  for (const [key, [file, name]] of Object.entries(SERVED_SERVICES) as Array<[ServedService, [ProtoFile, string]]>) {
    const service = rootOf(file).lookupService(name);
    const def: Record<string, grpc.MethodDefinition<object, object>> = {};
    for (const m of service.methodsArray) {
      const req = m.resolvedRequestType!;
      const res = m.resolvedResponseType!;
      def[m.name] = {
        path: `/${name}/${m.name}`,
        requestStream: !!m.requestStream,
        responseStream: !!m.responseStream,
        requestSerialize: serialize(req),
        requestDeserialize: deserialize(req),
        responseSerialize: serializeResponse(res),
        responseDeserialize: deserialize(res),
        originalName: m.name.charAt(0).toLowerCase() + m.name.slice(1),
      };
    }
    out[key] = def;
  }
  return out;
}

export function loadProtos(): PluginProtos {
  const load = (name: ProtoFile) =>
    grpc.loadPackageDefinition(protoLoader.fromJSON(parseProto(name).toJSON(), LOADER_OPTIONS));

  const backend = load('backend.proto') as any;
  const controller = load('grpc_controller.proto') as any;
  const health = load('health.proto') as any;
  return {
    pluginv2: {
      Data: backend.pluginv2.Data,
      Diagnostics: backend.pluginv2.Diagnostics,
      Resource: backend.pluginv2.Resource,
    },
    controller: controller.plugin.GRPCController,
    health: health.grpc.health.v1.Health,
  };
}
