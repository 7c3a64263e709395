// SPDX-License-Identifier: Apache-2.0
/*
 * The backend's own Prometheus metrics, served through CollectMetrics
 * (Grafana exposes them at /api/plugins/<id>/metrics): queries by type and
 * outcome, agent requests by agent and outcome with their latency, resource
 * calls, and the process's memory. Label values are bounded: query types and
 * outcomes are fixed sets, agents are the configured or discovered ones.
 */

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Series per metric beyond which new label sets are folded into one `other` series. */
const MAX_SERIES = 2048;

type Labels = Record<string, string>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(l: Labels): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

class Counter {
  private values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string
  ) {}
  inc(labels: Labels, by = 1): void {
    let key = labelText(labels);
    if (!this.values.has(key) && this.values.size >= MAX_SERIES) {
      key = labelText(Object.fromEntries(Object.keys(labels).map((k) => [k, 'other'])));
    }
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  render(): string {
    let s = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`;
    for (const [k, v] of this.values) {
      s += `${this.name}${k} ${v}\n`;
    }
    return s;
  }
}

class Histogram {
  private series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets = LATENCY_BUCKETS
  ) {}
  observe(labels: Labels, seconds: number): void {
    let key = labelText(labels);
    if (!this.series.has(key) && this.series.size >= MAX_SERIES) {
      labels = Object.fromEntries(Object.keys(labels).map((k) => [k, 'other']));
      key = labelText(labels);
    }
    let s = this.series.get(key);
    if (!s) {
      s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    this.buckets.forEach((b, i) => {
      if (seconds <= b) {
        s!.counts[i]++;
      }
    });
    s.sum += seconds;
    s.count++;
  }
  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => {
        out += `${this.name}_bucket${labelText({ ...s.labels, le: String(b) })} ${s.counts[i]}\n`;
      });
      out += `${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}\n`;
      out += `${this.name}_sum${labelText(s.labels)} ${s.sum}\n`;
      out += `${this.name}_count${labelText(s.labels)} ${s.count}\n`;
    }
    return out;
  }
}

export class BackendMetrics {
  readonly queries = new Counter(
    'wakeflow_backend_queries_total',
    'Queries answered, by query type and outcome (ok, partial, bad_request, failed).'
  );
  readonly queryDuration = new Histogram(
    'wakeflow_backend_query_duration_seconds',
    'Time to answer one query (one refId), by query type.'
  );
  readonly agentRequests = new Counter(
    'wakeflow_backend_agent_requests_total',
    'Requests to agents, by agent and outcome (ok or the error kind).'
  );
  readonly agentDuration = new Histogram(
    'wakeflow_backend_agent_request_duration_seconds',
    'Latency of requests to agents, by agent.'
  );
  readonly resources = new Counter(
    'wakeflow_backend_resource_calls_total',
    'CallResource requests, by path and status code.'
  );
  readonly healthChecks = new Counter('wakeflow_backend_health_checks_total', 'CheckHealth calls, by status.');
  private readonly started = Date.now();

  render(): string {
    const mem = process.memoryUsage();
    return (
      this.queries.render() +
      this.queryDuration.render() +
      this.agentRequests.render() +
      this.agentDuration.render() +
      this.resources.render() +
      this.healthChecks.render() +
      '# HELP process_resident_memory_bytes Resident memory of the backend process.\n# TYPE process_resident_memory_bytes gauge\n' +
      `process_resident_memory_bytes ${mem.rss}\n` +
      '# HELP nodejs_heap_used_bytes V8 heap in use.\n# TYPE nodejs_heap_used_bytes gauge\n' +
      `nodejs_heap_used_bytes ${mem.heapUsed}\n` +
      '# HELP nodejs_heap_total_bytes V8 heap reserved (in use or free).\n# TYPE nodejs_heap_total_bytes gauge\n' +
      `nodejs_heap_total_bytes ${mem.heapTotal}\n` +
      '# HELP nodejs_external_memory_bytes Memory outside the V8 heap held by JS objects (buffers of agent answers and frames).\n# TYPE nodejs_external_memory_bytes gauge\n' +
      `nodejs_external_memory_bytes ${mem.external}\n` +
      '# HELP process_start_time_seconds When the backend started.\n# TYPE process_start_time_seconds gauge\n' +
      `process_start_time_seconds ${Math.floor(this.started / 1000)}\n`
    );
  }
}
