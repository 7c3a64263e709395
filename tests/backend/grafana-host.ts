// SPDX-License-Identifier: Apache-2.0
/*
 * A Grafana plugin host for tests and the demo: launches the built backend
 * executable the way Grafana's plugin manager does (go-plugin: only the
 * magic cookie and protocol versions in the environment, no PATH or HOME,
 * another working directory), reads the handshake line, and calls the
 * pluginv2 services over gRPC. Frames are decoded with @uwdata/flechette, an
 * Arrow reader other than the apache-arrow writer the backend uses.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import * as grpc from '@grpc/grpc-js';
import { Type, tableFromIPC } from '@uwdata/flechette';

import { loadProtos } from '../../pkg/protocol/protos';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const backendExe =
  process.env.WAKEFLOW_BACKEND_EXE ?? path.join(repoRoot, 'dist', 'datasource', 'gpx_wakeflow_linux_amd64');
export const backendArm64Exe = path.join(repoRoot, 'dist', 'datasource', 'gpx_wakeflow_linux_arm64');

/**
 * How an arm64 executable runs on this x86_64 machine: Debian's qemu-user-static
 * with the arm64 C and C++ runtimes of Debian's cross packages as its root
 * (scripts/setup installs both). Invoked directly, not through binfmt_misc
 * (which a container may not register); the program still sees only the
 * environment it is given.
 */
export const QEMU_ARM64 = ['qemu-aarch64-static', '-L', '/usr/aarch64-linux-gnu'];

/** Exactly what Grafana's plugin manager puts in the environment (reference §1.4, with host env skipped). */
export const GRAFANA_ENV = { grafana_plugin_type: 'datasource', PLUGIN_PROTOCOL_VERSIONS: '2' };

export interface LogLine {
  '@level': string;
  '@message': string;
  '@timestamp': string;
  [k: string]: unknown;
}

type Client = grpc.Client & Record<string, any>;

export interface PluginProcess {
  proc: ChildProcess;
  handshake: string;
  address: string;
  /** ms from spawn to the handshake line. */
  handshakeMs: number;
  stdout: () => string;
  stderr: () => string;
  logs: () => LogLine[];
  data: Client;
  diagnostics: Client;
  resource: Client;
  controller: Client;
  health: Client;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop: () => Promise<void>;
}

export async function startPlugin(
  opts: {
    exe?: string;
    env?: Record<string, string>;
    timeoutMs?: number;
    /** A program the executable runs under (an emulator: qemuArm64()), with its arguments. */
    via?: string[];
  } = {}
): Promise<PluginProcess> {
  const cwd = mkdtempSync(path.join(tmpdir(), 'wakeflow-host-'));
  const t0 = performance.now();
  const exe = opts.exe ?? backendExe;
  const [command, ...args] = opts.via ? [...opts.via, exe] : [exe];
  const proc = spawn(command, args, {
    env: opts.env ?? GRAFANA_ENV,
    cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => {
      rmSync(cwd, { recursive: true, force: true });
      resolve({ code, signal });
    })
  );
  const handshake = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no handshake within ${opts.timeoutMs ?? 10000} ms: ${err}`)),
      opts.timeoutMs ?? 10000
    );
    proc.stdout!.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`plugin exited with ${code} before the handshake: ${err}`));
    });
  });
  const handshakeMs = performance.now() - t0;
  const parts = handshake.split('|');
  if (parts.length < 5 || parts[0] !== '1' || parts[1] !== '2' || parts[2] !== 'tcp' || parts[4] !== 'grpc') {
    proc.kill('SIGKILL');
    throw new Error(`not a go-plugin handshake: ${handshake}`);
  }
  const address = parts[3];
  const protos = loadProtos();
  const creds = grpc.credentials.createInsecure();
  const options = { 'grpc.max_receive_message_length': -1 };
  const mk = (C: grpc.ServiceClientConstructor) => new C(address, creds, options) as Client;
  const p: PluginProcess = {
    proc,
    handshake,
    address,
    handshakeMs,
    stdout: () => out,
    stderr: () => err,
    logs: () =>
      err
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as LogLine),
    data: mk(protos.pluginv2.Data),
    diagnostics: mk(protos.pluginv2.Diagnostics),
    resource: mk(protos.pluginv2.Resource),
    controller: mk(protos.controller),
    health: mk(protos.health),
    exited,
    stop: async () => {
      for (const c of [p.data, p.diagnostics, p.resource, p.controller, p.health]) {
        c.close();
      }
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
    },
  };
  return p;
}

export function unaryCall<T>(client: Client, method: string, req: object, deadlineMs = 30000): Promise<T> {
  return new Promise((resolve, reject) => {
    client[method](req, { deadline: Date.now() + deadlineMs }, (e: grpc.ServiceError | null, res: T) =>
      e ? reject(e) : resolve(res)
    );
  });
}

/* --- request builders, shaped like Grafana's ----------------------------- */

export interface InstanceSettings {
  jsonData: Record<string, unknown>;
  secure?: Record<string, string>;
  uid?: string;
  lastUpdatedMS?: number;
}

export function pluginContext(s: InstanceSettings) {
  return {
    orgId: 1,
    pluginId: 'wakeflow-offwake-datasource',
    user: { login: 'admin', name: 'admin', email: '', role: 'Admin' },
    dataSourceInstanceSettings: {
      id: 7,
      name: 'wakeflow',
      uid: s.uid ?? 'wakeflow-test',
      jsonData: Buffer.from(JSON.stringify(s.jsonData)),
      decryptedSecureJsonData: s.secure ?? {},
      lastUpdatedMS: s.lastUpdatedMS ?? 1,
    },
    grafanaConfig: {},
    pluginVersion: '0.1.0',
    userAgent: 'Grafana/12.3.0 (test host)',
  };
}

export interface QuerySpec {
  refId: string;
  model: Record<string, unknown> | string;
  fromMs: number;
  toMs: number;
  maxDataPoints?: number;
  intervalMs?: number;
}

export function queryRequest(s: InstanceSettings, queries: QuerySpec[], headers: Record<string, string> = {}) {
  return {
    pluginContext: pluginContext(s),
    headers,
    queries: queries.map((q) => ({
      refId: q.refId,
      maxDataPoints: q.maxDataPoints ?? 1000,
      intervalMS: q.intervalMs ?? 1000,
      timeRange: { fromEpochMS: q.fromMs, toEpochMS: q.toMs },
      json: Buffer.from(typeof q.model === 'string' ? q.model : JSON.stringify(q.model)),
      queryType: typeof q.model === 'string' ? '' : String(q.model.queryType ?? ''),
    })),
  };
}

/* --- frames, read back with flechette ----------------------------------- */

export interface DecodedField {
  name: string;
  /** Arrow type id (flechette's Type enum) and, for timestamps, the unit. */
  typeId: number;
  unit?: number;
  nullable: boolean;
  metadata: Record<string, string>;
  labels?: Record<string, string>;
  config?: Record<string, any>;
  values: unknown[];
}

export interface DecodedFrame {
  name: string;
  refId: string;
  meta?: Record<string, any>;
  fields: DecodedField[];
  bytes: number;
  field: (name: string) => DecodedField;
}

const toRecord = (m: Map<string, string> | null | undefined): Record<string, string> =>
  Object.fromEntries(m ?? new Map());

export function decodeFrame(buf: Uint8Array): DecodedFrame {
  const magic = Buffer.from(buf.subarray(0, 6)).toString('latin1');
  if (magic !== 'ARROW1') {
    throw new Error(`frame is not an Arrow IPC file (starts with ${JSON.stringify(magic)})`);
  }
  // gRPC hands out slices of one receive buffer; flechette wants 8-byte aligned data, so copy.
  const table = tableFromIPC(new Uint8Array(buf), { useBigInt: true });
  const sm = toRecord(table.schema.metadata);
  const fields: DecodedField[] = table.schema.fields.map((f: any, i: number) => {
    const md = toRecord(f.metadata);
    const col = table.getChildAt(i);
    return {
      name: f.name,
      typeId: f.type.typeId,
      unit: f.type.unit,
      nullable: f.nullable,
      metadata: md,
      labels: md.labels ? JSON.parse(md.labels) : undefined,
      config: md.config ? JSON.parse(md.config) : undefined,
      // flechette turns timestamps into epoch-ms numbers; the stored int64 (what Grafana's reader takes as ns) is in the batches.
      values: !col
        ? []
        : f.type.typeId === Type.Timestamp
          ? col.data.flatMap((b: any) => Array.from(b.values as BigInt64Array))
          : Array.from(col.toArray() as ArrayLike<unknown>),
    };
  });
  return {
    name: sm.name,
    refId: sm.refId,
    meta: sm.meta ? JSON.parse(sm.meta) : undefined,
    fields,
    bytes: buf.length,
    field(name: string) {
      const f = fields.find((x) => x.name === name);
      if (!f) {
        throw new Error(`frame ${sm.name} has no field ${name} (it has ${fields.map((x) => x.name).join(', ')})`);
      }
      return f;
    },
  };
}

export interface DecodedResponse {
  status: number;
  error: string;
  errorSource: string;
  frames: DecodedFrame[];
}

export async function query(
  p: PluginProcess,
  req: object,
  deadlineMs = 30000
): Promise<Record<string, DecodedResponse>> {
  const res = await unaryCall<{
    responses: Record<string, { frames: Buffer[]; status: number; error: string; errorSource: string }>;
  }>(p.data, 'QueryData', req, deadlineMs);
  const out: Record<string, DecodedResponse> = {};
  for (const [refId, r] of Object.entries(res.responses)) {
    out[refId] = {
      status: r.status,
      error: r.error,
      errorSource: r.errorSource,
      frames: r.frames.map((b) => decodeFrame(b)),
    };
  }
  return out;
}

export async function checkHealth(p: PluginProcess, s: InstanceSettings) {
  const r = await unaryCall<{ status: string; message: string; jsonDetails: Buffer }>(p.diagnostics, 'CheckHealth', {
    pluginContext: pluginContext(s),
    headers: {},
  });
  return {
    status: r.status,
    message: r.message,
    details: r.jsonDetails.length ? JSON.parse(r.jsonDetails.toString()) : undefined,
  };
}

export interface ResourceAnswer {
  messages: number;
  code: number;
  headers: Record<string, string[]>;
  body: any;
}

export function callResource(
  p: PluginProcess,
  s: InstanceSettings,
  url: string,
  method = 'GET'
): Promise<ResourceAnswer> {
  return new Promise((resolve, reject) => {
    const [pathPart] = url.split('?');
    const call = p.resource.CallResource({
      pluginContext: pluginContext(s),
      path: pathPart,
      method,
      url,
      headers: {},
      body: Buffer.alloc(0),
    });
    const msgs: Array<{ code: number; headers: Record<string, { values: string[] }>; body: Buffer }> = [];
    call.on('data', (m: (typeof msgs)[number]) => msgs.push(m));
    call.on('error', reject);
    call.on('end', () => {
      if (msgs.length === 0) {
        reject(new Error('received empty resource response'));
        return;
      }
      const first = msgs[0];
      const body = Buffer.concat(msgs.map((m) => m.body)).toString();
      resolve({
        messages: msgs.length,
        code: first.code,
        headers: Object.fromEntries(Object.entries(first.headers).map(([k, v]) => [k, v.values])),
        body: body ? JSON.parse(body) : undefined,
      });
    });
  });
}

export async function collectMetrics(p: PluginProcess): Promise<string> {
  const r = await unaryCall<{ metrics: { prometheus: Buffer } }>(p.diagnostics, 'CollectMetrics', {
    pluginContext: null,
  });
  return r.metrics.prometheus.toString();
}

/** Nanosecond times of a time field as bigint. */
export function nsValues(f: DecodedField): bigint[] {
  return f.values.map((v) => BigInt(v as bigint | number));
}
