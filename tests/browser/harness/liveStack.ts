// SPDX-License-Identifier: Apache-2.0
/*
 * Everything real behind the browser tests: one wakeflow agent daemon (real
 * BPF) tracing a set of live workloads that wake each other in different ways
 * (TCP, UDP, a unix socket, an eventfd, a futex, a timer, CPU spinners that
 * preempt each other, and chains of several hops: tests/backend/chain-workloads.ts), the built backend executable launched as Grafana
 * launches it, and the harness server in front of both. Loads BPF: run under
 * `flock /tmp/wakeflow-bpf.lock` (npm test does).
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import {
  freePort,
  get,
  sleep,
  startDaemon,
  stopDaemon,
  stopWorkload,
  waitFor,
  workloadBin,
  type Daemon,
  type Workload,
} from '../../../agent/tests/lib/serve-daemon';
import { startChainWorkloads, type ChainWorkloads } from '../../backend/chain-workloads';
import { pageBundle } from './bundle';
import { startBackendHost, type BackendHost } from './pluginHost';
import { startHarnessServer, type HarnessServer } from './server';

/** Istio's labels of a workload process, as the sidecar injector puts them in its environment (docs/deployment.md). */
export interface PodLabels {
  namespace: string;
  workload: string;
  pod: string;
}

/**
 * Workload modes of agent/build/wakeflow-workload, what each contributes to
 * the panel, and the pod it pretends to be: two namespaces, four workloads,
 * five pods, so that variables and filters have something to narrow.
 */
export const WORKLOADS: Array<{ mode: string; args: string[]; labels: PodLabels }> = [
  { mode: 'tcp', args: ['--interval-us', '2000'], labels: pod('shop', 'frontend', 'frontend-7c9d5-x2k4q') },
  { mode: 'udp', args: ['--interval-us', '3000'], labels: pod('shop', 'frontend', 'frontend-7c9d5-p8m3z') },
  { mode: 'unix', args: ['--interval-us', '2000'], labels: pod('shop', 'cart', 'cart-6b7f4-q9w2e') },
  { mode: 'eventfd', args: ['--interval-us', '1000'], labels: pod('shop', 'cart', 'cart-6b7f4-q9w2e') },
  { mode: 'futex', args: ['--interval-us', '2500'], labels: pod('payments', 'ledger', 'ledger-0') },
  { mode: 'timerfd', args: ['--interval-us', '4000'], labels: pod('payments', 'ledger', 'ledger-0') },
  // Two spinners on one CPU: each loses it half the time, so this pod's preemption ratio is far above the alert's 0.2.
  { mode: 'preempt', args: ['--cpu', '1'], labels: pod('payments', 'fraud', 'fraud-85c4d-j7k2l') },
];

/**
 * A process outside Kubernetes: no pod labels in its environment, so the backend names its series and the
 * panel its thread by the agent that traces it (the `node` label, the agent's host:port).
 */
export const HOST_WORKLOAD = { mode: 'timerfd', args: ['--interval-us', '5000'], thread: 'wf-timerfd' };

function pod(namespace: string, workload: string, name: string): PodLabels {
  return { namespace, workload, pod: name };
}

/** The pods of WORKLOADS under a namespace (and workload), sorted: what the resources must answer. */
export function podsOf(namespace?: string, workload?: string): string[] {
  const pods = WORKLOADS.map((w) => w.labels)
    .filter((l) => (!namespace || l.namespace === namespace) && (!workload || l.workload === workload))
    .map((l) => l.pod);
  return [...new Set(pods)].sort();
}

/** The pod the chain workloads (multi-hop chains, issue 12) pretend to be in: one of WORKLOADS' pods. */
export const CHAIN_POD = WORKLOADS.find((w) => w.mode === 'unix')!.labels;

const labelEnv = (labels: PodLabels) => ({
  POD_NAMESPACE: labels.namespace,
  POD_NAME: labels.pod,
  ISTIO_META_WORKLOAD_NAME: labels.workload,
});

/**
 * A workload with its pod's labels in the environment, where the agent reads them (/proc/PID/environ), or
 * without any (`labels` undefined: outside Kubernetes).
 */
async function startLabelledWorkload(mode: string, args: string[], labels?: PodLabels): Promise<Workload> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...(labels ? labelEnv(labels) : {}) };
  if (!labels) {
    for (const k of Object.keys(labelEnv({ namespace: '', workload: '', pod: '' }))) {
      delete env[k];
    }
  }
  const proc = spawn(workloadBin, [mode, '--duration', '600', ...args], { stdio: 'ignore', env });
  await sleep(50);
  if (proc.exitCode !== null || !proc.pid) {
    throw new Error(`workload ${mode} did not start (${workloadBin}): run scripts/setup to build the agent`);
  }
  return { proc, pid: proc.pid };
}

export interface LiveStack {
  server: HarnessServer;
  backend: BackendHost;
  agent: Daemon;
  /** The agent as the backend names it (its URL's host:port): the `node` label. */
  agentNode: string;
  token: string;
  /** A loopback port nothing listens on: an agent that is down. */
  deadAgentUrl: string;
  /** A range that ended before the last window was stored, so answers no longer change. */
  range: () => { fromMs: number; toMs: number };
  stop: () => Promise<void>;
}

const say = (s: string) => process.stdout.write(`# live stack: ${s}\n`);

export async function startLiveStack(): Promise<LiveStack> {
  const dir = mkdtempSync(path.join(tmpdir(), 'wakeflow-browser-'));
  const token = `browser-${Math.random().toString(36).slice(2)}-token`;
  const tokenFile = path.join(dir, 'token');
  writeFileSync(tokenFile, `${token}\n`);
  chmodSync(tokenFile, 0o600);
  const workloads: Workload[] = [];
  let chains: ChainWorkloads | undefined;
  let agent: Daemon | undefined;
  let backend: BackendHost | undefined;
  try {
    for (const { mode, args, labels } of WORKLOADS) {
      workloads.push(await startLabelledWorkload(mode, args, labels));
    }
    const host = await startLabelledWorkload(HOST_WORKLOAD.mode, HOST_WORKLOAD.args);
    workloads.push(host);
    say(
      `workloads ${WORKLOADS.map((w) => `${w.mode} (${w.labels.namespace}/${w.labels.pod})`).join(', ')} and ${HOST_WORKLOAD.mode} (no pod labels) started`
    );
    chains = await startChainWorkloads(600, labelEnv(CHAIN_POD));
    say(`chain workloads started: a pipeline and a UDP pair (${CHAIN_POD.namespace}/${CHAIN_POD.pod})`);
    agent = await startDaemon([
      '--db',
      path.join(dir, 'agent.db'),
      '--window',
      '1',
      '--token-file',
      tokenFile,
      ...workloads.flatMap((w) => ['--pid', String(w.pid)]),
      ...chains.agentArgs,
    ]);
    await chains.startClient();
    const auth = { Authorization: `Bearer ${token}` };
    await waitFor('every workload traced with its pod labels', async () => {
      const r = await get<{ targets: Array<{ pid: number; alive: boolean; labels?: Record<string, string> }> }>(
        `${agent!.url}/api/v1/targets`,
        auth
      );
      return (
        WORKLOADS.every((w, i) =>
          r.body.targets.some((t) => t.pid === workloads[i].pid && t.alive && t.labels?.pod === w.labels.pod)
        ) && r.body.targets.some((t) => t.pid === host.pid && t.alive && !t.labels?.pod)
      );
    });
    say(`agent ${agent.url} traces ${workloads.length} processes; recording`);
    await sleep(5000);
    // The spinners have made their preemptions; stopped, they leave this 2-CPU machine's CPUs to the browser.
    await stopWorkload(workloads[WORKLOADS.findIndex((w) => w.mode === 'preempt')]);
    backend = await startBackendHost();
    say(`backend handshake in ${Math.round(backend.plugin.handshakeMs)} ms`);
    const server = await startHarnessServer({
      bundle: await pageBundle(say),
      host: backend,
      ds: {
        uid: 'wakeflow',
        jsonData: { agentUrls: [agent.url], timeoutSeconds: 5 },
        secureJsonData: { agentToken: token },
        lastUpdatedMS: Date.now(),
      },
    });
    const deadAgentUrl = `http://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    return {
      server,
      backend,
      agent,
      agentNode: new URL(agent.url).host,
      token,
      deadAgentUrl,
      range: () => {
        const toMs = Math.floor(Date.now() / 1000) * 1000 - 2000;
        return { fromMs: Math.min(started - 10_000, toMs - 60_000), toMs };
      },
      stop: async () => {
        await server.close();
        await backend!.stop();
        await stopDaemon(agent!);
        for (const w of workloads) {
          await stopWorkload(w);
        }
        await chains!.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await backend?.stop();
    if (agent) {
      await stopDaemon(agent);
    }
    for (const w of workloads) {
      await stopWorkload(w);
    }
    await chains?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
