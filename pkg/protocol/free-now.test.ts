// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

import { BufferLedger, freeNow } from './free-now';

test('freeNow detaches a buffer of its own: every view of it reads as empty', () => {
  const b = Buffer.allocUnsafeSlow(1 << 20).fill(7);
  const view = new Uint8Array(b.buffer, 4096, 100);
  assert.equal(freeNow(b.subarray(0, 10)), true);
  assert.equal(b.length, 0);
  assert.equal(view.length, 0);
  assert.equal(b.buffer.byteLength, 0);
  assert.equal(freeNow(b), false, 'a detached buffer is not freed twice');
});

test("freeNow leaves Node's shared pool alone: small Buffers stay intact", () => {
  const a = Buffer.from('one');
  const b = Buffer.from('two');
  assert.equal(a.buffer, b.buffer, 'both in the pool');
  assert.equal(freeNow(a), false);
  assert.equal(a.toString(), 'one');
  assert.equal(b.toString(), 'two');
});

test('a BufferLedger frees every buffer kept in it, once', () => {
  const ledger = new BufferLedger();
  const big = [Buffer.allocUnsafeSlow(65536), new Float64Array(16384), new Int32Array(4096)];
  const small = Buffer.from('kept');
  big.forEach((v) => ledger.keep(v));
  ledger.keep(small);
  ledger.freeAll();
  assert.deepEqual(
    big.map((v) => v.byteLength),
    [0, 0, 0]
  );
  assert.equal(small.toString(), 'kept');
  ledger.freeAll();
});

/*
 * What it is for, in a fresh process: 64 blocks of 1 MiB whose Buffers are
 * in the old generation (two full GCs kept them), then dropped. A young
 * collection alone does not give their memory back; freed with freeNow, it
 * does.
 */
function rssDropMiB(useFreeNow: boolean): number {
  const script = `
    const { freeNow } = require(${JSON.stringify(path.join(__dirname, 'free-now'))});
    let blocks = Array.from({ length: 64 }, () => Buffer.allocUnsafeSlow(1 << 20).fill(1));
    gc();
    gc();
    const before = process.memoryUsage.rss();
    if (${useFreeNow}) blocks.forEach(freeNow);
    blocks = undefined;
    gc({ type: 'minor' });
    gc({ type: 'minor' });
    setTimeout(() => process.stdout.write(String((before - process.memoryUsage.rss()) / 1048576)), 100);`;
  return Number(execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', '-e', script], { encoding: 'utf8' }));
}

test('freeNow gives the memory back at the next young collection, without waiting for a major GC', () => {
  const dropped = rssDropMiB(false);
  const freed = rssDropMiB(true);
  assert.ok(dropped < 16, `dropped old Buffers keep their memory until a major GC (${dropped} MiB came back)`);
  assert.ok(freed > 48, `freed ones give it back (${freed} of 64 MiB came back)`);
});
