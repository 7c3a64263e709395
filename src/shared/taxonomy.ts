// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's fixed taxonomy (docs/classification.md; the agent's
 * `/api/v1/categories` answers the same) and one colour per category, named
 * from Grafana's palette so that `theme.visualization.getColorByName` gives
 * the same hue in light and dark themes, in every panel and legend, and in the
 * Node Graph arcs the backend colours. Hues follow the group: preemption red
 * (it must stand out), network blue and purple, IPC green, timers yellow,
 * block I/O orange, the rest grey.
 */

export interface CategoryInfo {
  id: string;
  name: string;
  group: 'preempt' | 'net' | 'ipc' | 'timer' | 'io' | 'other';
  color: string;
}

export const CATEGORIES: readonly CategoryInfo[] = [
  { id: 'preempt.involuntary', name: 'Preempted', group: 'preempt', color: 'red' },
  { id: 'preempt.voluntary', name: 'Yielded', group: 'preempt', color: 'light-red' },
  { id: 'net.tcp.connect', name: 'TCP connect', group: 'net', color: 'dark-blue' },
  { id: 'net.tcp.data', name: 'TCP data', group: 'net', color: 'blue' },
  { id: 'net.tcp.close', name: 'TCP close', group: 'net', color: 'semi-dark-blue' },
  { id: 'net.tcp.writable', name: 'TCP writable', group: 'net', color: 'light-blue' },
  { id: 'net.unix', name: 'Unix socket', group: 'net', color: 'purple' },
  { id: 'net.udp', name: 'UDP', group: 'net', color: 'light-purple' },
  { id: 'net.other', name: 'Other network', group: 'net', color: 'super-light-blue' },
  { id: 'ipc.eventfd', name: 'eventfd', group: 'ipc', color: 'green' },
  { id: 'ipc.futex', name: 'futex', group: 'ipc', color: 'dark-green' },
  { id: 'ipc.pipe', name: 'pipe', group: 'ipc', color: 'light-green' },
  { id: 'ipc.signal', name: 'signal', group: 'ipc', color: 'semi-dark-green' },
  { id: 'timer', name: 'Timer', group: 'timer', color: 'yellow' },
  { id: 'io.block', name: 'Block I/O', group: 'io', color: 'orange' },
  { id: 'other', name: 'Other', group: 'other', color: 'gray' },
];

export const CATEGORY_IDS: readonly string[] = CATEGORIES.map((c) => c.id);

/** A category the taxonomy does not know (a newer agent): grey, like `other`. */
export function categoryColor(id: string): string {
  return CATEGORIES.find((c) => c.id === id)?.color ?? 'gray';
}

export const PREEMPT_GROUP = 'preempt';

export const ROLES = ['worker', 'main', 'watchdog', 'access_log', 'other'] as const;
export type Role = (typeof ROLES)[number];

/** Built-in activities; a rules file may add more, so treat this list as a hint, not a closed set. */
export const BUILTIN_ACTIVITIES = [
  'envoy.dispatcher_post',
  'envoy.stats_flush',
  'envoy.date_refresh',
  'envoy.access_log_flush',
  'envoy.watchdog',
  'envoy.xds',
  'envoy.dns',
] as const;

/** How the agent and the frames spell "no activity applies" in filters and labels. */
export const NO_ACTIVITY = 'none';
