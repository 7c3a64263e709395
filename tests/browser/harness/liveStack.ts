// SPDX-License-Identifier: Apache-2.0
/*
 * Everything real behind the browser tests: one wakeflow agent daemon (real
 * BPF) tracing a set of live workloads that wake each other in different ways
 * (TCP, UDP, a unix socket, an eventfd, a futex, a timer, CPU spinners that
 * preempt each other), the built backend executable launched as Grafana
 * launches it, and the harness server in front of both. Loads BPF: run under
 * `flock /tmp/wakeflow-bpf.lock` (npm test does).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import {
  freePort,
  get,
  sleep,
  startDaemon,
  startWorkload,
  stopDaemon,
  stopWorkload,
  waitFor,
  type Daemon,
  type Workload,
} from '../../../agent/tests/lib/serve-daemon';
import { pageBundle } from './bundle';
import { startBackendHost, type BackendHost } from './pluginHost';
import { startHarnessServer, type HarnessServer } from './server';

/** Workload modes of agent/build/wakeflow-workload and what each contributes to the panel. */
export const WORKLOADS: Array<[mode: string, args: string[]]> = [
  ['tcp', ['--interval-us', '2000']],
  ['udp', ['--interval-us', '3000']],
  ['unix', ['--interval-us', '2000']],
  ['eventfd', ['--interval-us', '1000']],
  ['futex', ['--interval-us', '2500']],
  ['timerfd', ['--interval-us', '4000']],
  ['preempt', ['--cpu', '1']],
];

export interface LiveStack {
  server: HarnessServer;
  backend: BackendHost;
  agent: Daemon;
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
  let agent: Daemon | undefined;
  let backend: BackendHost | undefined;
  try {
    for (const [mode, args] of WORKLOADS) {
      workloads.push(await startWorkload(mode, args));
    }
    say(`workloads ${WORKLOADS.map(([m]) => m).join(', ')} started`);
    agent = await startDaemon([
      '--db',
      path.join(dir, 'agent.db'),
      '--window',
      '1',
      '--token-file',
      tokenFile,
      ...workloads.flatMap((w) => ['--pid', String(w.pid)]),
    ]);
    const auth = { Authorization: `Bearer ${token}` };
    await waitFor('every workload traced', async () => {
      const r = await get<{ targets: Array<{ pid: number; alive: boolean }> }>(`${agent!.url}/api/v1/targets`, auth);
      return workloads.every((w) => r.body.targets.some((t) => t.pid === w.pid && t.alive));
    });
    say(`agent ${agent.url} traces ${workloads.length} processes; recording`);
    await sleep(5000);
    // The spinners have made their preemptions; stopped, they leave this 2-CPU machine's CPUs to the browser.
    await stopWorkload(workloads[WORKLOADS.findIndex(([mode]) => mode === 'preempt')]);
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
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
