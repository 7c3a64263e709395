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
 *   npm run bench:panel [-- --rounds N]
 */
import { loadavg } from 'node:os';

import { chainsFrame, syntheticChains } from '../../src/panel/testing/syntheticChains';
import { pageBundle } from './harness/bundle';
import { unexpectedErrors } from './harness/helpers';
import { launch, openPage } from './harness/browser';
import type {} from './harness/driver';
import { startHarnessServer } from './harness/server';

const roundsArg = process.argv.indexOf('--rounds');
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 7;
const CASES: Array<{ edges: number; maxLinks: number }> = [
  { edges: 1, maxLinks: 1 },
  { edges: 100, maxLinks: 100 },
  { edges: 2000, maxLinks: 2000 },
  { edges: 2000, maxLinks: 100 },
];
const SIZE = { width: 1200, height: 700 };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const say = (s: string) => process.stdout.write(`${s}\n`);

async function main() {
  say(
    `bench:panel: ${ROUNDS} rounds, load average before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`
  );
  const bundle = await pageBundle(say);
  const server = await startHarnessServer({
    bundle,
    ds: { uid: 'bench', jsonData: {}, secureJsonData: {}, lastUpdatedMS: 0 },
  });
  const browser = await launch();
  try {
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
    const frames = new Map(CASES.map((c) => [c.edges, chainsFrame(syntheticChains(c.edges))]));
    const render: number[][] = CASES.map(() => []);
    const open: number[][] = CASES.map(() => []);
    const change: number[][] = CASES.map(() => []);
    // One warm-up round (JIT, style caches), not counted.
    for (let round = -1; round < ROUNDS; round++) {
      for (const [i, c] of CASES.entries()) {
        await h.page.evaluate(() => window.wakeflow.unmount());
        const ms = await h.page.evaluate(
          ([frame, maxLinks, size]) =>
            window.wakeflow.renderPanelFrames({ frames: [frame], options: { maxLinks }, ...size }),
          [frames.get(c.edges)!, c.maxLinks, SIZE] as const
        );
        // The first selection opens the details pane (mounted, laid out and painted); the second changes what
        // it shows. Neither lays the diagram out again.
        const first = await h.page.evaluate(() => window.wakeflow.measureClick('[data-link]'));
        const second = await h.page.evaluate(() => window.wakeflow.measureClick('[data-link]:last-of-type'));
        if (round >= 0) {
          render[i].push(ms);
          open[i].push(first);
          change[i].push(second);
        }
      }
    }
    say(
      '\n| edges | links drawn | first render median (worst) | first selection (opens details) | change of selection |'
    );
    say(
      '| ----: | ----------: | --------------------------: | ------------------------------: | ------------------: |'
    );
    for (const [i, c] of CASES.entries()) {
      const fmt = (xs: number[]) => `${median(xs).toFixed(1)} ms (${Math.max(...xs).toFixed(1)})`;
      const drawn = c.maxLinks;
      say(
        `| ${c.edges} | ${drawn === c.edges ? 'all' : `${drawn} + other`} | ${fmt(render[i])} | ${fmt(open[i])} | ${fmt(change[i])} |`
      );
    }
    say(
      `\nload average after: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}; Chromium ${browser.version()}`
    );
    if (unexpectedErrors(h.errors).length > 0) {
      say(`page errors: ${unexpectedErrors(h.errors).join('; ')}`);
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

main().catch((err) => {
  process.stderr.write(`bench:panel: ${String(err?.stack ?? err)}\n`);
  process.exit(1);
});
