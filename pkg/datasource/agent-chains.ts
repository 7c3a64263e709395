// SPDX-License-Identifier: Apache-2.0
/*
 * /api/v1/chains answers (docs/api.md): multi-hop wake chains, each its hops
 * from the first cause to the target and one link (a wakeup) between each
 * two. Read from the answer's bytes with the same JSON cursor as the edges,
 * but into one small object per chain: the chains table is at most 1,000
 * rows of at most five hops, and unlike the edges most of a chain's fields
 * reach a frame (every hop is a column), so byte ranges would save nothing.
 *
 * Read as defensively as the edges: a member of the wrong type is its empty
 * value. A chain whose links are not one fewer than its hops cannot be drawn
 * as a path; it is left out and counted, and the caller says so.
 */
import { finiteOr, readLabels, textOf } from './agent-edges';
import { JsonCursor, readAnswer } from './json-cursor';

/** A thread on a chain (or, for a first cause in interrupt context, the interrupt's name). */
export interface ChainHop {
  comm: string;
  proc: string;
  /** NaN when the agent sent none. */
  pid: number;
  tid: number;
}

/** The wakeup from hop i to hop i + 1. */
export interface ChainLink {
  category: string;
  /** Empty when no activity applies. */
  activity: string;
  /** The waking hop's context: `task`, `softirq`, `hardirq`, `none`, `unknown`. */
  context: string;
  stacksSampled: boolean;
  /** Innermost frame first; empty where not sampled. */
  wakerStack: string[];
  wakerKernelFrames: number;
  targetStack: string[];
  targetKernelFrames: number;
}

export interface AgentChain {
  id: number;
  hops: ChainHop[];
  links: ChainLink[];
  /** Of the target's off-CPU intervals that had this chain. */
  count: number;
  offcpuUs: number;
  runqUs: number;
  /** `interrupt`, `depth`, `untracked`, `none`. */
  endedBy: string;
  labels: Record<string, string>;
  firstSeenMs: number;
  lastSeenMs: number;
}

export interface ChainsAnswer {
  matched: number;
  truncated: boolean;
  chains: AgentChain[];
  /** Chains left out because their hops and links did not fit together. */
  malformed: number;
  warning: string;
}

export const ENDED_BY = ['interrupt', 'depth', 'untracked', 'none'] as const;

const str = (c: JsonCursor, dflt = ''): string => c.stringOr(dflt);

function readHop(c: JsonCursor): ChainHop {
  const hop: ChainHop = { comm: '', proc: '', pid: NaN, tid: NaN };
  if (c.kind() !== 'object') {
    c.skip();
    return hop;
  }
  c.openObject();
  while (c.nextKey()) {
    switch (c.key) {
      case 'comm':
        hop.comm = str(c);
        break;
      case 'proc':
        hop.proc = str(c);
        break;
      case 'pid':
        hop.pid = finiteOr(c, NaN);
        break;
      case 'tid':
        hop.tid = finiteOr(c, NaN);
        break;
      default:
        c.skip();
    }
  }
  return hop;
}

function readFrames(c: JsonCursor): string[] {
  const out: string[] = [];
  if (c.kind() !== 'array') {
    c.skip();
    return out;
  }
  c.openArray();
  while (c.nextItem()) {
    out.push(c.kind() === 'string' ? c.string() : textOf(c.value()));
  }
  return out;
}

function readLink(c: JsonCursor): ChainLink {
  const link: ChainLink = {
    category: '',
    activity: '',
    context: '',
    stacksSampled: false,
    wakerStack: [],
    wakerKernelFrames: NaN,
    targetStack: [],
    targetKernelFrames: NaN,
  };
  if (c.kind() !== 'object') {
    c.skip();
  } else {
    c.openObject();
    while (c.nextKey()) {
      switch (c.key) {
        case 'category':
          link.category = str(c);
          break;
        case 'activity':
          link.activity = str(c);
          break;
        case 'context':
          link.context = str(c);
          break;
        case 'stacks_sampled':
          link.stacksSampled = c.isTrue();
          break;
        case 'waker_stack':
          link.wakerStack = readFrames(c);
          break;
        case 'target_stack':
          link.targetStack = readFrames(c);
          break;
        case 'waker_stack_kernel_frames':
          link.wakerKernelFrames = finiteOr(c, NaN);
          break;
        case 'target_stack_kernel_frames':
          link.targetKernelFrames = finiteOr(c, NaN);
          break;
        default:
          c.skip();
      }
    }
  }
  // The same defaults as an edge's (agent-edges.ts STRING_DEFAULTS): `none` is no activity.
  link.category ||= 'other';
  link.context ||= 'unknown';
  if (link.activity === 'none') {
    link.activity = '';
  }
  return link;
}

function readList<T>(c: JsonCursor, item: (c: JsonCursor) => T): T[] | undefined {
  if (c.kind() !== 'array') {
    c.skip();
    return undefined;
  }
  const out: T[] = [];
  c.openArray();
  while (c.nextItem()) {
    out.push(item(c));
  }
  return out;
}

/** One chain, or undefined when its hops and links do not make a path (at least two hops, one link fewer). */
function readChain(c: JsonCursor): AgentChain | undefined {
  const chain: AgentChain = {
    id: 0,
    hops: [],
    links: [],
    count: 0,
    offcpuUs: 0,
    runqUs: 0,
    endedBy: 'none',
    labels: {},
    firstSeenMs: 0,
    lastSeenMs: 0,
  };
  let hops: ChainHop[] | undefined;
  let links: ChainLink[] | undefined;
  c.openObject();
  while (c.nextKey()) {
    switch (c.key) {
      case 'hops':
        hops = readList(c, readHop);
        break;
      case 'links':
        links = readList(c, readLink);
        break;
      case 'id':
        chain.id = finiteOr(c, 0);
        break;
      case 'count':
        chain.count = finiteOr(c, 0);
        break;
      case 'offcpu_us':
        chain.offcpuUs = finiteOr(c, 0);
        break;
      case 'runq_us':
        chain.runqUs = finiteOr(c, 0);
        break;
      case 'ended_by':
        chain.endedBy = str(c, 'none') || 'none';
        break;
      case 'labels':
        chain.labels = readLabels(c);
        break;
      case 'first_seen_ms':
        chain.firstSeenMs = finiteOr(c, 0);
        break;
      case 'last_seen_ms':
        chain.lastSeenMs = finiteOr(c, 0);
        break;
      default:
        c.skip();
    }
  }
  if (!hops || !links || hops.length < 2 || links.length !== hops.length - 1) {
    return undefined;
  }
  chain.hops = hops;
  chain.links = links;
  return chain;
}

/** A chains answer's bytes (any bytes), or undefined when they are not a wakeflow agent's (no `chains` array). */
export function readChainsAnswer(body: Buffer): ChainsAnswer | undefined {
  let matched = 0;
  let truncated = false;
  let warning = '';
  let chains: AgentChain[] | undefined;
  let malformed = 0;
  const json = readAnswer(body, (c) => {
    switch (c.key) {
      case 'chains':
        // A repeated member counts once, the last one (as in JSON.parse).
        chains = undefined;
        malformed = 0;
        if (c.kind() !== 'array') {
          c.skip();
          break;
        }
        chains = [];
        c.openArray();
        while (c.nextItem()) {
          const chain = c.kind() === 'object' ? readChain(c) : (c.skip(), undefined);
          if (chain) {
            chains.push(chain);
          } else {
            malformed++;
          }
        }
        break;
      case 'matched':
        matched = finiteOr(c, 0);
        break;
      case 'truncated':
        truncated = c.isTrue();
        break;
      case 'warning':
        warning = c.stringOr('');
        break;
      default:
        c.skip();
    }
  });
  return json && chains ? { matched, truncated, chains, malformed, warning } : undefined;
}
