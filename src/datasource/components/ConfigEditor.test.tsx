// SPDX-License-Identifier: Apache-2.0
import React, { useState } from 'react';
import { DataSourceSettings } from '@grafana/data';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { ConfigEditor } from './ConfigEditor';
import type { WakeflowOptions, WakeflowSecureOptions } from '../types';

type Settings = DataSourceSettings<WakeflowOptions, WakeflowSecureOptions>;

function settings(overrides: Partial<Settings> = {}): Settings {
  // `database` is required by the type but deprecated; Grafana no longer sends it for new data sources.
  const fields: Omit<Settings, 'database'> = {
    id: 1,
    uid: 'wakeflow-test',
    orgId: 1,
    name: 'Wakeflow',
    typeLogoUrl: '',
    type: 'wakeflow-offwake-datasource',
    typeName: 'Wakeflow',
    access: 'proxy',
    url: '',
    user: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    jsonData: {},
    secureJsonFields: {},
    readOnly: false,
    withCredentials: false,
    ...overrides,
  };
  return fields as Settings;
}

/** Renders the editor the way Grafana does: each change comes back as the new props. */
function renderEditor(initial: Settings = settings()) {
  const onOptionsChange = jest.fn<void, [Settings]>();
  function Harness() {
    const [options, setOptions] = useState(initial);
    return (
      <ConfigEditor
        options={options}
        onOptionsChange={(next) => {
          onOptionsChange(next);
          setOptions(next);
        }}
      />
    );
  }
  render(<Harness />);
  const latest = (): Settings => {
    const call = onOptionsChange.mock.lastCall;
    if (!call) {
      throw new Error('onOptionsChange was never called');
    }
    return call[0];
  };
  return { user: userEvent.setup(), onOptionsChange, latest };
}

describe('ConfigEditor', () => {
  it('stores the agent URLs, one per line, as a list', async () => {
    const { user, latest } = renderEditor();
    const urls = screen.getByRole('textbox', { name: /agent urls/i });
    await user.type(urls, 'http://10.0.0.7:9781{Enter}{Enter} http://10.0.0.8:9781 ');
    await user.tab();
    expect(latest().jsonData).toEqual({ agentUrls: ['http://10.0.0.7:9781', 'http://10.0.0.8:9781'] });
  });

  it('shows the single URL of older settings and replaces it by the list once edited', async () => {
    const { user, latest } = renderEditor(settings({ jsonData: { agentUrl: 'http://old:9781' } }));
    const urls = screen.getByRole('textbox', { name: /agent urls/i });
    expect(urls).toHaveValue('http://old:9781');
    await user.type(urls, '{Enter}http://new:9781');
    await user.tab();
    expect(latest().jsonData).toEqual({ agentUrls: ['http://old:9781', 'http://new:9781'] });
  });

  it('says which URL cannot be an agent address', () => {
    renderEditor(settings({ jsonData: { agentUrls: ['http://ok:9781', 'ftp://agent:21'] } }));
    expect(screen.getByText('"ftp://agent:21" must start with http:// or https://')).toBeInTheDocument();
  });

  it('switches to DNS discovery and stores the name and port instead of URLs', async () => {
    const { user, latest } = renderEditor(settings({ jsonData: { agentUrls: ['http://old:1'] } }));
    await user.click(
      within(screen.getByRole('radiogroup', { name: 'Discovery' })).getByRole('radio', { name: /dns/i })
    );
    expect(screen.queryByRole('textbox', { name: /agent urls/i })).not.toBeInTheDocument();
    await user.type(screen.getByRole('textbox', { name: /dns name/i }), 'wakeflow-agent.wakeflow.svc');
    const port = screen.getByRole('spinbutton', { name: /agent port/i });
    await user.type(port, '7000');
    await user.tab();
    expect(latest().jsonData).toMatchObject({
      discovery: 'dns',
      dnsName: 'wakeflow-agent.wakeflow.svc',
      agentPort: 7000,
    });
  });

  it('stores timeout and concurrency as numbers within their limits, an emptied field as unset', async () => {
    const { user, latest } = renderEditor(settings({ jsonData: { timeoutSeconds: 5 } }));
    const timeout = screen.getByRole('spinbutton', { name: /timeout/i });
    await user.clear(timeout);
    await user.tab();
    expect(latest().jsonData.timeoutSeconds).toBeUndefined();
    await user.type(timeout, '30');
    await user.tab();
    expect(latest().jsonData.timeoutSeconds).toBe(30);

    const concurrency = screen.getByRole('spinbutton', { name: /concurrency/i });
    await user.type(concurrency, '500');
    await user.tab();
    // Above the limit of 64: not stored, and the field shows what is.
    expect(latest().jsonData.maxConcurrency).toBeUndefined();
    expect(concurrency).toHaveValue(null);
    await user.type(concurrency, '16');
    await user.tab();
    expect(latest().jsonData.maxConcurrency).toBe(16);
  });

  it('keeps the token in secureJsonData only', async () => {
    const { user, latest } = renderEditor(settings({ jsonData: { agentUrls: ['http://a:1'] } }));
    await user.type(screen.getByLabelText(/agent token/i), 's3cret-token');
    const saved = latest();
    expect(saved.secureJsonData).toEqual({ agentToken: 's3cret-token' });
    const { secureJsonData, ...sentAnywhereElse } = saved;
    expect(JSON.stringify(sentAnywhereElse)).not.toContain('s3cret-token');
  });

  it('shows a configured token as set and clears it on reset', async () => {
    const { user, latest } = renderEditor(settings({ secureJsonFields: { agentToken: true } }));
    const shown = screen.getByRole('textbox', { name: /agent token/i });
    expect(shown).toBeDisabled();
    expect(shown).toHaveValue('configured');
    await user.click(screen.getByRole('button', { name: 'Reset' }));
    expect(latest().secureJsonFields).toEqual({ agentToken: false });
    expect(latest().secureJsonData).toEqual({ agentToken: '' });
    expect(screen.getByLabelText(/agent token/i)).toHaveValue('');
  });
});
