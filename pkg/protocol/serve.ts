// SPDX-License-Identifier: Apache-2.0
/*
 * The plugin process's life, as go-plugin expects it: check the host's
 * environment, serve gRPC on loopback, write the handshake line (the first
 * and only bytes ever written to stdout), ignore SIGINT (a Ctrl-C to a
 * foreground Grafana reaches its whole process group), leave on SIGTERM or
 * the controller's Shutdown, and survive anything a single request throws.
 */
import { checkHandshakeEnv, handshakeLine } from './handshake';
import { Logger, createLogger, levelFromEnv } from './logger';
import { PluginHandlers } from './messages';
import { BIND_HOST, startPluginServer } from './server';

export interface ServeOptions {
  env: NodeJS.ProcessEnv;
  /** Builds the data source once the logger exists. */
  handlers: (log: Logger) => PluginHandlers;
  /** Called before the process exits (close agent connections and the like). */
  close?: () => Promise<void> | void;
}

export async function servePlugin(opts: ServeOptions): Promise<void> {
  const check = checkHandshakeEnv(opts.env);
  if (!check.ok) {
    process.stderr.write(check.message + '\n');
    process.exit(check.exitCode);
  }
  const log = createLogger(levelFromEnv(opts.env));

  // Nothing but the handshake may reach stdout: a stray console.log would be
  // read by go-plugin as part of the protocol.
  console.log = (...a: unknown[]) => log.info(a.map(String).join(' '));
  console.info = console.log;
  // eslint-disable-next-line no-console
  console.debug = (...a: unknown[]) => log.debug(a.map(String).join(' '));
  console.warn = (...a: unknown[]) => log.warn(a.map(String).join(' '));
  console.error = (...a: unknown[]) => log.error(a.map(String).join(' '));

  process.on('uncaughtException', (e) =>
    log.error('unexpected error, still serving', { error: String(e?.stack ?? e) })
  );
  process.on('unhandledRejection', (e) => log.error('unexpected rejection, still serving', { error: String(e) }));
  process.on('SIGINT', () => log.debug('SIGINT ignored: Grafana stops plugins through Shutdown'));
  process.on('SIGPIPE', () => undefined);

  let stopping = false;
  let stopServer: (graceMs?: number) => Promise<void> = async () => undefined;
  const shutdown = (why: string) => {
    if (stopping) {
      return;
    }
    stopping = true;
    log.info('stopping', { reason: why });
    // Grafana kills 2 s after Shutdown: finish running calls for at most 1 s.
    const hardStop = setTimeout(() => process.exit(0), 1500);
    hardStop.unref();
    Promise.resolve()
      .then(() => stopServer(1000))
      .then(() => opts.close?.())
      .catch((e) => log.warn('error while stopping', { error: String(e) }))
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  const handlers = opts.handlers(log);
  const server = await startPluginServer(handlers, log, () => shutdown('Shutdown RPC'));
  stopServer = server.stop;
  process.stdout.write(handshakeLine(BIND_HOST, server.port, check.version));
  log.info('serving', { address: `${BIND_HOST}:${server.port}`, protocol: check.version, pid: process.pid });
}
