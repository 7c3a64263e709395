// SPDX-License-Identifier: Apache-2.0
/*
 * Data source instance settings: what a Grafana admin configures, what the
 * backend reads from `DataSourceInstanceSettings.jsonData` and
 * `decryptedSecureJsonData`. The browser never talks to an agent.
 */

/** How the backend finds agents: a list of base URLs, or every A/AAAA record of a headless Service's name. */
export type AgentDiscovery = 'url' | 'dns';
export const AGENT_DISCOVERIES: readonly AgentDiscovery[] = ['url', 'dns'];

/** `jsonData`. Every field is optional: an unset field takes its default below. */
export interface WakeflowSettings {
  discovery?: AgentDiscovery;
  /** Base URLs of the agents (`http://10.0.0.7:9781`); used when discovery is `url`. */
  agentUrls?: string[];
  /** The single URL of settings saved before `agentUrls` existed; read when `agentUrls` is absent. */
  agentUrl?: string;
  /** DNS name of the agents' headless Service; each A/AAAA record is one agent. Used when discovery is `dns`. */
  dnsName?: string;
  /** Port every discovered agent listens on; used when discovery is `dns`. */
  agentPort?: number;
  /** Per-request timeout towards one agent, in seconds. */
  timeoutSeconds?: number;
  /** How many agents are asked at once. */
  maxConcurrency?: number;
}

/** `secureJsonData`: stored encrypted by Grafana, only ever decrypted for the backend. */
export interface WakeflowSecureSettings {
  /** Bearer token the agents require (their `--token-file`). */
  agentToken?: string;
}
export const SECURE_TOKEN_KEY = 'agentToken';

export const SETTINGS_DEFAULTS = {
  discovery: 'url' as AgentDiscovery,
  agentPort: 9781,
  timeoutSeconds: 10,
  maxConcurrency: 8,
} as const;

export const SETTINGS_LIMITS = {
  /** More URLs than this is a typo or a job for DNS discovery. */
  maxAgentUrls: 256,
  timeoutSeconds: { min: 1, max: 120 },
  maxConcurrency: { min: 1, max: 64 },
  agentPort: { min: 1, max: 65535 },
} as const;
