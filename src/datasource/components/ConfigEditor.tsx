// SPDX-License-Identifier: Apache-2.0
import React, { type ChangeEvent } from 'react';
import type { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { Field, FieldSet, Input, RadioButtonGroup, SecretInput, TextArea } from '@grafana/ui';

import { CommitInput } from '../../common/CommitInput';
import { parseIntInRange } from '../../common/parse';
import { TEST_IDS } from '../../common/testIds';
import { SETTINGS_DEFAULTS, SETTINGS_LIMITS, type AgentDiscovery } from '../../shared/settings';
import type { WakeflowOptions, WakeflowSecureOptions } from '../types';

type Props = DataSourcePluginOptionsEditorProps<WakeflowOptions, WakeflowSecureOptions>;

const DISCOVERY_OPTIONS: Array<{ label: string; value: AgentDiscovery; description: string }> = [
  { label: 'URLs', value: 'url', description: 'Agents at fixed addresses, one URL per line' },
  {
    label: 'DNS (headless Service)',
    value: 'dns',
    description: 'Every address of a Kubernetes headless Service is one agent',
  },
];

/** The URLs as the admin typed them, one per line; blank lines dropped. */
export function parseAgentUrls(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/** Why a URL cannot be an agent's base URL, or undefined when it can. The backend checks the same and says so in Save & test. */
export function agentUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `"${url}" is not a URL: write it as http://host:port`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return `"${url}" must start with http:// or https://`;
  }
  return undefined;
}

export function ConfigEditor({ options, onOptionsChange }: Props) {
  const { jsonData, secureJsonFields, secureJsonData } = options;
  const discovery = jsonData.discovery ?? SETTINGS_DEFAULTS.discovery;
  // Settings saved before agentUrls existed hold one agentUrl: show it, and store it as the list once edited.
  const urls = jsonData.agentUrls ?? (jsonData.agentUrl ? [jsonData.agentUrl] : []);
  const urlProblems = urls.map(agentUrlProblem).filter((p): p is string => p !== undefined);
  const limits = SETTINGS_LIMITS;

  // A number field left empty or invalid is stored as unset: the backend's default applies rather than 0.
  const setJsonData = (patch: Partial<WakeflowOptions>) => {
    onOptionsChange({ ...options, jsonData: { ...jsonData, ...patch } });
  };

  const setUrls = (text: string) => {
    const { agentUrl, ...rest } = jsonData;
    onOptionsChange({ ...options, jsonData: { ...rest, agentUrls: parseAgentUrls(text) } });
  };

  // The token lives only in secureJsonData: Grafana encrypts it, hands it to
  // the backend, and tells the browser no more than whether it is set.
  const onTokenChange = (event: ChangeEvent<HTMLInputElement>) => {
    onOptionsChange({ ...options, secureJsonData: { ...secureJsonData, agentToken: event.target.value } });
  };
  const onTokenReset = () => {
    onOptionsChange({
      ...options,
      secureJsonFields: { ...secureJsonFields, agentToken: false },
      secureJsonData: { ...secureJsonData, agentToken: '' },
    });
  };

  const numberField = (key: 'timeoutSeconds' | 'maxConcurrency' | 'agentPort', range: { min: number; max: number }) => (
    <CommitInput
      id={`wakeflow-config-${key}`}
      type="number"
      min={range.min}
      max={range.max}
      width={12}
      value={jsonData[key] === undefined ? '' : String(jsonData[key])}
      placeholder={key === 'agentPort' ? String(SETTINGS_DEFAULTS.agentPort) : String(SETTINGS_DEFAULTS[key])}
      isValid={(t) => t.trim() === '' || parseIntInRange(t, range.min, range.max) !== undefined}
      onCommit={(t) => setJsonData({ [key]: parseIntInRange(t, range.min, range.max) })}
    />
  );

  return (
    <div data-testid={TEST_IDS.configEditor.root}>
      <FieldSet label="Agents">
        <Field
          label="Discovery"
          description="How the backend finds the wakeflow agents"
          data-testid={TEST_IDS.configEditor.discovery}
        >
          <RadioButtonGroup
            aria-label="Discovery"
            options={DISCOVERY_OPTIONS}
            value={discovery}
            onChange={(value) => setJsonData({ discovery: value })}
          />
        </Field>
        {discovery === 'url' ? (
          <Field
            label="Agent URLs"
            description={`Base URL of each agent's HTTP API, one per line (at most ${limits.maxAgentUrls})`}
            invalid={urlProblems.length > 0}
            error={urlProblems[0]}
            required
          >
            <TextArea
              id="wakeflow-config-agent-urls"
              data-testid={TEST_IDS.configEditor.agentUrls}
              defaultValue={urls.join('\n')}
              placeholder={'http://10.0.0.7:9781\nhttp://10.0.0.8:9781'}
              rows={Math.min(Math.max(urls.length + 1, 2), 8)}
              cols={48}
              onBlur={(event) => setUrls(event.currentTarget.value)}
            />
          </Field>
        ) : (
          <>
            <Field
              label="DNS name"
              description="Headless Service whose addresses are the agents, one per node"
              required
            >
              <Input
                id="wakeflow-config-dns-name"
                data-testid={TEST_IDS.configEditor.dnsName}
                value={jsonData.dnsName ?? ''}
                placeholder="wakeflow-agent.wakeflow.svc.cluster.local"
                width={48}
                onChange={(event: ChangeEvent<HTMLInputElement>) => setJsonData({ dnsName: event.target.value.trim() })}
              />
            </Field>
            <Field
              label="Agent port"
              description="Port every agent listens on"
              data-testid={TEST_IDS.configEditor.agentPort}
            >
              {numberField('agentPort', limits.agentPort)}
            </Field>
          </>
        )}
        <Field
          label="Timeout"
          description={`Seconds to wait for one agent before reporting it unreachable (${limits.timeoutSeconds.min} to ${limits.timeoutSeconds.max})`}
          data-testid={TEST_IDS.configEditor.timeout}
        >
          {numberField('timeoutSeconds', limits.timeoutSeconds)}
        </Field>
        <Field
          label="Concurrency"
          description={`How many agents are asked at once (${limits.maxConcurrency.min} to ${limits.maxConcurrency.max})`}
          data-testid={TEST_IDS.configEditor.concurrency}
        >
          {numberField('maxConcurrency', limits.maxConcurrency)}
        </Field>
      </FieldSet>
      <FieldSet label="Authentication">
        <Field
          label="Agent token"
          description="Bearer token the agents require (their --token-file); leave empty if they run without one"
        >
          <SecretInput
            id="wakeflow-config-agent-token"
            data-testid={TEST_IDS.configEditor.agentToken}
            isConfigured={Boolean(secureJsonFields.agentToken)}
            value={secureJsonData?.agentToken ?? ''}
            width={48}
            onChange={onTokenChange}
            onReset={onTokenReset}
          />
        </Field>
      </FieldSet>
    </div>
  );
}
