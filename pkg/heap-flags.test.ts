// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

/*
 * In a fresh Node process (the flags act on its heap from the start, as in
 * the executable): 200 MB of short-lived objects, then the young
 * generation's size. Without the module V8 grows it to 32 MiB here.
 */
function newSpaceMiB(withFlags: boolean): number {
  const script = `
    ${withFlags ? `require(${JSON.stringify(path.join(__dirname, 'heap-flags'))});` : ''}
    let keep = [];
    for (let i = 0; i < 4e6; i++) { const o = { a: i, b: 'x' + i }; if (i % 1000 === 0) keep.push(o); }
    const ns = require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    process.stdout.write(String(ns.space_size / 1048576));`;
  return Number(execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' }));
}

test('heap flags: the young generation stays at its first size under garbage', () => {
  const without = newSpaceMiB(false);
  const flagged = newSpaceMiB(true);
  // (Loading TypeScript through tsx has grown it to 4 MiB before the module runs; the executable starts at 2.)
  assert.ok(without >= 16, `without the flags the young generation grows (${without} MiB)`);
  assert.ok(flagged <= 4, `with them it stays where it was (4 MiB), not ${flagged} MiB`);
});

/*
 * In a fresh Node process: old-generation garbage (300,000 objects that
 * outlive a few scavenges, then die), and the major GCs that collect it.
 * Without the module V8 lets the old generation grow further between them.
 */
function majorGCs(withFlags: boolean): { majors: number; oldMiB: number } {
  const script = `
    ${withFlags ? `require(${JSON.stringify(path.join(__dirname, 'heap-flags'))});` : ''}
    const { PerformanceObserver, constants } = require('node:perf_hooks');
    const v8 = require('node:v8');
    let majors = 0;
    let oldMiB = 0;
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) majors += e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR ? 1 : 0;
    }).observe({ entryTypes: ['gc'] });
    const ring = new Array(300000);
    for (let i = 0; i < 3e6; i++) {
      ring[i % 300000] = { a: i, b: [i, i + 1], c: 'x' + i };
      if (i % 10000 === 0) {
        const old = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space');
        oldMiB = Math.max(oldMiB, old.space_size / 1048576);
      }
    }
    // GC entries are delivered after the loop.
    setTimeout(() => process.stdout.write(JSON.stringify({ majors, oldMiB })), 200);`;
  return JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' }));
}

test('heap flags: a major GC comes sooner, so the old generation stays smaller', () => {
  const without = majorGCs(false);
  const flagged = majorGCs(true);
  assert.ok(
    flagged.majors > without.majors,
    `more major GCs with the flags (${flagged.majors}) than without (${without.majors})`
  );
  assert.ok(
    flagged.oldMiB < without.oldMiB * 0.7,
    `the old generation peaks lower with the flags (${flagged.oldMiB} MiB) than without (${without.oldMiB} MiB)`
  );
});
