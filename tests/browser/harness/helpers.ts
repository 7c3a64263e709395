// SPDX-License-Identifier: Apache-2.0
/// <reference lib="dom" />
/*
 * What the browser tests do on a page, as a user would: click a drawn link
 * where it is not covered by another one, run axe-core, and check that the
 * page loaded without errors.
 */
import path from 'node:path';

import type { Locator, Page } from 'playwright-core';

import { ROOT } from './bundle';

/** Clicks a link of the diagram at a point of its own, not where another link is drawn over it. */
export async function clickLink(page: Page, link: Locator): Promise<void> {
  const point = await link.evaluate((el) => {
    const p = el as SVGPathElement;
    const len = p.getTotalLength();
    const ctm = p.getScreenCTM()!;
    for (let f = 0.03; f < 1; f += 0.03) {
      const q = p.getPointAtLength(len * f);
      const x = q.x * ctm.a + q.y * ctm.c + ctm.e;
      const y = q.x * ctm.b + q.y * ctm.d + ctm.f;
      if (document.elementFromPoint(x, y) === p) {
        return { x, y };
      }
    }
    return null;
  });
  if (!point) {
    throw new Error(`no visible point of link ${await link.getAttribute('aria-label')} to click`);
  }
  await page.mouse.click(point.x, point.y);
}

export interface AxeViolation {
  id: string;
  impact: string;
  help: string;
  nodes: Array<{ target: string[]; failureSummary?: string }>;
}

/** axe-core on one region of the page: the serious and critical violations. */
export async function seriousViolations(page: Page, selector: string): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) {
    await page.addScriptTag({ path: path.join(ROOT, 'node_modules', 'axe-core', 'axe.min.js') });
  }
  const violations = await page.evaluate(async (sel) => {
    const axe = (
      window as unknown as { axe: { run: (c: Element, o: object) => Promise<{ violations: AxeViolation[] }> } }
    ).axe;
    const region = document.querySelector(sel);
    if (!region) {
      throw new Error(`axe: nothing on the page matches ${sel}`);
    }
    const result = await axe.run(region, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
    }));
  }, selector);
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/**
 * Grafana serves its fonts and the full icon set from its own public/ folder;
 * neither is in an npm package. The harness serves the icons @grafana/ui ships
 * (every icon our plugins name is among them); Select's loading spinner and
 * the fonts are not (the browser falls back to DejaVu). Every other request
 * must be answered.
 */
const GRAFANA_CORE_ASSETS = [
  /^\/public\/fonts\//,
  /^\/favicon\.ico$/,
  /^\/public\/build\/img\/icons\/unicons\/spinner\.svg$/,
];

export function unexpectedMisses(misses: string[]): string[] {
  return misses.filter((m) => !GRAFANA_CORE_ASSETS.some((re) => re.test(m)));
}

export function unexpectedErrors(errors: string[]): string[] {
  // Missing resources are checked by path through unexpectedMisses; the browser's message names no URL.
  return errors.filter((e) => !e.startsWith('Failed to load resource'));
}

/**
 * The fields under `selector` whose label shows no info icon: every field of our editors has a tooltip, which
 * Grafana draws as an icon inside the label (choices of a radio group and a switch's empty track excluded).
 */
export async function fieldsWithoutInfoIcon(page: Page, selector: string): Promise<string[]> {
  return page.evaluate(
    (s) =>
      Array.from(document.querySelectorAll(`${s} label`))
        .filter((l) => !l.closest('[role="radiogroup"]') && (l.textContent ?? '').trim() !== '')
        .filter((l) => l.querySelector('svg') === null)
        .map((l) => l.textContent ?? ''),
    selector
  );
}
