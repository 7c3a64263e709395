// SPDX-License-Identifier: Apache-2.0
/*
 * The plugin as Grafana receives it, checked without a Grafana server:
 * - every plugin.json (source and built) against the rules of Grafana's
 *   plugin schema (docs/sources/developers/plugins/plugin.schema.json) and
 *   of its loader, written as our own checks (docs/grafana.md says which
 *   loader code each one comes from);
 * - the nested layout the loader turns into one app with two children, and
 *   the backend executable where a child's ExecutablePath() points;
 * - the built module.js files: AMD modules whose Grafana, React, rxjs and
 *   emotion imports are externals, not bundled copies, and nothing Grafana's
 *   Angular detector would refuse to load;
 * - the zip of `npm run package`: one top folder named after the app, the
 *   executables mode 755.
 * Needs `npm run build` first (npm test builds before this suite).
 * Run: node --import tsx --test tests/plugin-package.test.ts
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '..');
const DIST = path.join(ROOT, 'dist');

/** The three plugins: where their plugin.json is in src/, and where Grafana mounts them from dist/. */
const PLUGINS = [
  { dir: '', id: 'wakeflow-offwake-app', type: 'app' },
  { dir: 'datasource', id: 'wakeflow-offwake-datasource', type: 'datasource' },
  { dir: 'panel', id: 'wakeflow-chains-panel', type: 'panel' },
] as const;

type Json = Record<string, unknown>;
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Json;

/* --- plugin.schema.json, as our own rules ---------------------------------- */

const TOP_LEVEL = new Set([
  '$schema',
  'alerting',
  'annotations',
  'autoEnabled',
  'backend',
  'builtIn',
  'category',
  'dependencies',
  'enterpriseFeatures',
  'executable',
  'hideFromList',
  'id',
  'includes',
  'info',
  'logs',
  'metrics',
  'name',
  'pascalName',
  'preload',
  'queryOptions',
  'routes',
  'skipDataQuery',
  'state',
  'streaming',
  'tracing',
  'type',
  'iam',
  'roles',
  'extensions',
  'languages',
  'buildMode',
]);
const INFO_KEYS = new Set([
  'author',
  'build',
  'description',
  'keywords',
  'links',
  'logos',
  'screenshots',
  'updated',
  'version',
]);
const INCLUDE_KEYS = new Set([
  'uid',
  'type',
  'name',
  'component',
  'role',
  'action',
  'path',
  'addToNav',
  'defaultNav',
  'icon',
]);
const ID = /^[0-9a-z]+-([0-9a-z]+-)?(app|panel|datasource|secretsmanager|transformer)$/;
const VERSION = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)|(%VERSION%)$/;
const UPDATED = /^(\d{4}-\d{2}-\d{2}|%TODAY%)$/;
const GRAFANA_DEPENDENCY =
  /^(<=|>=|<|>|=|~|\^)?([0-9]+)(\.[0-9x*]+)(\.[0-9x*]+)?(\s(<=|>=|<|=>)?([0-9]+)(\.[0-9x]+)(\.[0-9x]+))?$/;

/** Every way a plugin.json breaks the schema, one sentence each. */
export function schemaProblems(p: Json): string[] {
  const problems: string[] = [];
  for (const key of ['type', 'name', 'id', 'info', 'dependencies']) {
    if (!(key in p)) {
      problems.push(`missing ${key}`);
    }
  }
  for (const key of Object.keys(p)) {
    if (!TOP_LEVEL.has(key)) {
      problems.push(`unknown property ${key}`);
    }
  }
  if (typeof p.id !== 'string' || !ID.test(p.id)) {
    problems.push(`id ${JSON.stringify(p.id)} is not of the form org-name-type`);
  }
  if (!['app', 'datasource', 'panel', 'renderer', 'secretsmanager', 'transformer'].includes(String(p.type))) {
    problems.push(`type ${JSON.stringify(p.type)} is not a plugin type`);
  } else if (typeof p.id === 'string' && !p.id.endsWith(`-${String(p.type)}`)) {
    problems.push(`id ${p.id} does not end in its type ${String(p.type)}`);
  }
  const info = (p.info ?? {}) as Json;
  for (const key of ['logos', 'version', 'updated', 'keywords']) {
    if (!(key in info)) {
      problems.push(`info lacks ${key}`);
    }
  }
  for (const key of Object.keys(info)) {
    if (!INFO_KEYS.has(key)) {
      problems.push(`unknown property info.${key}`);
    }
  }
  if (!Array.isArray(info.keywords) || info.keywords.length === 0) {
    problems.push('info.keywords must list at least one keyword');
  }
  if (!VERSION.test(String(info.version))) {
    problems.push(`info.version ${JSON.stringify(info.version)} is not semver`);
  }
  if (!UPDATED.test(String(info.updated))) {
    problems.push(`info.updated ${JSON.stringify(info.updated)} is not YYYY-MM-DD`);
  }
  const logos = (info.logos ?? {}) as Json;
  if (typeof logos.small !== 'string' || typeof logos.large !== 'string') {
    problems.push('info.logos needs small and large');
  }
  const deps = (p.dependencies ?? {}) as Json;
  if (typeof deps.grafanaDependency !== 'string' || !GRAFANA_DEPENDENCY.test(deps.grafanaDependency)) {
    problems.push(`dependencies.grafanaDependency ${JSON.stringify(deps.grafanaDependency)} is not a version range`);
  }
  for (const [i, inc] of ((p.includes ?? []) as Json[]).entries()) {
    for (const key of Object.keys(inc)) {
      if (!INCLUDE_KEYS.has(key)) {
        problems.push(`unknown property includes[${i}].${key}`);
      }
    }
    if (!['dashboard', 'page', 'panel', 'datasource', 'secretsmanager'].includes(String(inc.type))) {
      problems.push(`includes[${i}].type ${JSON.stringify(inc.type)} is not an include type`);
    }
    if (inc.role !== undefined && !['Admin', 'Editor', 'Viewer', 'None'].includes(String(inc.role))) {
      problems.push(`includes[${i}].role ${JSON.stringify(inc.role)} is not a role`);
    }
  }
  for (const key of [
    'alerting',
    'annotations',
    'backend',
    'metrics',
    'logs',
    'streaming',
    'tracing',
    'preload',
    'autoEnabled',
  ]) {
    if (key in p && typeof p[key] !== 'boolean') {
      problems.push(`${key} must be true or false`);
    }
  }
  // Loader rules (pkg/plugins/plugins.go, docs/grafana.md): a backend needs an executable; alerting needs a backend.
  if (p.backend === true && (typeof p.executable !== 'string' || p.executable === '')) {
    problems.push('backend is true but no executable is named');
  }
  if (p.alerting === true && p.backend !== true) {
    problems.push('alerting requires backend: true');
  }
  return problems;
}

describe('plugin.json files', () => {
  test('the schema check is live: it names what a broken plugin.json gets wrong', () => {
    const broken = {
      type: 'datasource',
      id: 'Wakeflow_DS',
      name: 'x',
      alerting: true,
      info: { version: 'one', updated: 'today', keywords: [], logos: {}, colour: 'red' },
      dependencies: { grafanaDependency: 'eleven' },
      includes: [{ type: 'widget', role: 'Root' }],
      bogus: 1,
    };
    assert.deepEqual(schemaProblems(broken), [
      'unknown property bogus',
      'id "Wakeflow_DS" is not of the form org-name-type',
      'id Wakeflow_DS does not end in its type datasource',
      'unknown property info.colour',
      'info.keywords must list at least one keyword',
      'info.version "one" is not semver',
      'info.updated "today" is not YYYY-MM-DD',
      'info.logos needs small and large',
      'dependencies.grafanaDependency "eleven" is not a version range',
      'includes[0].type "widget" is not an include type',
      'includes[0].role "Root" is not a role',
      'alerting requires backend: true',
    ]);
  });

  for (const { dir, id, type } of PLUGINS) {
    for (const where of ['src', 'dist'] as const) {
      test(`${where}/${dir || '.'}/plugin.json is ${id}, valid`, () => {
        const p = readJson(path.join(ROOT, where, dir, 'plugin.json'));
        assert.deepEqual(schemaProblems(p), []);
        assert.equal(p.id, id);
        assert.equal(p.type, type);
        const deps = p.dependencies as Json;
        // Grafana 11.0 and every 12.x: no API we use is newer (docs/grafana.md).
        assert.equal(deps.grafanaDependency, '>=11.0.0');
        if (where === 'dist') {
          const info = p.info as Json;
          assert.equal(info.version, readJson(path.join(ROOT, 'package.json')).version);
          assert.match(String(info.updated), /^\d{4}-\d{2}-\d{2}$/);
          for (const logo of Object.values(info.logos as Json)) {
            assert.ok(existsSync(path.join(DIST, dir, String(logo))), `${id}: logo ${String(logo)} is in dist`);
          }
          assert.ok(existsSync(path.join(DIST, dir, 'README.md')), `${id}: a README for the catalog page`);
        }
      });
    }
  }

  test('the data source has a backend, an executable, alerting and metrics', () => {
    const ds = readJson(path.join(ROOT, 'src/datasource/plugin.json'));
    assert.equal(ds.backend, true);
    assert.equal(ds.executable, 'gpx_wakeflow');
    assert.equal(ds.alerting, true);
    assert.equal(ds.metrics, true);
  });

  test('the app includes its two children by type and name, and a page', () => {
    const app = readJson(path.join(ROOT, 'src/plugin.json'));
    const includes = app.includes as Json[];
    for (const { dir, type } of PLUGINS.slice(1)) {
      const child = readJson(path.join(ROOT, 'src', dir, 'plugin.json'));
      assert.ok(
        includes.some((i) => i.type === type && i.name === child.name),
        `includes the ${type} ${String(child.name)}`
      );
    }
    const page = includes.find((i) => i.type === 'page');
    assert.ok(page, 'a page');
    assert.match(String(page.path), /^\/a\/wakeflow-offwake-app(\/|$)/);
  });
});

describe('dist/ as Grafana loads it', () => {
  test('one app folder with the data source and the panel nested: the loader makes them its children', () => {
    // pkg/plugins/manager/loader/finder/local.go: a plugin.json below another plugin's folder is its child.
    for (const { dir } of PLUGINS) {
      assert.ok(existsSync(path.join(DIST, dir, 'plugin.json')), `dist/${dir}/plugin.json`);
      assert.ok(
        existsSync(path.join(DIST, dir, 'module.js')),
        `dist/${dir}/module.js (the ModuleJSValidator warns without it)`
      );
    }
  });

  test('the executable is where the child data source’s ExecutablePath() looks, mode 755, for amd64', () => {
    const exe = String(readJson(path.join(DIST, 'datasource/plugin.json')).executable);
    const file = path.join(DIST, 'datasource', `${exe}_linux_amd64`);
    assert.ok(existsSync(file), `${path.relative(ROOT, file)} (run npm run build)`);
    assert.equal(statSync(file).mode & 0o777, 0o755);
  });

  const ALLOWED_EXTERNALS = new Set([
    '@grafana/data',
    '@grafana/ui',
    '@grafana/runtime',
    'react',
    'react-dom',
    'react/jsx-runtime',
    'rxjs',
    '@emotion/css',
    '@emotion/react',
    'module',
  ]);

  for (const { dir, id } of PLUGINS) {
    test(`${id}: module.js is an AMD module importing only Grafana's shared packages, with none bundled`, () => {
      const js = readFileSync(path.join(DIST, dir, 'module.js'), 'utf8');
      const m = /define\((\[[^\]]*\])/.exec(js.slice(0, 2000));
      assert.ok(m, 'starts with an AMD define([...])');
      const deps = JSON.parse(m[1]) as string[];
      assert.ok(deps.length > 0);
      for (const d of deps) {
        assert.ok(ALLOWED_EXTERNALS.has(d), `imports ${d}, which Grafana does not share with plugins`);
      }
      // Markers of bundled copies: React's internals, @grafana/ui's theme factory, rxjs's Observable class.
      for (const marker of [
        '__SECRET_INTERNALS_DO_NOT_USE_OR_YOU_WILL_BE_FIRED',
        'createBreakpoints',
        'react.production.min',
        'ObjectUnsubscribedError',
      ]) {
        assert.ok(!js.includes(marker), `module.js contains a bundled copy (${marker})`);
      }
      assert.ok(js.length < 200_000, `module.js is ${js.length} bytes: something big was bundled`);
    });

    test(`${id}: nothing in module.js that Grafana's Angular detector refuses`, () => {
      // pkg/plugins/manager/loader/angular/angulardetector: plugins matching these are not loaded when Angular is off (Grafana 12).
      const js = readFileSync(path.join(DIST, dir, 'module.js'), 'utf8');
      for (const pattern of [
        'PanelCtrl',
        'QueryCtrl',
        'ConfigCtrl',
        'app/plugins/sdk',
        'angular.isNumber(',
        'editor.html',
        'ctrl.annotation',
        'getLegacyAngularInjector',
        'System.register(',
      ]) {
        assert.ok(!js.includes(pattern), `module.js contains ${pattern}`);
      }
      assert.ok(!/['"](app\/core\/utils\/promiseToDigest)|(app\/plugins\/.*?)|(app\/core\/core_module)['"]/.test(js));
      assert.ok(!/from\s+['"]grafana\/app\//.test(js));
    });
  }
});

describe('npm run package', () => {
  test('one top folder named after the app, every plugin in it, executables 755', () => {
    const out = mkdtempSync(path.join(tmpdir(), 'wakeflow-package-'));
    try {
      const r = spawnSync(path.join(ROOT, 'scripts/package'), ['--no-build', '--out', out], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      const version = String(readJson(path.join(ROOT, 'package.json')).version);
      const zip = path.join(out, `wakeflow-offwake-app-${version}.zip`);
      const listing = spawnSync('zipinfo', [zip], { encoding: 'utf8' });
      assert.equal(listing.status, 0, listing.stderr);
      const entries = listing.stdout
        .split('\n')
        .filter((l) => /^[-d]r/.test(l))
        .map((l) => ({ mode: l.slice(0, 10), name: l.split(/\s+/).slice(8).join(' ') }));
      assert.ok(entries.length > 10);
      assert.ok(
        entries.every((e) => e.name.startsWith('wakeflow-offwake-app/')),
        'everything under wakeflow-offwake-app/'
      );
      for (const { dir } of PLUGINS) {
        for (const f of ['plugin.json', 'module.js']) {
          const name = path.posix.join('wakeflow-offwake-app', dir, f);
          assert.ok(
            entries.some((e) => e.name === name),
            `${name} in the zip`
          );
        }
      }
      const exes = entries.filter((e) => /gpx_wakeflow_linux_(amd64|arm64)$/.test(e.name));
      assert.ok(exes.some((e) => e.name.endsWith('_linux_amd64')));
      for (const e of exes) {
        assert.equal(e.mode, '-rwxr-xr-x', `${e.name} is ${e.mode}`);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  test('says what is wrong with a bad argument, in one sentence', () => {
    const r = spawnSync(path.join(ROOT, 'scripts/package'), ['--bogus'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^package: unknown argument --bogus/);
  });
});
