// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { checkHandshakeEnv, handshakeLine } from './handshake';
import { createLogger, formatLine, hclogTimestamp, levelFromEnv } from './logger';

test('hclog lines: string @-keys, six fractional digits, fields beside them, levels filtered', () => {
  const d = new Date(Date.UTC(2026, 11, 1, 9, 56, 5, 123));
  assert.equal(hclogTimestamp(d), '2026-12-01T09:56:05.123000Z');
  const line = JSON.parse(
    formatLine('warn', 'agent down', { agent: 'a:1', '@level': 'x', n: 3n, e: new Error('boom') }, d)
  );
  assert.deepEqual(line, {
    agent: 'a:1',
    n: '3',
    e: 'boom',
    '@level': 'warn',
    '@message': 'agent down',
    '@timestamp': '2026-12-01T09:56:05.123000Z',
  });
  const out: string[] = [];
  const log = createLogger('info', (l) => out.push(l)).with({ datasource: 'u1' });
  log.debug('hidden');
  log.info('shown', { k: 1 });
  assert.equal(out.length, 1);
  assert.ok(out[0].endsWith('\n'));
  assert.equal(JSON.parse(out[0]).datasource, 'u1');
  assert.equal(levelFromEnv({ GF_PLUGIN_LOG_LEVEL: 'DEBUG' }), 'debug');
  assert.equal(levelFromEnv({ GF_PLUGIN_LOG_LEVEL: 'warning' }), 'warn');
  assert.equal(levelFromEnv({ GF_PLUGIN_LOG_LEVEL: 'loud' }), 'info');
  assert.equal(levelFromEnv({}), 'info');
});

test('handshake: the cookie and protocol 2, the one stdout line', () => {
  assert.equal(checkHandshakeEnv({}).ok, false);
  assert.equal(checkHandshakeEnv({ grafana_plugin_type: 'renderer' }).ok, false);
  assert.deepEqual(checkHandshakeEnv({ grafana_plugin_type: 'datasource', PLUGIN_PROTOCOL_VERSIONS: '2' }), {
    ok: true,
    version: 2,
  });
  assert.equal(checkHandshakeEnv({ grafana_plugin_type: 'datasource', PLUGIN_PROTOCOL_VERSIONS: '1,2' }).ok, true);
  const old = checkHandshakeEnv({ grafana_plugin_type: 'datasource', PLUGIN_PROTOCOL_VERSIONS: '1' });
  assert.equal(old.ok, false);
  assert.equal(handshakeLine('127.0.0.1', 41567), '1|2|tcp|127.0.0.1:41567|grpc\n');
});
