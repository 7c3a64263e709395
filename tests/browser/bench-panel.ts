// SPDX-License-Identifier: Apache-2.0
/*
 * npm run bench:panel: how fast the built wake-chains panel draws and
 * answers a click, in Debian's Chromium, loaded the way Grafana loads it.
 * Frames are synthetic (src/panel/testing/syntheticChains.ts, in the
 * backend's exact chains shape), because a live workload does not make 2,000
 * distinct edges on demand; the panel cannot tell them apart.
 *
 * For 1, 100 and 2,000 edges, each with every edge drawn ("Links shown" =
 * the edge count) and 2,000 with the default cap (100): first render (frames
 * handed over → painted, on an empty page) and selection (click on a link →
 * the details painted): the first selection, which opens the details pane (the
 * diagram keeps its layout and scrolls above it), and a change of selection.
 * Rounds interleave the sizes; the median and the worst
 * are reported, with the load average. Goals (issue 9): first render of
 * 2,000 edges ≤ 200 ms, selection ≤ 50 ms. Not a test: it prints figures.
 *
 * `--base DIST` compares two builds in one run: DIST (another commit's
 * `dist/`, built with `npx webpack -c webpack.config.ts --env production`)
 * is served beside this tree's `dist/` on a page of its own, and every case
 * of every round is measured on both, in alternating order; the table then
 * gives each figure as base → this build, with the median of the paired
 * differences in ms.
 *
 *   npm run bench:panel [-- --rounds N] [-- --base DIST]
 */
import { loadavg } from 'node:os';

import { chainsFrame, syntheticChains } from '../../src/panel/testing/syntheticChains';
import { pageBundle } from './harness/bundle';
import { unexpectedErrors } from './harness/helpers';
import { launch, openPage } from './harness/browser';
import type {} from './harness/driver';
import { startHarnessServer } from './harness/server';

const argOf = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const ROUNDS = Number(argOf('--rounds') ?? 7);
const BASE = argOf('--base');
const CASES: Array<{ edges: number; maxLinks: number }> = [
  { edges: 1, maxLinks: 1 },
  { edges: 100, maxLinks: 100 },
  { edges: 2000, maxLinks: 2000 },
  { edges: 2000, maxLinks: 100 },
];
const SIZE = { width: 1200, height: 700 };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const say = (s: string) => process.stdout.write(`${s}\n`);

interface Figures {
  render: number[];
  open: number[];
  change: number[];
}

async function main() {
  say(
    `bench:panel: ${ROUNDS} rounds${BASE ? `, base ${BASE} against this build` : ''}, load average before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`
  );
  const bundle = await pageBundle(say);
  const ds = { uid: 'bench', jsonData: {}, secureJsonData: {}, lastUpdatedMS: 0 };
  const servers = [await startHarnessServer({ bundle, ds })];
  if (BASE) {
    servers.unshift(await startHarnessServer({ bundle, ds, dist: BASE }));
  }
  const browser = await launch();
  try {
    const pages = [];
    for (const server of servers) {
      const h = await openPage(browser, `${server.url}/?theme=dark`, { width: 1300, height: 800 });
      await h.page.evaluate(() =>
        window.wakeflow.init({
          theme: 'dark',
          instance: {
            uid: 'bench',
            type: 'wakeflow-offwake-datasource',
            name: 'Wakeflow',
            jsonData: {},
            access: 'proxy',
            readOnly: false,
          },
        })
      );
      pages.push(h);
    }
    const frames = new Map(CASES.map((c) => [c.edges, chainsFrame(syntheticChains(c.edges))]));
    // figures[build][case]: the base's first when there is one.
    const figures: Figures[][] = pages.map(() => CASES.map(() => ({ render: [], open: [], change: [] })));
    // One warm-up round (JIT, style caches), not counted.
    for (let round = -1; round < ROUNDS; round++) {
      for (const [i, c] of CASES.entries()) {
        // Two builds: each goes first in every other round, so neither always runs on a warmer machine.
        const order = pages.map((_, b) => b);
        if (round % 2 !== 0) {
          order.reverse();
        }
        for (const b of order) {
          const { page } = pages[b];
          await page.evaluate(() => window.wakeflow.unmount());
          const ms = await page.evaluate(
            ([frame, maxLinks, size]) =>
              window.wakeflow.renderPanelFrames({ frames: [frame], options: { maxLinks }, ...size }),
            [frames.get(c.edges)!, c.maxLinks, SIZE] as const
          );
          // The first selection opens the details pane (mounted, laid out and painted); the second changes
          // what it shows. Neither lays the diagram out again.
          const first = await page.evaluate(() => window.wakeflow.measureClick('[data-link]'));
          const second = await page.evaluate(() => window.wakeflow.measureClick('[data-link]:last-of-type'));
          if (round >= 0) {
            figures[b][i].render.push(ms);
            figures[b][i].open.push(first);
            figures[b][i].change.push(second);
          }
        }
      }
    }
    const fmt = (xs: number[]) => `${median(xs).toFixed(1)} ms (${Math.max(...xs).toFixed(1)})`;
    const paired = (base: number[], next: number[]) => {
      const d = median(next.map((x, k) => x - base[k]));
      return `${d >= 0 ? '+' : ''}${d.toFixed(1)}`;
    };
    say(
      '\n| edges | links drawn | first render median (worst) | first selection (opens details) | change of selection |'
    );
    say(
      '| ----: | ----------: | --------------------------: | ------------------------------: | ------------------: |'
    );
    for (const [i, c] of CASES.entries()) {
      const drawn = c.maxLinks;
      const cell = (key: keyof Figures) => {
        const next = figures[figures.length - 1][i][key];
        if (figures.length === 1) {
          return fmt(next);
        }
        const base = figures[0][i][key];
        return `${fmt(base)} → ${fmt(next)}, paired ${paired(base, next)} ms`;
      };
      say(
        `| ${c.edges} | ${drawn === c.edges ? 'all' : `${drawn} + other`} | ${cell('render')} | ${cell('open')} | ${cell('change')} |`
      );
    }
    say(
      `\nload average after: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}; Chromium ${browser.version()}`
    );
    for (const h of pages) {
      if (unexpectedErrors(h.errors).length > 0) {
        say(`page errors: ${unexpectedErrors(h.errors).join('; ')}`);
      }
    }
  } finally {
    await browser.close();
    for (const server of servers) {
      await server.close();
    }
  }
}

main().catch((err) => {
  process.stderr.write(`bench:panel: ${String(err?.stack ?? err)}\n`);
  process.exit(1);
});
