// SPDX-License-Identifier: Apache-2.0
/*
 * fanOut's concurrency: every agent asked at once up to maxConcurrency,
 * never more in flight, each outcome kept in agent order. The asks here are
 * plain promises the test settles by hand (no agent, real or fake): what is
 * checked is the scheduling, which a real daemon's answer time would hide.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { AgentError } from './agent-client';
import { Agent } from './discovery';
import { fanOut, failureNotices, succeeded } from './fanout';

const agents = (n: number): Agent[] =>
  Array.from({ length: n }, (_, i) => ({ name: `a${i}:9781`, url: `http://a${i}:9781` }));

/** An ask whose answers the test releases one by one, counting what is in flight. */
function gatedAsk() {
  const waiting: Array<{ agent: Agent; release: () => void }> = [];
  const state = { inFlight: 0, maxInFlight: 0, started: [] as string[] };
  const ask = (agent: Agent) =>
    new Promise<string>((resolve, reject) => {
      state.inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
      state.started.push(agent.name);
      waiting.push({
        agent,
        release: () => {
          state.inFlight--;
          if (agent.name === 'a3:9781') {
            reject(new AgentError(agent.name, 'refused', `agent ${agent.name}: refused`));
          } else {
            resolve(`answer of ${agent.name}`);
          }
        },
      });
    });
  return { ask, waiting, state };
}

const settle = () => new Promise((r) => setImmediate(r));

test('fanOut asks maxConcurrency agents at once, never more, and the next as soon as one answers', async () => {
  const { ask, waiting, state } = gatedAsk();
  const done = fanOut(agents(7), 3, ask);
  await settle();
  assert.equal(state.inFlight, 3, 'three asked at once before any answered');
  assert.deepEqual(state.started, ['a0:9781', 'a1:9781', 'a2:9781']);
  // Answer out of order: the slot freed is taken by the next agent at once.
  waiting.splice(1, 1)[0].release();
  await settle();
  assert.equal(state.inFlight, 3);
  assert.deepEqual(state.started.slice(3), ['a3:9781']);
  while (waiting.length > 0) {
    waiting.shift()!.release();
    await settle();
    assert.ok(state.inFlight <= 3, `in flight ${state.inFlight} > maxConcurrency 3`);
  }
  const results = await done;
  assert.equal(state.maxInFlight, 3);
  assert.deepEqual(
    results.map((r) => r.agent.name),
    agents(7).map((a) => a.name),
    'outcomes in agent order'
  );
  assert.deepEqual(
    succeeded(results).map((r) => r.value),
    ['a0:9781', 'a1:9781', 'a2:9781', 'a4:9781', 'a5:9781', 'a6:9781'].map((n) => `answer of ${n}`)
  );
  assert.deepEqual(failureNotices(results), [{ severity: 'warning', text: 'agent a3:9781: refused' }]);
});

test('fanOut with maxConcurrency above the number of agents asks them all at once', async () => {
  const { ask, waiting, state } = gatedAsk();
  const done = fanOut(agents(4), 10, ask);
  await settle();
  assert.equal(state.inFlight, 4);
  waiting.forEach((w) => w.release());
  assert.equal((await done).length, 4);
});

test('fanOut with maxConcurrency 1 asks one agent after another', async () => {
  const { ask, waiting, state } = gatedAsk();
  const done = fanOut(agents(3), 1, ask);
  for (let i = 0; i < 3; i++) {
    await settle();
    assert.equal(state.inFlight, 1);
    assert.equal(state.started.length, i + 1);
    waiting.shift()!.release();
  }
  await done;
  assert.equal(state.maxInFlight, 1);
});
