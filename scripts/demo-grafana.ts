// SPDX-License-Identifier: Apache-2.0
/*
 * The Grafana half of `npm run demo`: launches the built backend executable
 * exactly as Grafana does (tests/backend/grafana-host.ts: only Grafana's
 * environment, handshake, gRPC), points a data source at the agent(s) given,
 * calls CheckHealth and QueryData for every query type, and prints what the
 * frames say. Usage: tsx scripts/demo-grafana.ts --from MS --to MS URL...
 */
import {
  DecodedFrame,
  InstanceSettings,
  checkHealth,
  nsValues,
  query,
  queryRequest,
  startPlugin,
} from '../tests/backend/grafana-host';

const say = (s: string) => process.stdout.write(s + '\n');
const head = (s: string) => say(`\n== ${s}`);

function args() {
  const a = process.argv.slice(2);
  const urls: string[] = [];
  let from = 0;
  let to = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '--from') {
      from = Number(a[++i]);
    } else if (a[i] === '--to') {
      to = Number(a[++i]);
    } else {
      urls.push(a[i]);
    }
  }
  if (!urls.length || !(from < to)) {
    throw new Error('usage: demo-grafana.ts --from MS --to MS AGENT_URL...');
  }
  return { urls, from, to };
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function seriesMean(f: DecodedFrame) {
  return mean(f.fields[1].values as number[]);
}

async function main() {
  const { urls, from, to } = args();
  const ds: InstanceSettings = { jsonData: { agentUrls: urls, timeoutSeconds: 10 }, uid: 'demo' };
  const p = await startPlugin();
  try {
    say(
      `backend: ${p.handshake}  (handshake after ${p.handshakeMs.toFixed(0)} ms, environment: grafana_plugin_type and PLUGIN_PROTOCOL_VERSIONS only)`
    );

    head('CheckHealth ("Save & test")');
    const h = await checkHealth(p, ds);
    say(`${h.status}: ${h.message}`);
    // Everything is printed even when a step failed, then the demo exits 1 naming them.
    const failed: string[] = h.status === 'OK' ? [] : [`CheckHealth ${h.status}`];

    const range = { fromMs: from, toMs: to, maxDataPoints: 200, intervalMs: 1000 };
    const r = await query(
      p,
      queryRequest(ds, [
        { refId: 'categories', model: { queryType: 'categories' }, ...range },
        { refId: 'wakeups', model: { queryType: 'categories', metric: 'wakeups' }, ...range },
        { refId: 'preemption', model: { queryType: 'preemption', groupBy: 'pod' }, ...range },
        { refId: 'chains', model: { queryType: 'chains', limit: 5 }, ...range },
        { refId: 'flamegraph', model: { queryType: 'flamegraph' }, ...range },
        { refId: 'targets', model: { queryType: 'targets' }, ...range },
      ])
    );
    for (const [refId, x] of Object.entries(r)) {
      if (x.status !== 200) {
        say(`query ${refId}: ${x.status} ${x.error}`);
        failed.push(`query ${refId} ${x.status}`);
      }
      for (const n of x.frames[0]?.meta?.notices ?? []) {
        say(`query ${refId}: ${n.severity}: ${n.text}`);
      }
    }

    head('category breakdown (categories query: off-CPU seconds per second, mean over the range; wakeups per second)');
    const wake = new Map(r.wakeups.frames.map((f) => [f.fields[1].labels?.category, seriesMean(f)]));
    const cats = r.categories.frames
      .map((f) => ({ cat: f.fields[1].labels?.category ?? '?', off: seriesMean(f) }))
      .sort((x, y) => y.off - x.off);
    const total = cats.reduce((s, c) => s + c.off, 0);
    for (const c of cats) {
      say(
        `  ${c.cat.padEnd(22)} ${c.off.toFixed(3).padStart(8)} s/s  ${pct(c.off / (total || 1)).padStart(6)}  ${(wake.get(c.cat) ?? 0).toFixed(0).padStart(7)} wakeups/s`
      );
    }
    const first = r.categories.frames[0];
    if (first) {
      const t = nsValues(first.fields[0]);
      say(
        `  (${r.categories.frames.length} timeseries-multi frames, ${t.length} points each, Timestamp(ns) ${t[0]} ...)`
      );
    }

    head('preemption ratio per pod (preemption query: preempted / (on CPU + preempted), from summed parts)');
    for (const f of r.preemption.frames) {
      const l = f.fields[1].labels ?? {};
      const name = l.pod ? `${l.namespace}/${l.pod}` : '(outside Kubernetes: every traced process)';
      say(`  ${name.padEnd(44)} mean ${pct(seriesMean(f))}  max ${pct(Math.max(...(f.fields[1].values as number[])))}`);
    }

    head('top chains (chains query, heaviest off-CPU first, both stacks innermost first)');
    const c = r.chains.frames[0];
    for (let i = 0; i < (c?.field('id').values.length ?? 0); i++) {
      const v = (n: string) => c.field(n).values[i];
      say(
        `  ${i + 1}. ${v('waker_comm') || (v('preemptor') ? `preempted by ${v('preemptor')}` : 'preempted')} (${v('waker_context')}) -> ${v('target_comm')} [${v('target_role')}]  ${v('category')}${v('activity') ? ' / ' + v('activity') : ''}  ` +
          `${Number(v('count'))} wakeups, ${(v('offcpu') as number).toFixed(3)} s off CPU, max ${((v('offcpu_max') as number) * 1000).toFixed(2)} ms, run queue ${((v('runq') as number) * 1000).toFixed(1)} ms`
      );
      const expl = v('explanation') ? JSON.parse(v('explanation') as string) : null;
      if (expl?.category?.rule) {
        say(`     why: rule ${expl.category.rule} (${expl.category.when})`);
      }
      const deciding = new Set(
        (expl?.category?.frames ?? []).map((fr: { stack: string; index: number }) => `${fr.stack}:${fr.index}`)
      );
      for (const [label, field] of [
        ['waker', 'waker_stack'],
        ['target', 'target_stack'],
      ] as const) {
        const frames = String(v(field)).split('\n').filter(Boolean);
        say(`     ${label} stack:`);
        frames
          .slice(0, 12)
          .forEach((fr, k) =>
            say(`       ${fr}${deciding.has(`${label}:${k}`) ? '   <<<< decided the category' : ''}`)
          );
        if (frames.length > 12) {
          say(`       ... ${frames.length - 12} more`);
        }
      }
    }
    const nodes = r.chains.frames[1];
    if (nodes) {
      say(
        `  (Node Graph: ${nodes.field('id').values.length} nodes, ${r.chains.frames[2].field('id').values.length} edges, arcs ${nodes.fields
          .filter((f) => f.name.startsWith('arc__'))
          .map((f) => f.name.slice(5))
          .join(', ')})`
      );
    }

    head('off-wake flame graph (flamegraph query)');
    const fg = r.flamegraph.frames[0];
    if (fg) {
      const lv = fg.field('level').values.map(Number);
      const lb = fg.field('label').values as string[];
      const val = fg.field('value').values as number[];
      say(`  ${lv.length} nested-set rows, ${val[0].toFixed(3)} s of off-CPU time at the root; the heaviest path:`);
      let want = 0;
      for (let i = 0; i < lv.length && want < 14; i++) {
        if (lv[i] === want) {
          say(`  ${'  '.repeat(Math.min(want, 6))}${lb[i]}  (${val[i].toFixed(3)} s)`);
          want++;
        }
      }
    }

    head('targets (targets query)');
    const t = r.targets.frames[0];
    for (let i = 0; i < (t?.field('pid').values.length ?? 0); i++) {
      say(
        `  ${t.field('node').values[i]}  pid ${t.field('pid').values[i]}  ${t.field('comm').values[i]}  ${t.field('alive').values[i] ? 'alive' : 'exited'}`
      );
    }
    if (failed.length > 0) {
      throw new Error(`${failed.join(', ')}: see the lines above (is the agent running, with haproxy traced?)`);
    }
  } finally {
    await p.stop();
  }
}

main().catch((e) => {
  process.stderr.write(`demo: ${(e as Error).message}\n`);
  process.exit(1);
});
