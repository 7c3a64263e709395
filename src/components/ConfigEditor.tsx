// SPDX-License-Identifier: Apache-2.0
import React, { ChangeEvent } from 'react';
import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { Field, FieldSet, Input, RadioButtonGroup, SecretInput } from '@grafana/ui';

import { TEST_IDS } from '../constants';
import { parsePositiveInt } from '../parse';
import {
  AgentDiscovery,
  DEFAULT_DISCOVERY,
  DEFAULT_TIMEOUT_SECONDS,
  WakeflowOptions,
  WakeflowSecureOptions,
} from '../types';

type Props = DataSourcePluginOptionsEditorProps<WakeflowOptions, WakeflowSecureOptions>;

const DISCOVERY_OPTIONS: Array<{ label: string; value: AgentDiscovery; description: string }> = [
  { label: 'URL', value: 'url', description: 'One agent at a fixed address' },
  {
    label: 'DNS (headless Service)',
    value: 'dns',
    description: 'Every agent behind a Kubernetes headless Service',
  },
];

export function ConfigEditor({ options, onOptionsChange }: Props) {
  const { jsonData, secureJsonFields, secureJsonData } = options;
  const discovery = jsonData.discovery ?? DEFAULT_DISCOVERY;

  // Number fields pass undefined for empty or invalid text: stored as unset, the backend's default applies rather than 0.
  const setJsonData = (patch: Partial<WakeflowOptions>) => {
    onOptionsChange({ ...options, jsonData: { ...jsonData, ...patch } });
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

  return (
    <>
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
          <Field label="Agent URL" description="Base URL of one agent's HTTP API" required>
            <Input
              id="wakeflow-config-agent-url"
              data-testid={TEST_IDS.configEditor.agentUrl}
              value={jsonData.agentUrl ?? ''}
              placeholder="http://agent-host:port"
              width={40}
              onChange={(event: ChangeEvent<HTMLInputElement>) => setJsonData({ agentUrl: event.target.value })}
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
                width={40}
                onChange={(event: ChangeEvent<HTMLInputElement>) => setJsonData({ dnsName: event.target.value })}
              />
            </Field>
            <Field label="Agent port" description="Port every agent listens on" required>
              <Input
                id="wakeflow-config-agent-port"
                data-testid={TEST_IDS.configEditor.agentPort}
                type="number"
                min={1}
                max={65535}
                value={jsonData.agentPort ?? ''}
                width={12}
                onChange={(event: ChangeEvent<HTMLInputElement>) =>
                  setJsonData({ agentPort: parsePositiveInt(event.target.value) })
                }
              />
            </Field>
          </>
        )}
        <Field label="Timeout" description="Seconds to wait for one agent before reporting it unreachable">
          <Input
            id="wakeflow-config-timeout"
            data-testid={TEST_IDS.configEditor.timeout}
            type="number"
            min={1}
            value={jsonData.timeoutSeconds ?? ''}
            placeholder={String(DEFAULT_TIMEOUT_SECONDS)}
            width={12}
            onChange={(event: ChangeEvent<HTMLInputElement>) =>
              setJsonData({ timeoutSeconds: parsePositiveInt(event.target.value) })
            }
          />
        </Field>
      </FieldSet>
      <FieldSet label="Authentication">
        <Field label="Agent token" description="Bearer token the agents require; leave empty if they run without one">
          <SecretInput
            id="wakeflow-config-agent-token"
            data-testid={TEST_IDS.configEditor.agentToken}
            isConfigured={Boolean(secureJsonFields.agentToken)}
            value={secureJsonData?.agentToken ?? ''}
            width={40}
            onChange={onTokenChange}
            onReset={onTokenReset}
          />
        </Field>
      </FieldSet>
    </>
  );
}
