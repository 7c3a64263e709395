// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's chain workloads (agent/tests/chains/chainload.c) for the
 * backend and browser tests: real threads that wake each other in known
 * chains, traced by a real agent daemon.
 *
 *   pipeline:  [timer] -> wf-a -[ipc.eventfd]-> wf-b -[ipc.pipe]-> wf-c, one process (wf-chainload)
 *   udp pair:  [timer] -> wfc-client -[net.udp]-> wf-srv -[net.unix]-> wf-tgt, two processes; the client is
 *              followed with --chain-comm (it is not a target itself)
 *
 * Built once per test process by agent/tests/lib/chainload.ts, as the agent's own suites build it.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { buildChainload, startChainload, type ChainloadProcess } from '../../agent/tests/lib/chainload';

export interface ChainWorkloads {
  /** Pids the agent traces (`--pid`). */
  pids: number[];
  /** The agent's extra flags: the pids, and the client followed by name. */
  agentArgs: string[];
  pipelinePid: number;
  serverPid: number;
  /**
   * Starts the UDP client: call it once the agent runs, which then sees its
   * exec and follows it by name (a process started before may be missed).
   */
  startClient: () => Promise<number>;
  stop: () => Promise<void>;
}

async function kill(r: ChainloadProcess): Promise<void> {
  if (r.proc.exitCode === null && r.proc.signalCode === null) {
    r.proc.kill('SIGKILL');
    await once(r.proc, 'exit');
  }
}

/**
 * Builds chainload and starts the pipeline and the UDP server for `seconds`
 * (the client: startClient), with `labels` in their environment (a pod's).
 */
export async function startChainWorkloads(seconds = 600, labels: NodeJS.ProcessEnv = {}): Promise<ChainWorkloads> {
  const dir = mkdtempSync(path.join(tmpdir(), 'wakeflow-chainload-'));
  const bin = path.join(dir, 'wf-chainload');
  // The client runs under its own exec name, so that --chain-comm can name it.
  const client = path.join(dir, 'wfc-client');
  buildChainload(bin);
  copyFileSync(bin, client);
  execFileSync('chmod', ['+x', client]);
  const env = { ...labels, CHAINLOAD_MS: String(seconds * 1000) };
  const port = 20000 + Math.floor(Math.random() * 20000);
  const started: ChainloadProcess[] = [];
  try {
    const pipeline = startChainload(bin, ['pipeline'], env);
    started.push(pipeline);
    const server = startChainload(bin, ['udp-server', String(port)], env);
    started.push(server);
    await Promise.all([pipeline.ready, server.ready]);
    const pids = [pipeline.proc.pid!, server.proc.pid!];
    return {
      pids,
      agentArgs: [...pids.flatMap((p) => ['--pid', String(p)]), '--chain-comm', '^wfc-client$'],
      pipelinePid: pipeline.proc.pid!,
      serverPid: server.proc.pid!,
      startClient: async () => {
        const cli = startChainload(client, ['udp-client', String(port)], env);
        started.push(cli);
        await cli.ready;
        return cli.proc.pid!;
      },
      stop: async () => {
        for (const r of started) {
          await kill(r);
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const r of started) {
      await kill(r);
    }
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
