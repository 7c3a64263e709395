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

export const PROTO_FILES = ['backend.proto', 'grpc_controller.proto', 'health.proto'] as const;
export type ProtoFile = (typeof PROTO_FILES)[number];

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
