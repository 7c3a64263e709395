// SPDX-License-Identifier: Apache-2.0
/*
 * Test ids shared by the unit tests (Jest) and the browser tests
 * (tests/browser/), so a renamed control breaks both the same way. Grafana's
 * convention is a `data-testid` value that reads as a sentence. Tests prefer
 * roles and names; a test id marks what has no role of its own (a region, a
 * drawn link) or what a browser test must find among many.
 */
export const TEST_IDS = {
  configEditor: {
    root: 'data-testid wakeflow config editor',
    discovery: 'data-testid wakeflow config discovery',
    agentUrls: 'data-testid wakeflow config agent-urls',
    dnsName: 'data-testid wakeflow config dns-name',
    agentPort: 'data-testid wakeflow config agent-port',
    timeout: 'data-testid wakeflow config timeout',
    concurrency: 'data-testid wakeflow config concurrency',
    agentToken: 'data-testid wakeflow config agent-token',
  },
  queryEditor: {
    root: 'data-testid wakeflow query editor',
    queryType: 'data-testid wakeflow query type',
    filter: (key: string) => `data-testid wakeflow query filter ${key}`,
    alertingNote: 'data-testid wakeflow query alerting note',
    examples: 'data-testid wakeflow query examples',
  },
  variableEditor: {
    root: 'data-testid wakeflow variable editor',
  },
  cheatSheet: {
    root: 'data-testid wakeflow cheat sheet',
    example: (id: string) => `data-testid wakeflow cheat sheet example ${id}`,
  },
  panel: {
    root: 'data-testid wakeflow chains panel',
    diagram: 'data-testid wakeflow chains diagram',
    /** The highlight layer: copies of the links a selection or a hover lights. */
    litLinks: 'data-testid wakeflow chains lit links',
    link: (id: string) => `data-testid wakeflow chains link ${id}`,
    node: (id: string) => `data-testid wakeflow chains node ${id}`,
    breakdown: 'data-testid wakeflow chains breakdown',
    breakdownRow: (id: string) => `data-testid wakeflow chains breakdown ${id}`,
    preemptedShare: 'data-testid wakeflow chains preempted share',
    details: 'data-testid wakeflow chains details',
    stacks: 'data-testid wakeflow chains stacks',
    /** The hops of a multi-hop chain, each with its stacks. */
    hops: 'data-testid wakeflow chains hops',
    notices: 'data-testid wakeflow chains notices',
    empty: 'data-testid wakeflow chains empty',
    error: 'data-testid wakeflow chains error',
    tooltip: 'data-testid wakeflow chains tooltip',
  },
} as const;
