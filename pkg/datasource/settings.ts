// SPDX-License-Identifier: Apache-2.0
/*
 * Data source instance settings (src/shared/settings.ts): parsed and
 * validated once per data source and version (`lastUpdatedMS`), so a bad
 * setting is one sentence naming the field, given by CheckHealth and by
 * every query alike.
 */
import {
  AGENT_DISCOVERIES,
  AgentDiscovery,
  SECURE_TOKEN_KEY,
  SETTINGS_DEFAULTS,
  SETTINGS_LIMITS,
} from '../../src/shared/settings';
import { DataSourceInstanceSettings } from '../protocol/messages';

export interface Settings {
  discovery: AgentDiscovery;
  /** Normalised base URLs without a trailing slash (discovery `url`). */
  agentUrls: string[];
  dnsName: string;
  agentPort: number;
  timeoutMs: number;
  maxConcurrency: number;
  /** Bearer token; never logged, never returned. */
  token?: string;
}

export type SettingsResult = { ok: true; settings: Settings } | { ok: false; error: string };

const CONTROL = /[\u0000-\u001f\u007f]/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;

function show(v: unknown): string {
  const s = typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v));
  return s.length > 80 ? s.slice(0, 77) + '...' : s;
}

/** A base URL the agent client can use, or the sentence saying why not. */
export function parseAgentUrl(raw: unknown, fieldName: string): { url: string } | { error: string } {
  if (typeof raw !== 'string' || raw.trim() === '') {
    return { error: `Setting ${fieldName} is empty: give an agent URL such as http://10.0.0.7:9781.` };
  }
  const s = raw.trim();
  if (CONTROL.test(s)) {
    return { error: `Setting ${fieldName} holds a control character: write it as http://HOST:PORT.` };
  }
  const port = /^[a-z][a-z0-9+.-]*:\/\/(?:\[[^\]]*\]|[^/:?#]*):(\d+)(?:[/?#]|$)/i.exec(s);
  if (port && (Number(port[1]) < 1 || Number(port[1]) > 65535)) {
    return { error: `Setting ${fieldName} ${show(s)} has port ${port[1]}, out of range: use 1 to 65535.` };
  }
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return { error: `Setting ${fieldName} ${show(s)} is not a URL: write it as http://HOST:PORT.` };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    return { error: `Setting ${fieldName} ${show(s)} must start with http:// or https://.` };
  }
  if (u.username || u.password) {
    return {
      error: `Setting ${fieldName} ${show(u.host)} carries a user name or password: put the agent's token in the agent token field instead.`,
    };
  }
  if (u.search || u.hash) {
    return {
      error: `Setting ${fieldName} ${show(s)} has a query or fragment: give only http://HOST:PORT (and a path prefix).`,
    };
  }
  return { url: `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}` };
}

function numberSetting(
  json: Record<string, unknown>,
  key: 'timeoutSeconds' | 'maxConcurrency' | 'agentPort',
  dflt: number,
  limits: { min: number; max: number },
  integer: boolean
): { value: number } | { error: string } {
  let v = json[key];
  if (v === undefined || v === null || v === '') {
    return { value: dflt };
  }
  // Older editors saved numbers as strings.
  if (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v)) {
    v = Number(v);
  }
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    return { error: `Setting ${key} must be ${integer ? 'a whole number' : 'a number'}, not ${show(v)}.` };
  }
  if (v < limits.min || v > limits.max) {
    return { error: `Setting ${key} ${v} is out of range: use ${limits.min} to ${limits.max}.` };
  }
  return { value: v };
}

export function parseSettings(
  jsonData: Buffer | Uint8Array | undefined,
  secure: Record<string, string>
): SettingsResult {
  let json: Record<string, unknown> = {};
  const text = jsonData ? Buffer.from(jsonData).toString('utf8').trim() : '';
  if (text !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return {
        ok: false,
        error: 'The data source settings (jsonData) are not valid JSON: save the data source again.',
      };
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      return {
        ok: false,
        error: 'The data source settings (jsonData) are not a JSON object: save the data source again.',
      };
    }
    json = parsed as Record<string, unknown>;
  }

  const discovery = json.discovery ?? SETTINGS_DEFAULTS.discovery;
  if (typeof discovery !== 'string' || !(AGENT_DISCOVERIES as readonly string[]).includes(discovery)) {
    return { ok: false, error: `Setting discovery must be 'url' or 'dns', not ${show(discovery)}.` };
  }

  const timeout = numberSetting(
    json,
    'timeoutSeconds',
    SETTINGS_DEFAULTS.timeoutSeconds,
    SETTINGS_LIMITS.timeoutSeconds,
    false
  );
  if ('error' in timeout) {
    return { ok: false, error: timeout.error };
  }
  const conc = numberSetting(
    json,
    'maxConcurrency',
    SETTINGS_DEFAULTS.maxConcurrency,
    SETTINGS_LIMITS.maxConcurrency,
    true
  );
  if ('error' in conc) {
    return { ok: false, error: conc.error };
  }

  const token = secure?.[SECURE_TOKEN_KEY];
  if (token !== undefined && token !== '') {
    if (CONTROL.test(token) || token.length > 4096) {
      return {
        ok: false,
        error: `Secure setting ${SECURE_TOKEN_KEY} holds a control character or is longer than 4096 bytes: paste the agent's token again.`,
      };
    }
  }

  const settings: Settings = {
    discovery: discovery as AgentDiscovery,
    agentUrls: [],
    dnsName: '',
    agentPort: SETTINGS_DEFAULTS.agentPort,
    timeoutMs: Math.round(timeout.value * 1000),
    maxConcurrency: conc.value,
    token: token ? token : undefined,
  };

  if (discovery === 'url') {
    let urls: unknown[];
    let key = 'agentUrls';
    if (json.agentUrls !== undefined && json.agentUrls !== null) {
      if (!Array.isArray(json.agentUrls)) {
        return { ok: false, error: `Setting agentUrls must be a list of URLs, not ${show(json.agentUrls)}.` };
      }
      urls = json.agentUrls.filter((u) => !(typeof u === 'string' && u.trim() === ''));
    } else if (json.agentUrl !== undefined && json.agentUrl !== null && json.agentUrl !== '') {
      urls = [json.agentUrl];
      key = 'agentUrl';
    } else {
      urls = [];
    }
    if (urls.length === 0) {
      return {
        ok: false,
        error:
          'Setting agentUrls is empty: give at least one agent URL such as http://10.0.0.7:9781, or choose DNS discovery.',
      };
    }
    if (urls.length > SETTINGS_LIMITS.maxAgentUrls) {
      return {
        ok: false,
        error: `Setting agentUrls lists ${urls.length} agents, more than ${SETTINGS_LIMITS.maxAgentUrls}: use DNS discovery for a cluster this size.`,
      };
    }
    const seen = new Set<string>();
    for (let i = 0; i < urls.length; i++) {
      const r = parseAgentUrl(urls[i], key === 'agentUrl' ? key : `agentUrls[${i}]`);
      if ('error' in r) {
        return { ok: false, error: r.error };
      }
      if (!seen.has(r.url)) {
        seen.add(r.url);
        settings.agentUrls.push(r.url);
      }
    }
  } else {
    const name = typeof json.dnsName === 'string' ? json.dnsName.trim() : json.dnsName;
    if (name === undefined || name === null || name === '') {
      return {
        ok: false,
        error:
          "Setting dnsName is empty: give the agents' headless Service name, such as wakeflow-agent.wakeflow.svc.cluster.local.",
      };
    }
    if (typeof name !== 'string' || !HOSTNAME.test(name)) {
      return { ok: false, error: `Setting dnsName ${show(name)} is not a DNS name.` };
    }
    const port = numberSetting(json, 'agentPort', SETTINGS_DEFAULTS.agentPort, SETTINGS_LIMITS.agentPort, true);
    if ('error' in port) {
      return { ok: false, error: port.error };
    }
    settings.dnsName = name;
    settings.agentPort = port.value;
  }
  return { ok: true, settings };
}

/** Settings per data source, rebuilt when Grafana says they changed (`lastUpdatedMS`). */
export class SettingsCache<T> {
  private entries = new Map<string, { version: number; value: T }>();

  constructor(
    private build: (s: DataSourceInstanceSettings) => T,
    private maxEntries = 1024
  ) {}

  get(s: DataSourceInstanceSettings): T {
    const key = s.uid || String(s.id);
    const version = Number(s.lastUpdatedMS) || 0;
    const hit = this.entries.get(key);
    if (hit && hit.version === version) {
      return hit.value;
    }
    const value = this.build(s);
    if (!hit && this.entries.size >= this.maxEntries) {
      // Bounded: forget the oldest data source (Map keeps insertion order).
      this.entries.delete(this.entries.keys().next().value as string);
    }
    this.entries.set(key, { version, value });
    return value;
  }
}
