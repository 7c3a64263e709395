// SPDX-License-Identifier: Apache-2.0
import { describeHealthDetails } from './health';

describe('describeHealthDetails', () => {
  it('lists every agent, with what it said', () => {
    expect(
      describeHealthDetails({
        agents: {
          'http://a:9781': { ok: true, podsTraced: 3, eventsLost: 0 },
          'http://b:9781': { ok: false, error: 'connection refused' },
        },
      })
    ).toEqual({
      message: "Not answering: http://b:9781. Check the agent's address, that it runs, and the token.",
      verboseMessage: 'http://a:9781: ok (podsTraced 3, eventsLost 0)\nhttp://b:9781: failed: connection refused',
    });
  });

  it('shows other details as JSON, and nothing for none', () => {
    expect(describeHealthDetails({ version: '1' })).toEqual({ verboseMessage: '{\n  "version": "1"\n}' });
    expect(describeHealthDetails(undefined)).toEqual({});
    expect(describeHealthDetails([1])).toEqual({});
  });
});
