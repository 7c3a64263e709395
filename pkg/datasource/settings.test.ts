// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DataSourceInstanceSettings } from '../protocol/messages';
import { Discovery } from './discovery';
import { Settings, SettingsCache, parseSettings } from './settings';

const parse = (j: unknown, secure: Record<string, string> = {}) =>
  parseSettings(Buffer.from(typeof j === 'string' ? j : JSON.stringify(j)), secure);
const err = (j: unknown, secure: Record<string, string> = {}) => {
  const r = parse(j, secure);
  assert.equal(r.ok, false, JSON.stringify(j));
  return (r as { error: string }).error;
};

test('defaults, URL normalisation, the older agentUrl, the token', () => {
  const r = parse(
    { agentUrls: ['http://10.0.0.7:9781/', ' https://h.example/agent// ', 'http://10.0.0.7:9781'] },
    { agentToken: 't' }
  );
  assert.ok(r.ok);
  assert.deepEqual(r.settings, {
    discovery: 'url',
    agentUrls: ['http://10.0.0.7:9781', 'https://h.example/agent'],
    dnsName: '',
    agentPort: 9781,
    timeoutMs: 10_000,
    maxConcurrency: 8,
    token: 't',
  });
  const old = parse({ agentUrl: 'http://[::1]:9781', timeoutSeconds: '2.5', maxConcurrency: 3 });
  assert.ok(old.ok);
  assert.deepEqual(old.settings.agentUrls, ['http://[::1]:9781']);
  assert.equal(old.settings.timeoutMs, 2500);
  const dns = parse({ discovery: 'dns', dnsName: 'wakeflow-agent.wakeflow.svc.cluster.local', agentPort: 9000 });
  assert.ok(dns.ok);
  assert.equal(dns.settings.agentPort, 9000);
});

test('every bad setting is one sentence naming the field', () => {
  assert.match(err('{nope'), /jsonData\) are not valid JSON/);
  assert.match(err('[1]'), /not a JSON object/);
  assert.match(err({ discovery: 'k8s' }), /^Setting discovery must be 'url' or 'dns', not 'k8s'\.$/);
  assert.match(err({}), /^Setting agentUrls is empty/);
  assert.match(err({ agentUrls: [''] }), /^Setting agentUrls is empty/);
  assert.match(err({ agentUrls: 'http://x' }), /^Setting agentUrls must be a list/);
  assert.match(err({ agentUrls: ['http://a:1', 'nope'] }), /^Setting agentUrls\[1\] 'nope' is not a URL/);
  assert.match(err({ agentUrls: ['http://a:0'] }), /has port 0, out of range: use 1 to 65535/);
  assert.match(err({ agentUrls: ['http://a:65536'] }), /has port 65536/);
  assert.match(err({ agentUrls: ['file:///etc/passwd'] }), /must start with http:\/\/ or https:\/\//);
  assert.match(err({ agentUrls: ['http://u:p@a:1'] }), /carries a user name or password/);
  assert.match(err({ agentUrls: ['http://a:1/?x=1'] }), /has a query or fragment/);
  assert.match(err({ agentUrls: ['http://a\n:1'] }), /control character/);
  assert.match(err({ agentUrls: Array.from({ length: 257 }, (_, i) => `http://a:${i + 1}`) }), /more than 256/);
  assert.match(
    err({ agentUrls: ['http://a:1'], timeoutSeconds: 0 }),
    /^Setting timeoutSeconds 0 is out of range: use 1 to 120\.$/
  );
  assert.match(
    err({ agentUrls: ['http://a:1'], maxConcurrency: 1.5 }),
    /^Setting maxConcurrency must be a whole number/
  );
  assert.match(err({ discovery: 'dns' }), /^Setting dnsName is empty/);
  assert.match(err({ discovery: 'dns', dnsName: 'bad name!' }), /^Setting dnsName 'bad name!' is not a DNS name/);
  assert.match(err({ discovery: 'dns', dnsName: 'a.b', agentPort: 70000 }), /^Setting agentPort 70000 is out of range/);
  assert.match(
    err({ agentUrls: ['http://a:1'] }, { agentToken: 'a\r\nX-Evil: 1' }),
    /agentToken holds a control character/
  );
});

test('the cache rebuilds a data source when lastUpdatedMS changes, and stays bounded', () => {
  let builds = 0;
  const cache = new SettingsCache<number>(() => ++builds, 2);
  const ds = (uid: string, v: number) => ({ uid, id: 1, lastUpdatedMS: v }) as DataSourceInstanceSettings;
  assert.equal(cache.get(ds('a', 1)), 1);
  assert.equal(cache.get(ds('a', 1)), 1);
  assert.equal(cache.get(ds('a', 2)), 2);
  cache.get(ds('b', 1));
  cache.get(ds('c', 1));
  assert.equal(cache.get(ds('a', 2)), 5, 'a was evicted: the oldest of three with room for two');
});

test('DNS discovery: every record is an agent, answers kept 30 s, failures named', async () => {
  let now = 0;
  let calls = 0;
  let answer: Array<{ address: string; family: number }> = [
    { address: '10.0.0.8', family: 4 },
    { address: 'fd00::7', family: 6 },
    { address: '10.0.0.8', family: 4 },
  ];
  const s: Settings = {
    discovery: 'dns',
    agentUrls: [],
    dnsName: 'agents.example',
    agentPort: 9781,
    timeoutMs: 1000,
    maxConcurrency: 2,
  };
  const d = new Discovery(
    s,
    async () => {
      calls++;
      return answer;
    },
    () => now
  );
  const r = await d.agents();
  assert.ok(r.ok);
  assert.deepEqual(r.agents, [
    { name: '10.0.0.8:9781', url: 'http://10.0.0.8:9781' },
    { name: '[fd00::7]:9781', url: 'http://[fd00::7]:9781' },
  ]);
  answer = [];
  now = 29_000;
  await Promise.all([d.agents(), d.agents()]);
  assert.equal(calls, 1, 'within 30 s: not resolved again');
  now = 30_000;
  const empty = await d.agents();
  assert.equal(calls, 2);
  assert.deepEqual(empty, {
    ok: false,
    error: "DNS name agents.example has no A or AAAA records: is the agents' headless Service up?",
  });
  const failing = new Discovery(s, async () => {
    throw Object.assign(new Error('x'), { code: 'ENOTFOUND' });
  });
  assert.match(((await failing.agents()) as { error: string }).error, /no A or AAAA records \(ENOTFOUND\)/);
});
