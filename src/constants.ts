// SPDX-License-Identifier: Apache-2.0

/*
 * Test ids shared by the unit tests and the browser tests to come, so a
 * renamed control breaks both in the same way. Grafana's convention is a
 * `data-testid` value that reads as a sentence.
 */
export const TEST_IDS = {
  configEditor: {
    discovery: 'data-testid wakeflow config discovery',
    agentUrl: 'data-testid wakeflow config agent-url',
    dnsName: 'data-testid wakeflow config dns-name',
    agentPort: 'data-testid wakeflow config agent-port',
    timeout: 'data-testid wakeflow config timeout',
    agentToken: 'data-testid wakeflow config agent-token',
  },
  queryEditor: {
    queryType: 'data-testid wakeflow query type',
    metric: 'data-testid wakeflow query metric',
    by: 'data-testid wakeflow query by',
    sort: 'data-testid wakeflow query sort',
    limit: 'data-testid wakeflow query limit',
    filter: (key: string) => `data-testid wakeflow query filter ${key}`,
  },
} as const;
