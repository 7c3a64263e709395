// SPDX-License-Identifier: Apache-2.0
/*
 * `flamegraph`: an off-wake flame graph (Brendan Gregg's, offwaketime's
 * folded output) in Grafana's nested-set shape: rows depth first with
 * `level`, `value` (the node and everything above it), `self` and `label`.
 * Each edge is one path: the target thread's name, its stack from the root
 * down to where it blocked, a `--` frame, then the waker's stack from where
 * it woke the target back towards its root, then the waker's name.
 */
import { FLAMEGRAPH as F } from '../../../src/shared/frames';
import { FlamegraphQueryModel } from '../../../src/shared/query';
import { Utf8Builder } from '../../protocol/columns';
import { Frame, field } from '../../protocol/frame';
import { EdgeBatch } from '../agent-edges';
import { TextInterner } from '../json-cursor';
import { DecodedQuery } from '../query';
import { QueryAnswer, QueryEnv } from './context';
import { everyAgentsTopEdges } from './edges';

/**
 * A node and its children: most nodes of an off-wake graph have one (paths
 * share their roots and part ways once), so the first child is held as
 * itself and a Map is made only for a second one (then holding all of them).
 */
interface TrieNode {
  label: string;
  total: number;
  self: number;
  first?: TrieNode;
  all?: Map<string, TrieNode>;
}

const NOT_SAMPLED = '[stack not sampled]';

/** Paths added frame by frame (no array per path), then written as the nested set. */
export class FlameTrie {
  readonly root: TrieNode = { label: 'total', total: 0, self: 0 };
  private at = this.root;
  private value = 0;
  rows = 1;

  /** Starts a path of this value; false (and the path to be left out) when it is not positive. */
  begin(value: number): boolean {
    if (!(value > 0)) {
      return false;
    }
    this.value = value;
    this.root.total += value;
    this.at = this.root;
    return true;
  }

  step(label: string): void {
    const at = this.at;
    let child = at.all ? at.all.get(label) : at.first?.label === label ? at.first : undefined;
    if (!child) {
      child = { label, total: 0, self: 0 };
      if (!at.first) {
        at.first = child;
      } else {
        at.all ??= new Map([[at.first.label, at.first]]);
        at.all.set(label, child);
      }
      this.rows++;
    }
    child.total += this.value;
    this.at = child;
  }

  end(): void {
    this.at.self += this.value;
  }

  /** Rows depth first, heaviest child first (an iterative walk: a deep stack must not blow the JS stack). */
  frame(unit: 's' | 'short'): Frame {
    const n = this.rows;
    const level = new Float64Array(n);
    const value = new Float64Array(n);
    const self = new Float64Array(n);
    const label = new Utf8Builder(n, n * 24);
    const nodes: TrieNode[] = [this.root];
    const depths: number[] = [0];
    let k = 0;
    while (nodes.length) {
      const node = nodes.pop()!;
      const depth = depths.pop()!;
      level[k] = depth;
      value[k] = node.total;
      self[k++] = node.self;
      label.push(node.label);
      if (node.all) {
        // Lightest first onto the stack: the heaviest comes off it first.
        const kids = [...node.all.values()].sort((a, b) => a.total - b.total || (a.label < b.label ? 1 : -1));
        for (const c of kids) {
          nodes.push(c);
          depths.push(depth + 1);
        }
      } else if (node.first) {
        nodes.push(node.first);
        depths.push(depth + 1);
      }
    }
    return {
      name: F.frame,
      meta: { preferredVisualisationType: 'flamegraph' },
      fields: [
        field.int64(F.level, level),
        field.float64(F.value, value, { config: { unit } }),
        field.float64(F.self, self, { config: { unit } }),
        field.string(F.label, label.finish()),
      ],
    };
  }
}

/**
 * Row i's path, root first (docs/backend.md): the target's name, its stack
 * from the root down, `--`, the waker's stack from where it woke the target,
 * the waker's name.
 */
export function addOffWakePath(trie: FlameTrie, b: EdgeBatch, i: number, names = new TextInterner()): void {
  trie.step(b.string('targetComm', i) || 'unknown');
  if (b.stackDepth('target', i) === 0) {
    trie.step(NOT_SAMPLED);
  } else {
    for (let f = b.targetTo[i] - 1; f >= b.targetFrom[i]; f--) {
      trie.step(b.frameName(f, names));
    }
  }
  trie.step(F.separator);
  if (b.stackDepth('waker', i) === 0) {
    trie.step(NOT_SAMPLED);
  } else {
    for (let f = b.wakerFrom[i]; f < b.wakerTo[i]; f++) {
      trie.step(b.frameName(f, names));
    }
  }
  const context = b.string('wakerContext', i);
  trie.step(context === 'task' ? b.string('wakerComm', i) || 'unknown' : `[${context}]`);
  trie.end();
}

/** A flame graph of whole paths (tests, and anything that has its paths already). */
export function buildFlamegraph(paths: Array<{ path: string[]; value: number }>, unit: 's' | 'short'): Frame {
  const trie = new FlameTrie();
  for (const { path, value } of paths) {
    if (trie.begin(value)) {
      path.forEach((l) => trie.step(l));
      trie.end();
    }
  }
  return trie.frame(unit);
}

export async function flamegraphQuery(q: DecodedQuery, m: FlamegraphQueryModel, env: QueryEnv): Promise<QueryAnswer> {
  // `limit` edges of each agent (src/shared/query.ts), all of them in the graph.
  // Only the parts of an edge its path is made of (agents from before `fields` send it whole).
  const top = await everyAgentsTopEdges(q, m, m.value === 'count' ? 'count' : 'offcpu', m.limit, env, 'paths');
  const trie = new FlameTrie();
  const names = new TextInterner();
  for (const { batch, row } of top.edges) {
    const value = m.value === 'count' ? batch.num.count[row] : batch.num.offcpuUs[row] / 1e6;
    if (trie.begin(value)) {
      addOffWakePath(trie, batch, row, names);
    }
  }
  const frame = trie.frame(m.value === 'count' ? 'short' : 's');
  frame.meta = { ...frame.meta, executedQueryString: top.executed };
  return { frames: [frame], notices: top.notices, failedAgents: top.failed };
}
