// SPDX-License-Identifier: Apache-2.0
/*
 * The browser side of the plugin test harness: loads the built plugins'
 * module.js files the way Grafana does (AMD through SystemJS, with the real
 * @grafana/data, @grafana/ui, @grafana/runtime, React, ReactDOM, rxjs and
 * emotion supplied as the shared dependencies under their bare names), then
 * renders what a test asks for — the panel fed by a real query through the
 * data source, the query editor, the config editor with Save & test — inside
 * Grafana's theme. Tests drive it through `window.wakeflow`.
 */
import * as emotionCss from '@emotion/css';
import * as emotionReact from '@emotion/react';
import * as grafanaData from '@grafana/data';
import {
  createTheme,
  getDefaultTimeRange,
  LoadingState,
  PanelOptionsEditorBuilder,
  ThemeContext,
  toDataFrame,
  type DataQuery,
  type DataSourceInstanceSettings,
  type DataSourcePluginMeta,
  type PanelData,
  type PanelPlugin,
  type TimeRange,
} from '@grafana/data';
import * as grafanaRuntime from '@grafana/runtime';
import * as grafanaUI from '@grafana/ui';
import { Alert, Button, GlobalStyles } from '@grafana/ui';
import * as React from 'react';
import * as jsxRuntime from 'react/jsx-runtime';
import * as ReactDOM from 'react-dom';
import * as ReactDOMClient from 'react-dom/client';
import * as rxjs from 'rxjs';
import * as rxjsOperators from 'rxjs/operators';
import { chainBoxes, thinNodes } from './geometry';
import 'systemjs/dist/system.js';
import 'systemjs/dist/extras/amd.js';
import 'systemjs/dist/extras/named-register.js';

import type { Driver } from '../harness/driver';
import { installGrafanaServices } from './grafanaServices';

interface SystemJS {
  set(id: string, module: object): void;
  addImportMap(map: { imports: Record<string, string> }): void;
  import(id: string): Promise<{ plugin?: unknown }>;
}
declare global {
  interface Window {
    System: SystemJS;
  }
}

/* --- SystemJS as Grafana sets it up (public/app/features/plugins/loader) --- */

const SHARED: Record<string, object> = {
  '@emotion/css': emotionCss,
  '@emotion/react': emotionReact,
  '@grafana/data': grafanaData,
  '@grafana/runtime': grafanaRuntime,
  '@grafana/ui': grafanaUI,
  react: React,
  'react/jsx-runtime': jsxRuntime,
  'react-dom': ReactDOM,
  'react-dom/client': ReactDOMClient,
  rxjs,
  'rxjs/operators': rxjsOperators,
};

function installSharedDependencies() {
  const imports: Record<string, string> = {};
  for (const [name, module] of Object.entries(SHARED)) {
    const id = `package:${name}`;
    window.System.set(id, module);
    imports[name] = id;
  }
  window.System.addImportMap({ imports });
}

/** Where Grafana serves the app and, under it, its nested plugins (bootstrap: plugins/<app id>/<sub path>/module). */
export const PLUGIN_ROOT = '/public/plugins/wakeflow-offwake-app';
const MODULES = {
  app: `${PLUGIN_ROOT}/module.js`,
  datasource: `${PLUGIN_ROOT}/datasource/module.js`,
  panel: `${PLUGIN_ROOT}/panel/module.js`,
};

async function importPlugin<T>(kind: keyof typeof MODULES): Promise<T> {
  const module = await window.System.import(MODULES[kind]);
  if (!module.plugin) {
    throw new Error(`${MODULES[kind]} exports no plugin`);
  }
  return module.plugin as T;
}

/* --- rendering ---------------------------------------------------------- */

/** Resolves after the browser has painted the current DOM: the frame after the next animation frame. */
function nextPaint(): Promise<void> {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}

type Theme = 'light' | 'dark';
let root: ReactDOMClient.Root | undefined;
let theme: Theme = 'dark';

function mount(element: React.ReactNode) {
  const container = document.getElementById('root')!;
  root ??= ReactDOMClient.createRoot(container);
  const grafanaTheme = createTheme({ colors: { mode: theme } });
  document.body.style.background = grafanaTheme.colors.background.canvas;
  return new Promise<void>((resolve) => {
    root!.render(
      <ThemeContext.Provider value={grafanaTheme}>
        <GlobalStyles />
        <main style={{ padding: 16 }} ref={() => resolve()}>
          {element}
        </main>
      </ThemeContext.Provider>
    );
  });
}

interface DataSourcePluginLike {
  DataSourceClass: new (s: DataSourceInstanceSettings) => grafanaRuntime.DataSourceWithBackend<DataQuery>;
  components: {
    QueryEditor?: React.ComponentType<Record<string, unknown>>;
    ConfigEditor?: React.ComponentType<Record<string, unknown>>;
  };
}

let instance: DataSourceInstanceSettings;
let backend: ReturnType<typeof installGrafanaServices>;

function rangeOf(fromMs?: number, toMs?: number): TimeRange {
  if (fromMs === undefined || toMs === undefined) {
    return getDefaultTimeRange();
  }
  const from = grafanaData.dateTime(fromMs);
  const to = grafanaData.dateTime(toMs);
  return { from, to, raw: { from, to } };
}

async function dataSource() {
  const plugin = await importPlugin<DataSourcePluginLike>('datasource');
  return { plugin, ds: new plugin.DataSourceClass(instance) };
}

/**
 * Grafana core registers its option editors (radio, number, switch, slider,
 * ...) before panels build their options; the harness registers the ids with
 * an empty editor, since it reads the options' defaults and never shows the
 * options pane.
 */
let editorsRegistered = false;
function registerOptionEditors() {
  if (editorsRegistered) {
    return;
  }
  editorsRegistered = true;
  const ids = [
    'radio',
    'number',
    'boolean',
    'slider',
    'text',
    'select',
    'multiSelect',
    'color',
    'unit',
    'links',
    'stats-picker',
    'field-name',
    'custom',
  ];
  grafanaData.standardEditorsRegistry.setInit(() =>
    ids.map((id) => ({
      id,
      name: id,
      editor: () => null,
      override: () => null,
      process: (v: unknown) => v,
      shouldApply: () => true,
    }))
  );
}

function panelDefaults(plugin: PanelPlugin): Record<string, unknown> {
  registerOptionEditors();
  const builder = new PanelOptionsEditorBuilder<Record<string, unknown>>();
  plugin.getPanelOptionsSupplier()(builder, { data: [] });
  return Object.fromEntries(builder.getItems().map((item) => [item.path, item.defaultValue]));
}

async function showPanel(data: PanelData, options: Record<string, unknown>, width: number, height: number) {
  const plugin = await importPlugin<PanelPlugin>('panel');
  const merged = { ...panelDefaults(plugin), ...options };
  const migrated = plugin.onPanelMigration ? await plugin.onPanelMigration({ options: merged } as never) : merged;
  const props = {
    id: 1,
    data,
    timeRange: data.timeRange,
    timeZone: 'utc',
    options: migrated,
    fieldConfig: { defaults: {}, overrides: [] },
    transparent: false,
    width,
    height,
    renderCounter: 0,
    title: 'Wake chains',
    eventBus: new grafanaData.EventBusSrv(),
    replaceVariables: (s: string) => s,
    onOptionsChange: () => {},
    onFieldConfigChange: () => {},
    onChangeTimeRange: () => {},
  };
  const Panel = plugin.panel as unknown as React.ComponentType<typeof props>;
  await mount(
    <section aria-label="Panel" style={{ width, height, border: '1px solid rgba(128,128,128,.3)' }}>
      <Panel {...props} />
    </section>
  );
}

const driver: Driver = {
  async init(opts: Parameters<Driver['init']>[0]) {
    theme = opts.theme;
    instance = {
      ...(opts.instance as unknown as DataSourceInstanceSettings),
      meta: {
        id: opts.instance.type,
        name: 'Wakeflow',
        type: 'datasource',
        info: { version: 'test' },
      } as DataSourcePluginMeta,
    };
    backend = installGrafanaServices(instance, opts.variables ?? {});
    installSharedDependencies();
    // Load all three as Grafana would on a dashboard: any import error fails here, by name.
    await importPlugin('app');
    await importPlugin('datasource');
    await importPlugin('panel');
    return true;
  },

  /** Runs queries through the real data source (→ /api/ds/query → the backend) and draws the panel with the answer. */
  async renderPanel(opts: Parameters<Driver['renderPanel']>[0]) {
    const { ds } = await dataSource();
    const range = rangeOf(opts.fromMs, opts.toMs);
    const request = {
      app: 'dashboard',
      requestId: 'harness',
      timezone: 'utc',
      range,
      interval: '10s',
      intervalMs: 10000,
      maxDataPoints: 500,
      targets: opts.targets as unknown as DataQuery[],
      scopedVars: {},
      startTime: Date.now(),
    };
    const response = await rxjs.lastValueFrom(ds.query(request as never));
    const data: PanelData = {
      state: response.errors?.length ? LoadingState.Error : LoadingState.Done,
      series: response.data,
      errors: response.errors,
      timeRange: range,
    };
    await showPanel(data, opts.options ?? {}, opts.width, opts.height);
    return {
      frames: response.data.map((f: { name?: string; length?: number }) => ({ name: f.name, length: f.length })),
      errors: response.errors ?? [],
    };
  },

  /** Draws the panel with frames given as Grafana's JSON (the benchmark's synthetic chains). Returns ms to the first paint. */
  async renderPanelFrames(opts: Parameters<Driver['renderPanelFrames']>[0]) {
    const t0 = performance.now();
    const series = opts.frames.map((f) => toDataFrame(f));
    await showPanel(
      { state: LoadingState.Done, series, timeRange: getDefaultTimeRange() },
      opts.options ?? {},
      opts.width,
      opts.height
    );
    await nextPaint();
    return performance.now() - t0;
  },

  async unmount() {
    root?.unmount();
    root = undefined;
    await nextPaint();
  },

  async measureClick(selector: string) {
    const el = document.querySelector(selector);
    if (!el) {
      throw new Error(`nothing matches ${selector}`);
    }
    const t0 = performance.now();
    el.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    await nextPaint();
    return performance.now() - t0;
  },

  async renderQueryEditor(opts: Parameters<Driver['renderQueryEditor']>[0]) {
    const { plugin, ds } = await dataSource();
    const QueryEditor = plugin.components.QueryEditor!;
    const log = ((window as unknown as { queryLog: unknown[] }).queryLog = [] as unknown[]);
    function Harness() {
      const [query, setQuery] = React.useState(opts.query as unknown as DataQuery);
      // Grafana runs the query onChange just gave it: the state of this render is one change behind.
      const latest = React.useRef(query);
      const [answer, setAnswer] = React.useState('');
      return (
        <div style={{ maxWidth: 1100 }}>
          <QueryEditor
            datasource={ds}
            query={query}
            app={opts.app}
            range={getDefaultTimeRange()}
            onChange={(q: DataQuery) => {
              log.push(q);
              latest.current = q;
              setQuery(q);
            }}
            onRunQuery={() => {
              const running = latest.current;
              setAnswer('running');
              rxjs
                .lastValueFrom(
                  ds.query({
                    targets: [running],
                    range: getDefaultTimeRange(),
                    scopedVars: {},
                    intervalMs: 10000,
                    maxDataPoints: 500,
                  } as never)
                )
                .then((r) =>
                  setAnswer(
                    `${running.queryType}: ${r.data.length} frames${r.errors?.length ? `, error: ${r.errors.map((e) => e.message).join('; ')}` : ''}`
                  )
                )
                .catch((e) => setAnswer(`failed: ${String(e?.data?.message ?? e)}`));
            }}
          />
          <output aria-label="Query answer">{answer}</output>
        </div>
      );
    }
    await mount(<Harness />);
  },

  async renderVariableEditor(opts: Parameters<Driver['renderVariableEditor']>[0]) {
    const { ds } = await dataSource();
    const support = ds.variables as unknown as { editor: React.ComponentType<Record<string, unknown>> };
    const Editor = support.editor;
    const log = ((window as unknown as { variableLog: unknown[] }).variableLog = [] as unknown[]);
    function Harness() {
      const [query, setQuery] = React.useState(opts.query);
      return (
        <div style={{ maxWidth: 900 }}>
          <Editor
            datasource={ds}
            query={query}
            range={getDefaultTimeRange()}
            onChange={(q: Record<string, unknown>) => {
              log.push(q);
              setQuery(q);
            }}
            onRunQuery={() => {}}
          />
        </div>
      );
    }
    await mount(<Harness />);
  },

  async variableValues(opts: Parameters<Driver['variableValues']>[0]) {
    const { ds } = await dataSource();
    const support = ds.variables as unknown as {
      query: (r: object) => rxjs.Observable<{ data: Array<{ fields: Array<{ values: string[] }> }> }>;
    };
    const response = await rxjs.lastValueFrom(
      support.query({ targets: [opts.query], range: rangeOf(opts.fromMs, opts.toMs), scopedVars: {} })
    );
    return Array.from(response.data[0]?.fields[0]?.values ?? []);
  },

  /** The config editor with Grafana's Save & test: save the settings to the (harness) server, then run the health check. */
  async renderConfigEditor(opts: { jsonData: Record<string, unknown>; secureJsonFields?: Record<string, boolean> }) {
    const { plugin } = await dataSource();
    const ConfigEditor = plugin.components.ConfigEditor!;
    function Harness() {
      const [options, setOptions] = React.useState({
        ...instance,
        jsonData: opts.jsonData,
        secureJsonFields: opts.secureJsonFields ?? {},
        secureJsonData: {},
      });
      const [status, setStatus] = React.useState<{
        severity: 'success' | 'error';
        message: string;
        details?: Record<string, unknown>;
      }>();
      const saveAndTest = async () => {
        setStatus(undefined);
        const saved = await backend.post<{
          jsonData: Record<string, unknown>;
          secureJsonFields: Record<string, boolean>;
        }>('/api/harness/datasource', {
          jsonData: options.jsonData,
          secureJsonData: options.secureJsonData,
        });
        setOptions({ ...options, ...saved, secureJsonData: {} });
        instance = { ...instance, jsonData: saved.jsonData };
        const ds = new plugin.DataSourceClass(instance);
        try {
          const r = await ds.testDatasource();
          setStatus({ severity: 'success', message: r.message, details: r.details as Record<string, unknown> });
        } catch (err) {
          const e = err as { message?: string; error?: { details?: Record<string, unknown> } };
          setStatus({ severity: 'error', message: e.message ?? String(err), details: e.error?.details });
        }
      };
      return (
        <div style={{ maxWidth: 900 }}>
          <ConfigEditor options={options} onOptionsChange={setOptions} />
          <Button onClick={saveAndTest}>Save &amp; test</Button>
          {status && (
            // As Grafana's DataSourceTestingStatus shows a health check's answer.
            <div style={{ marginTop: 16 }}>
              <Alert severity={status.severity} title={status.message} aria-label="Data source health">
                {String(status.details?.message ?? '')}
                {status.details?.verboseMessage ? (
                  <details style={{ whiteSpace: 'pre-wrap' }}>{String(status.details.verboseMessage)}</details>
                ) : null}
              </Alert>
            </div>
          )}
        </div>
      );
    }
    await mount(<Harness />);
  },

  thinNodes,
  chainBoxes,

  colorByName(name: string) {
    return createTheme({ colors: { mode: theme } }).visualization.getColorByName(name);
  },

  requests() {
    return backend.requests;
  },
};

window.wakeflow = driver;
