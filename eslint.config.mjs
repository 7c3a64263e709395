// SPDX-License-Identifier: Apache-2.0
import { defineConfig } from 'eslint/config';
import baseConfig from './.config/eslint.config.mjs';

export default defineConfig([
  {
    ignores: [
      '**/node_modules/',
      '**/dist/',
      '**/coverage/',
      '**/artifacts/',
      '**/*.log',
      '**/.eslintcache',
      // Build outputs and generated inputs of the agent (C); no JS/TS of ours lives there.
      'agent/build/',
      'agent/tests/fuzz/corpus-*/',
      'test-results/',
      'playwright-report/',
      'blob-report/',
      'playwright/.cache/',
      'playwright/.auth/',
    ],
  },
  ...baseConfig,
  {
    // Node-side TypeScript (suites run with node:test + tsx, the backend):
    // the scaffold only names src/, so without this ESLint would skip them.
    files: ['agent/**/*.ts', 'tests/**/*.ts', 'pkg/**/*.ts', 'provisioning/**/*.ts'],
    languageOptions: {
      parserOptions: {
        project: './tsconfig.node.json',
      },
    },
    rules: {
      '@typescript-eslint/no-deprecated': 'warn',
    },
  },
  {
    // The browser-test page runs in the browser: checked with its own tsconfig (DOM, JSX).
    files: ['tests/browser/page/**/*.{ts,tsx}'],
    languageOptions: {
      parserOptions: {
        project: './tests/browser/page/tsconfig.json',
      },
    },
  },
]);
