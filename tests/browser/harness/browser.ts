// SPDX-License-Identifier: Apache-2.0
/*
 * Debian's Chromium, driven by playwright-core (never a downloaded browser),
 * with a page on the harness and every console error and page error
 * collected, so a test can assert the plugins loaded cleanly.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

import { chromium, type Browser, type Page } from 'playwright-core';

import { ROOT } from './bundle';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];
/** Screenshots are artifacts (gitignored); the tests print their paths. */
export const ARTIFACTS = path.join(ROOT, 'artifacts', 'browser');

export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: run scripts/setup (it installs Debian's chromium package)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
}

export interface HarnessPage {
  page: Page;
  /** Console errors and uncaught exceptions since the page opened. */
  errors: string[];
  /** The page, or only what `selector` matches (the panel), as artifacts/browser/NAME.png. */
  screenshot: (name: string, selector?: string) => Promise<string>;
}

export async function openPage(
  browser: Browser,
  url: string,
  viewport = { width: 1280, height: 900 }
): Promise<HarnessPage> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin });
  const page = await context.newPage();
  // Shared 2-CPU machines: an 8 MB page script under load can take longer than Playwright's 30 s defaults.
  page.setDefaultTimeout(60_000);
  page.setDefaultNavigationTimeout(90_000);
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') {
      errors.push(m.text());
    }
  });
  page.on('pageerror', (e) => errors.push(`${e.name}: ${e.message}`));
  await page.goto(url);
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    page,
    errors,
    screenshot: async (name: string, selector?: string) => {
      const file = path.join(ARTIFACTS, `${name}.png`);
      if (selector) {
        await page.locator(selector).first().screenshot({ path: file });
      } else {
        await page.screenshot({ path: file, fullPage: false });
      }
      process.stdout.write(`# screenshot: ${path.relative(ROOT, file)}\n`);
      return file;
    },
  };
}
