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
