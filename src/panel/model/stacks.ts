// SPDX-License-Identifier: Apache-2.0
/*
 * An edge's two stacks the way BCC's offwaketime prints a block, so people
 * who know that output read ours at once:
 *
 *     waker:           kubelet 606
 *     <waker frames, outermost first>
 *     --               --
 *     <target frames, innermost first>
 *     target:          wrk:worker_1 4450
 *         182                                  (off-CPU µs)
 *
 * with `-` between kernel and user frames (offwaketime -d), and the frames
 * that decided the category or activity marked `<<<<` with the reason. Also
 * the folded form (offwaketime -f, FlameGraph's input).
 */
import { linkRow, type ChainRow } from './chains';
import type { Decision, FrameRef, StackName } from './explanation';

export interface StackLine {
  text: string;
  /** The decisions that name this frame; set only on frame lines. */
  decided?: Decision[];
  kind: 'header' | 'frame' | 'delimiter' | 'separator' | 'value';
}

const HEADER_PAD = 17; // offwaketime's "%-16s " after "waker:"/"target:"

function header(label: 'waker:' | 'target:', who: string): string {
  return `    ${label.padEnd(HEADER_PAD)}${who}`;
}

function decisionsAt(row: ChainRow, stack: StackName, index: number): Decision[] {
  return row.explanation.decisions.filter((d) => d.frames.some((f) => f.stack === stack && f.index === index));
}

/** Frames of one stack in print order, with `-` between kernel and user frames. */
function stackLines(row: ChainRow, stack: StackName): StackLine[] {
  const frames = stack === 'waker' ? row.wakerStack : row.targetStack;
  const kernel = Math.min(stack === 'waker' ? row.wakerKernelFrames : row.targetKernelFrames, frames.length);
  const inner: StackLine[] = [];
  frames.forEach((frame, index) => {
    if (index === kernel && kernel > 0 && kernel < frames.length) {
      inner.push({ text: '    -', kind: 'delimiter' });
    }
    const decided = decisionsAt(row, stack, index);
    inner.push({ text: `    ${frame}`, kind: 'frame', decided: decided.length > 0 ? decided : undefined });
  });
  // offwaketime prints the waker's stack from its root down to the wakeup.
  return stack === 'waker' ? inner.reverse() : inner;
}

function who(comm: string, tid: number | null): string {
  return tid === null ? comm || '[preempted]' : `${comm} ${tid}`;
}

/** The block's lines; a frame that decided carries its decisions. */
export function offwaketimeLines(row: ChainRow): StackLine[] {
  const waker = row.kind === 'preempted' ? '' : who(row.wakerComm, row.wakerTid);
  return [
    {
      text: header('waker:', waker || (row.preemptor ? `(preempted by ${row.preemptor})` : '(preempted)')),
      kind: 'header',
    },
    ...stackLines(row, 'waker'),
    { text: `    ${'--'.padEnd(HEADER_PAD)}--`, kind: 'separator' },
    ...stackLines(row, 'target'),
    { text: header('target:', who(row.targetComm, row.targetTid)), kind: 'header' },
    { text: `        ${Math.round(row.offcpu * 1e6)}`, kind: 'value' },
  ];
}

/** The note printed after a deciding frame: `<<<< category net.tcp.data (rule tcp-data)`. */
export function decisionNote(row: ChainRow, decisions: Decision[]): string {
  return `<<<< ${decisions
    .map(
      (d) => `${d.output} ${d.output === 'category' ? row.category : row.activity}${d.rule ? ` (rule ${d.rule})` : ''}`
    )
    .join(', ')}`;
}

/** The block as plain text, notes included: what "Copy stacks" puts on the clipboard. */
export function offwaketimeText(row: ChainRow): string {
  return offwaketimeLines(row)
    .map((line) => (line.decided ? `${line.text} ${decisionNote(row, line.decided)}` : line.text))
    .join('\n');
}

/** offwaketime -f: `target;frames outermost first;--;waker frames innermost first;waker value`. */
export function foldedLine(row: ChainRow): string {
  const clean = (frame: string) => frame.replace(/;/g, ':');
  const target = [...row.targetStack].reverse().map(clean);
  const waker = row.wakerStack.map(clean);
  const wakerName = row.kind === 'preempted' ? '' : clean(row.wakerComm);
  return [clean(row.targetComm), ...target, '--', ...waker, wakerName].join(';') + ` ${Math.round(row.offcpu * 1e6)}`;
}

/** The frame a reference names, for the one-line reason. */
export function frameAt(row: ChainRow, ref: FrameRef): string | undefined {
  return (ref.stack === 'waker' ? row.wakerStack : row.targetStack)[ref.index];
}

/** Every hop's block of a chain (one block for an edge), first cause first, a blank line between: "Copy stacks". */
export function chainStacksText(row: ChainRow): string {
  return row.links.map((_, i) => offwaketimeText(linkRow(row, i))).join('\n\n');
}

/** One folded line per hop of a chain (one for an edge): "Copy folded". */
export function chainFoldedLines(row: ChainRow): string {
  return row.links.map((_, i) => foldedLine(linkRow(row, i))).join('\n');
}
