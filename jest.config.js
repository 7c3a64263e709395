// SPDX-License-Identifier: Apache-2.0

// force timezone to UTC to allow tests to work regardless of local timezone
// generally used by snapshots, but can affect specific tests
process.env.TZ = 'UTC';
// i18next (under @grafana/i18n) otherwise prints an advertisement in every test file.
process.env.I18NEXT_NO_SUPPORT_NOTICE = '1';

const scaffold = require('./.config/jest.config');

module.exports = {
  ...scaffold,
  // Jest owns the browser-side unit tests in src/ only. The node:test suites
  // under agent/ and tests/ (run by `node --test`) would fail under jsdom and
  // must not be picked up, nor should the crawler wander into agent/build/.
  roots: ['<rootDir>/src'],
  // Editor tests click through @grafana/ui's selects under jsdom; on our shared 2-CPU machines a test can
  // take several seconds while other suites build, so Jest's 5 s default fails them for no fault of theirs.
  testTimeout: 30000,
  transform: {
    ...scaffold.transform,
    // Some ESM-only dependencies of @grafana/data now ship `.mjs` files
    // (d3-color 3.1.1), which the scaffold's `.(t|j)sx?` pattern misses.
    '^.+\\.mjs$': scaffold.transform['^.+\\.(t|j)sx?$'],
  },
};
