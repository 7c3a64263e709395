// SPDX-License-Identifier: Apache-2.0
/*
 * The query cheat sheet: the question an SRE asks, the query that answers
 * it, and the visualisation that shows it. One list for the query editor's
 * examples, Explore's cheat sheet and the app's help page; a unit test runs
 * every query through normalizeQuery so none can drift from the model.
 */
import type { WakeflowQueryModel } from '../shared/query';

export interface QueryExample {
  id: string;
  question: string;
  /** Only what differs from the defaults, as a person would write it. */
  query: Partial<WakeflowQueryModel> & Pick<WakeflowQueryModel, 'queryType'>;
  answer: string;
  visualization: 'Time series' | 'Wake chains' | 'Node graph' | 'Table' | 'Flame graph' | 'Alert rule';
}

export const QUERY_EXAMPLES: readonly QueryExample[] = [
  {
    id: 'where-time-goes',
    question: 'Latency is bad but CPU looks fine: where does Envoy spend its time off CPU?',
    query: { queryType: 'categories', metric: 'offcpu', groupBy: 'category', workload: ['$workload'] },
    answer: 'Seconds off CPU per second, per wake category. Waiting in epoll for traffic is normal; watch the rest.',
    visualization: 'Time series',
  },
  {
    id: 'waiting-for-cpu',
    question: 'Once woken, do the workers wait for a CPU?',
    query: { queryType: 'categories', metric: 'runq', groupBy: 'pod', role: ['worker'], namespace: ['$namespace'] },
    answer: 'Run-queue delay per pod: time between the wakeup and running again. It adds straight to request latency.',
    visualization: 'Time series',
  },
  {
    id: 'preempted-pods',
    question: 'Which pods are preempted, and is it their own CPU limit?',
    query: { queryType: 'preemption', groupBy: 'pod', ratio: 'time', throttled: true, namespace: ['$namespace'] },
    answer:
      'Preemption ratio per pod with the cgroup throttling beside it: a high ratio with throttling is the pod limit; without it, the node is busy.',
    visualization: 'Time series',
  },
  {
    id: 'preemption-alert',
    question: 'Page me when Envoy keeps losing its CPU.',
    query: { queryType: 'preemption', groupBy: 'pod', ratio: 'time' },
    answer:
      'The query of the "Envoy preemption ratio high" alert rule: the mean of the last 10 minutes above 0.2, held for 5 minutes.',
    visualization: 'Alert rule',
  },
  {
    id: 'who-wakes-workers',
    question: 'Who wakes the worker threads of this workload?',
    query: { queryType: 'chains', role: ['worker'], workload: ['$workload'], sort: 'offcpu', limit: 50 },
    answer: 'The heaviest waker → worker edges with both stacks; click a chain in the wake-chains panel to read them.',
    visualization: 'Wake chains',
  },
  {
    id: 'wake-chains',
    question: 'The worker was woken by the upstream reply: but who woke the waker?',
    query: { queryType: 'chains', role: ['worker'], workload: ['$workload'], sort: 'offcpu', limit: 50, depth: 3 },
    answer:
      "Chains of up to three wakeups ending at a worker, one panel column per hop; click a link to read every hop's stacks (needs agents with /api/v1/chains).",
    visualization: 'Wake chains',
  },
  {
    id: 'main-thread',
    question: "What keeps Envoy's main thread busy (xDS, DNS, stats flushes)?",
    query: { queryType: 'chains', role: ['main'], sort: 'count' },
    answer:
      'Edges into the main thread by number of wakeups: pilot-agent over its unix socket is xDS, a UDP answer is DNS.',
    visualization: 'Node graph',
  },
  {
    id: 'dispatcher-posts',
    question: "How often do Envoy threads post to each other's dispatchers?",
    query: { queryType: 'categories', metric: 'wakeups', groupBy: 'pod', activity: ['envoy.dispatcher_post'] },
    answer: 'eventfd wakeups from one Envoy thread to another, per second and pod.',
    visualization: 'Time series',
  },
  {
    id: 'access-log',
    question: 'Does the access-log flusher wake the workers?',
    query: { queryType: 'chains', activity: ['envoy.access_log_flush'], sort: 'count' },
    answer: 'Edges classified as the access-log flush, with the condition-variable stacks.',
    visualization: 'Table',
  },
  {
    id: 'preemptors',
    question: 'Who takes the CPU from Envoy?',
    query: { queryType: 'chains', category: ['preempt'], sort: 'offcpu' },
    answer: 'Preemption edges; the preemptor column names the task that got the CPU.',
    visualization: 'Table',
  },
  {
    id: 'flame',
    question: 'Which code paths, waker included, hold Envoy off CPU?',
    query: { queryType: 'flamegraph', value: 'offcpu', workload: ['$workload'] },
    answer: "An off-wake flame graph: the target's stack from its root, `--`, then the waker's stack.",
    visualization: 'Flame graph',
  },
  {
    id: 'what-is-traced',
    question: 'Which Envoy processes are traced, and by which node?',
    query: { queryType: 'targets' },
    answer: 'Every traced process with its pod labels and the agent that traces it.',
    visualization: 'Table',
  },
];
