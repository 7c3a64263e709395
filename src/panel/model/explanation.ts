// SPDX-License-Identifier: Apache-2.0
/*
 * An edge's `explanation` (agent, docs/api.md): which rule set its category
 * and which its activity, the frames of either stack that decided, and the
 * facts that did. The panel marks those frames the way people annotate
 * offwaketime captures by hand (`b'tcp_v4_rcv' <<<<< downstream TCP data`).
 */

export type StackName = 'waker' | 'target';

export interface FrameRef {
  stack: StackName;
  index: number;
}

export interface Decision {
  /** What was decided: the category id, or the activity id. */
  output: 'category' | 'activity';
  rule: string;
  /** The rule's `when` line that matched, as written in the rules file. */
  when: string;
  frames: FrameRef[];
  facts: string[];
}

export interface Explanation {
  decisions: Decision[];
}

const EMPTY: Explanation = { decisions: [] };

function asStack(value: unknown): StackName | undefined {
  return value === 'waker' || value === 'target' ? value : undefined;
}

/**
 * Frame references in the shapes an explanation may carry them:
 * `frames: [{stack: "waker", index: 3}]`, `frames: [3]` with `stack: "waker"`
 * beside it, or `waker_frames: [3]` / `target_frames: [1]`. Indexes outside
 * the stack are dropped: a stack shortened on the way cannot mark a wrong frame.
 */
function frameRefs(part: Record<string, unknown>, sizes: Record<StackName, number>): FrameRef[] {
  const refs: FrameRef[] = [];
  const push = (stack: StackName | undefined, index: unknown) => {
    if (stack && typeof index === 'number' && Number.isInteger(index) && index >= 0 && index < sizes[stack]) {
      if (!refs.some((r) => r.stack === stack && r.index === index)) {
        refs.push({ stack, index });
      }
    }
  };
  const defaultStack = asStack(part.stack);
  if (Array.isArray(part.frames)) {
    for (const f of part.frames) {
      if (typeof f === 'number') {
        push(defaultStack ?? 'waker', f);
      } else if (f && typeof f === 'object') {
        const o = f as Record<string, unknown>;
        push(asStack(o.stack) ?? defaultStack, o.index ?? o.frame);
      }
    }
  }
  for (const stack of ['waker', 'target'] as const) {
    const list = part[`${stack}_frames`] ?? part[`${stack}Frames`];
    if (Array.isArray(list)) {
      list.forEach((i) => push(stack, i));
    }
  }
  return refs;
}

export function parseExplanation(text: string, wakerFrames: number, targetFrames: number): Explanation {
  if (text === '') {
    return EMPTY;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return EMPTY;
  }
  if (!parsed || typeof parsed !== 'object') {
    return EMPTY;
  }
  const sizes = { waker: wakerFrames, target: targetFrames };
  const decisions: Decision[] = [];
  for (const output of ['category', 'activity'] as const) {
    const part = (parsed as Record<string, unknown>)[output];
    if (!part || typeof part !== 'object') {
      continue;
    }
    const p = part as Record<string, unknown>;
    decisions.push({
      output,
      rule: typeof p.rule === 'string' ? p.rule : '',
      when: typeof p.when === 'string' ? p.when : '',
      frames: frameRefs(p, sizes),
      facts: Array.isArray(p.facts) ? p.facts.map(String) : [],
    });
  }
  return { decisions };
}

/** The one-line reason for a decision: `category net.tcp.data by rule tcp-data (when waker.frame=tcp_v4_rcv; waker frame tcp_v4_rcv; fact waker.fd=socket)`. */
export function describeDecision(
  decision: Decision,
  value: string,
  frameName: (ref: FrameRef) => string | undefined
): string {
  const parts: string[] = [];
  const frames = decision.frames.map((ref) => {
    const name = frameName(ref);
    return name === undefined ? undefined : `${ref.stack} frame ${name}`;
  });
  const named = frames.filter((f): f is string => f !== undefined);
  if (named.length > 0) {
    parts.push(named.join(', '));
  }
  if (decision.facts.length > 0) {
    parts.push(`${decision.facts.length === 1 ? 'fact' : 'facts'} ${decision.facts.join(', ')}`);
  }
  if (decision.when) {
    parts.unshift(`when ${decision.when}`);
  }
  const rule = decision.rule ? ` by rule ${decision.rule}` : '';
  return `${decision.output} ${value}${rule}${parts.length > 0 ? ` (${parts.join('; ')})` : ''}`;
}
