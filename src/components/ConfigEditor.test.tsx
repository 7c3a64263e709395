// SPDX-License-Identifier: Apache-2.0
import React, { useState } from 'react';
import { DataSourceSettings } from '@grafana/data';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { ConfigEditor } from './ConfigEditor';
import { WakeflowOptions, WakeflowSecureOptions } from '../types';

type Settings = DataSourceSettings<WakeflowOptions, WakeflowSecureOptions>;

function settings(overrides: Partial<Settings> = {}): Settings {
  // `database` is required by the type but deprecated; Grafana no longer sends it for new data sources.
  const fields: Omit<Settings, 'database'> = {
    id: 1,
    uid: 'wakeflow-test',
    orgId: 1,
    name: 'Wakeflow',
    typeLogoUrl: '',
    type: 'wakeflow-datasource',
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
  it('stores the agent URL in jsonData', async () => {
    const { user, latest } = renderEditor();

    await user.type(screen.getByRole('textbox', { name: /agent url/i }), 'http://10.0.0.7:7000');

    expect(latest().jsonData).toEqual({ agentUrl: 'http://10.0.0.7:7000' });
  });

  it('switches to DNS discovery and stores the name and port instead of a URL', async () => {
    const { user, latest } = renderEditor(settings({ jsonData: { agentUrl: 'http://old:1' } }));
    const discovery = screen.getByRole('radiogroup', { name: 'Discovery' });

    await user.click(within(discovery).getByRole('radio', { name: /dns/i }));

    expect(screen.queryByRole('textbox', { name: /agent url/i })).not.toBeInTheDocument();
    await user.type(screen.getByRole('textbox', { name: /dns name/i }), 'wakeflow-agent.wakeflow.svc');
    await user.type(screen.getByRole('spinbutton', { name: /agent port/i }), '7000');

    expect(latest().jsonData).toMatchObject({
      discovery: 'dns',
      dnsName: 'wakeflow-agent.wakeflow.svc',
      agentPort: 7000,
    });
  });

  it('stores the timeout as a number and an emptied field as unset', async () => {
    const { user, latest } = renderEditor(settings({ jsonData: { timeoutSeconds: 5 } }));
    const timeout = screen.getByRole('spinbutton', { name: /timeout/i });

    await user.clear(timeout);
    expect(latest().jsonData.timeoutSeconds).toBeUndefined();

    await user.type(timeout, '30');
    expect(latest().jsonData.timeoutSeconds).toBe(30);
  });

  it('keeps the token in secureJsonData only', async () => {
    const { user, latest } = renderEditor(settings({ jsonData: { agentUrl: 'http://a:1' } }));

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
    expect(screen.queryByRole('button', { name: 'Reset' })).not.toBeInTheDocument();
  });
});
