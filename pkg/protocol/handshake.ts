// SPDX-License-Identifier: Apache-2.0
/*
 * The go-plugin handshake as Grafana's plugin manager runs it
 * (grafana-plugin-sdk-go backend/grpcplugin/handshake.go, hashicorp/go-plugin
 * docs/internals.md): the host sets the magic cookie and the protocol
 * versions it speaks in the environment; the plugin answers with one line on
 * stdout, `CORE|APP|NETWORK|ADDRESS|PROTOCOL`, once its listener is bound.
 */

export const MAGIC_COOKIE_KEY = 'grafana_plugin_type';
export const MAGIC_COOKIE_VALUE = 'datasource';
/** go-plugin's own protocol (the line's first field); nothing else is accepted. */
export const CORE_PROTOCOL_VERSION = 1;
/** Grafana's plugin protocol; Grafana refuses anything below 2. */
export const APP_PROTOCOL_VERSION = 2;

export type HandshakeCheck = { ok: true; version: number } | { ok: false; message: string; exitCode: number };

/** Whether the environment is Grafana's; the failure is one sentence for a person who started us by hand. */
export function checkHandshakeEnv(env: NodeJS.ProcessEnv): HandshakeCheck {
  if (env[MAGIC_COOKIE_KEY] !== MAGIC_COOKIE_VALUE) {
    return {
      ok: false,
      exitCode: 1,
      message:
        'This is the wakeflow Grafana data source backend: Grafana starts it as a plugin; ' +
        'it is not meant to be run by hand (install the plugin into Grafana instead).',
    };
  }
  const offered = (env.PLUGIN_PROTOCOL_VERSIONS ?? '')
    .split(',')
    .map((s) => Number.parseInt(s.trim(), 10))
    .filter((n) => Number.isFinite(n));
  // go-plugin: a host that names no versions speaks the plugin's own one.
  if (offered.length > 0 && !offered.includes(APP_PROTOCOL_VERSION)) {
    return {
      ok: false,
      exitCode: 1,
      message: `Grafana offers plugin protocol versions ${offered.join(', ')}, but this backend speaks only version ${APP_PROTOCOL_VERSION}: use Grafana 7 or newer.`,
    };
  }
  return { ok: true, version: APP_PROTOCOL_VERSION };
}

/** The one line written to stdout: `1|2|tcp|127.0.0.1:PORT|grpc` and a newline. */
export function handshakeLine(host: string, port: number, version = APP_PROTOCOL_VERSION): string {
  return `${CORE_PROTOCOL_VERSION}|${version}|tcp|${host}:${port}|grpc\n`;
}
