// SPDX-License-Identifier: Apache-2.0
/*
 * The deployment files, checked without a cluster or a Docker engine:
 * - every Kubernetes manifest validates against the Kubernetes API's own
 *   OpenAPI schemas (npm kubernetes-models, generated from them);
 * - the DaemonSet keeps its security properties (a widened privilege fails);
 * - docker-compose.yaml passes `docker-compose config -q` (the Compose
 *   implementation Debian ships; scripts/setup installs it);
 * - the agent image's package lists match the real build: its runtime
 *   packages hold every library agent/build/wakeflow-agent names (DT_NEEDED).
 * Run: node --import tsx --test tests/deploy.test.ts
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IVolume } from 'kubernetes-models/v1/Volume';

const ROOT = path.resolve(import.meta.dirname, '..');
const K8S_DIR = path.join(ROOT, 'deploy/kubernetes');
const AGENT_PORT = 9781;
/* The capabilities the agent needs, and why: docs/deployment.md, "Privileges". */
const AGENT_CAPS = ['BPF', 'DAC_READ_SEARCH', 'PERFMON', 'SYSLOG', 'SYS_PTRACE'];
/* Host paths the agent may only read, and where it expects them. */
const READ_ONLY_HOST_MOUNTS: Record<string, string> = {
  '/sys/kernel/btf': '/sys/kernel/btf',
  '/proc': '/host/proc',
  '/sys/fs/cgroup': '/host/sys/fs/cgroup',
  '/var/lib/wakeflow-symbols': '/symbols',
};
const STORE_HOST_PATH = '/var/lib/wakeflow';

interface Manifest {
  file: string;
  doc: Record<string, unknown>;
}

type Validatable = { validate(): void };
type ModelClass = new (data: Record<string, unknown>) => Validatable;

/* kubernetes-models is ESM-only; these tests run as CommonJS under tsx. */
async function modelFor(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  const groups: Record<string, () => Promise<Record<string, unknown>>> = {
    v1: () => import('kubernetes-models/v1'),
    'apps/v1': () => import('kubernetes-models/apps/v1'),
    'networking.k8s.io/v1': () => import('kubernetes-models/networking.k8s.io/v1'),
  };
  const load = groups[apiVersion];
  if (!load) {
    return undefined;
  }
  return (await load())[kind] as ModelClass | undefined;
}

async function validateManifest(doc: Record<string, unknown>): Promise<void> {
  const Model = await modelFor(String(doc.apiVersion), String(doc.kind));
  assert.ok(Model, `no Kubernetes schema known for ${String(doc.apiVersion)} ${String(doc.kind)}`);
  new Model(doc).validate();
}

function readYamlDocs(file: string): Array<Record<string, unknown>> {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  return docs.map((d, i) => {
    assert.deepEqual(
      d.errors.map((e) => e.message),
      [],
      `${path.relative(ROOT, file)}: YAML errors in document ${i}`
    );
    assert.deepEqual(
      d.warnings.map((e) => e.message),
      [],
      `${path.relative(ROOT, file)}: YAML warnings in document ${i}`
    );
    const value = d.toJS() as unknown;
    assert.ok(value && typeof value === 'object', `${path.relative(ROOT, file)}: document ${i} is not a mapping`);
    return value as Record<string, unknown>;
  });
}

function manifests(): Manifest[] {
  return readdirSync(K8S_DIR)
    .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
    .sort()
    .flatMap((f) => readYamlDocs(path.join(K8S_DIR, f)).map((doc) => ({ file: f, doc })));
}

function only<T>(kind: string): T {
  const found = manifests().filter((m) => m.doc.kind === kind && !m.file.includes('.example.'));
  assert.equal(found.length, 1, `exactly one ${kind} expected in deploy/kubernetes`);
  return found[0].doc as T;
}

function agentContainer(ds: IDaemonSet): IContainer {
  const containers = ds.spec?.template.spec?.containers ?? [];
  assert.equal(containers.length, 1, 'the DaemonSet runs one container');
  return containers[0];
}

/* "--flag=value" or "--flag value" from an argument list. */
function flag(args: string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name) {
      return args[i + 1];
    }
    if (args[i].startsWith(`${name}=`)) {
      return args[i].slice(name.length + 1);
    }
  }
  return undefined;
}

function run(cmd: string, args: string[], cwd = ROOT) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    assert.fail(`${cmd} is not installed: run scripts/setup (it installs the Debian packages the tests need)`);
  }
  return r;
}

describe('Kubernetes manifests', () => {
  test('every manifest parses and validates against the Kubernetes schemas', async () => {
    const all = manifests();
    const kinds = all.map((m) => `${m.file}:${String(m.doc.kind)}`);
    for (const want of ['DaemonSet', 'Service', 'ServiceAccount', 'Namespace', 'Secret']) {
      assert.ok(
        all.some((m) => m.doc.kind === want),
        `no ${want} in deploy/kubernetes (have ${kinds.join(', ')})`
      );
    }
    for (const m of all) {
      await assert.doesNotReject(validateManifest(m.doc), `${m.file}: ${String(m.doc.kind)} fails its schema`);
    }
  });

  test('the schema check rejects a broken DaemonSet (the validator is live)', async () => {
    const ds = structuredClone(only<Record<string, unknown>>('DaemonSet')) as unknown as IDaemonSet;
    const c = agentContainer(ds) as unknown as Record<string, unknown>;
    c.ports = [{ containerPort: 'http' }];
    await assert.rejects(validateManifest(ds as unknown as Record<string, unknown>), /containerPort/);
    delete c.ports;
    delete c.name;
    await assert.rejects(validateManifest(ds as unknown as Record<string, unknown>), /name/);
  });

  test('every flag the DaemonSet and the compose file pass is one `serve --help` documents', () => {
    const bin = path.join(ROOT, 'agent/build/wakeflow-agent');
    assert.ok(existsSync(bin), `${bin} is missing: build the agent first (make -C agent)`);
    const help = run(bin, ['serve', '--help']);
    assert.equal(help.status, 0, help.stderr);
    const compose = parseYaml(readFileSync(path.join(ROOT, 'docker-compose.yaml'), 'utf8')) as {
      services: Record<string, { command?: string[] }>;
    };
    const passed = [
      ...(agentContainer(only<IDaemonSet>('DaemonSet')).args ?? []),
      ...(compose.services.agent?.command ?? []),
    ].filter((a) => a.startsWith('--'));
    assert.ok(passed.length >= 4, `too few flags found: ${passed.join(' ')}`);
    for (const a of passed) {
      const name = a.split('=')[0];
      assert.match(help.stdout, new RegExp(`^\\s+${name}\\b`, 'm'), `serve does not document ${name}`);
    }
  });

  test('kustomization lists every manifest but the examples, all in one namespace', () => {
    const k = parseYaml(readFileSync(path.join(K8S_DIR, 'kustomization.yaml'), 'utf8')) as {
      namespace: string;
      resources: string[];
    };
    const files = readdirSync(K8S_DIR).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml');
    const expected = files.filter((f) => !f.includes('.example.')).sort();
    assert.deepEqual([...k.resources].sort(), expected);
    for (const m of manifests()) {
      const md = m.doc.metadata as { name?: string; namespace?: string };
      if (m.doc.kind === 'Namespace') {
        assert.equal(md.name, k.namespace);
      } else {
        assert.equal(md.namespace, k.namespace, `${m.file}: ${String(m.doc.kind)} outside ${k.namespace}`);
      }
    }
  });

  describe('DaemonSet security properties', () => {
    const ds = only<IDaemonSet>('DaemonSet');
    const pod = ds.spec!.template.spec!;
    const c = agentContainer(ds);
    const args = [...(c.command ?? []), ...(c.args ?? [])];
    const volumes = new Map<string, IVolume>((pod.volumes ?? []).map((v) => [v.name, v]));

    test('host pid namespace, no host network, no API token', () => {
      assert.equal(pod.hostPID, true);
      assert.notEqual(pod.hostNetwork, true);
      assert.notEqual(pod.hostIPC, true);
      assert.equal(pod.automountServiceAccountToken, false);
    });

    test('not privileged: only the needed capabilities, no escalation, read-only root', () => {
      const sc = c.securityContext ?? {};
      assert.notEqual(sc.privileged, true);
      assert.equal(sc.allowPrivilegeEscalation, false);
      assert.equal(sc.readOnlyRootFilesystem, true);
      assert.deepEqual(sc.capabilities?.drop, ['ALL']);
      assert.deepEqual([...(sc.capabilities?.add ?? [])].sort(), AGENT_CAPS);
      assert.notEqual(sc.seccompProfile?.type, 'Unconfined');
      for (const init of pod.initContainers ?? []) {
        assert.notEqual(init.securityContext?.privileged, true, `init container ${init.name} is privileged`);
      }
    });

    test('host paths: btf, proc and cgroup read-only; only the store writable', () => {
      const mounts = c.volumeMounts ?? [];
      const seen = new Set<string>();
      for (const m of mounts) {
        const hp = volumes.get(m.name)?.hostPath;
        if (!hp) {
          continue;
        }
        seen.add(hp.path);
        if (hp.path === STORE_HOST_PATH) {
          assert.equal(m.mountPath, STORE_HOST_PATH);
          continue;
        }
        assert.ok(hp.path in READ_ONLY_HOST_MOUNTS, `unexpected host path ${hp.path}`);
        assert.equal(m.readOnly, true, `host ${hp.path} must be mounted read-only`);
        assert.equal(m.mountPath, READ_ONLY_HOST_MOUNTS[hp.path]);
      }
      assert.deepEqual([...seen].sort(), [...Object.keys(READ_ONLY_HOST_MOUNTS), STORE_HOST_PATH].sort());
      assert.equal(flag(args, '--proc-root'), READ_ONLY_HOST_MOUNTS['/proc']);
      assert.equal(flag(args, '--cgroup-root'), READ_ONLY_HOST_MOUNTS['/sys/fs/cgroup']);
      assert.equal(flag(args, '--symbols'), READ_ONLY_HOST_MOUNTS['/var/lib/wakeflow-symbols']);
      assert.ok(flag(args, '--db')?.startsWith(`${STORE_HOST_PATH}/`), 'the store lives on the host path');
    });

    test('the token comes from a Secret file, never inline', () => {
      const tokenFile = flag(args, '--token-file');
      assert.ok(tokenFile, '--token-file is required');
      const mount = (c.volumeMounts ?? []).find((m) => tokenFile.startsWith(`${m.mountPath}/`));
      assert.ok(mount, `${tokenFile} is not on any mounted volume`);
      assert.equal(mount.readOnly, true);
      const secret = volumes.get(mount.name)?.secret;
      assert.ok(secret?.secretName, `${tokenFile} must come from a Secret volume`);
      const inSecret = path.posix.relative(mount.mountPath, tokenFile);
      assert.ok(
        secret.items?.some((i) => i.path === inSecret),
        `the Secret volume does not provide ${inSecret}`
      );
      assert.equal(secret.defaultMode, 0o400);
      for (const e of c.env ?? []) {
        assert.ok(!/token/i.test(e.name) || e.valueFrom?.secretKeyRef, `env ${e.name} holds a literal token`);
      }
      // The example Secret is the one the DaemonSet reads, with that key.
      const example = manifests().find((m) => m.file === 'secret.example.yaml');
      assert.ok(example, 'deploy/kubernetes/secret.example.yaml is missing');
      const meta = example.doc.metadata as { name: string };
      assert.equal(meta.name, secret.secretName);
      const keys = Object.keys({
        ...((example.doc.stringData as object) ?? {}),
        ...((example.doc.data as object) ?? {}),
      });
      assert.ok(
        secret.items?.every((i) => keys.includes(i.key)),
        'the example Secret lacks a key the DaemonSet reads'
      );
    });

    test('liveness, readiness and startup probes on /healthz of the agent port', () => {
      const port = (c.ports ?? []).find((p) => p.containerPort === AGENT_PORT);
      assert.ok(port, `container port ${AGENT_PORT} is not declared`);
      for (const [name, probe] of Object.entries({
        liveness: c.livenessProbe,
        readiness: c.readinessProbe,
        startup: c.startupProbe,
      })) {
        assert.ok(probe?.httpGet, `${name} probe must be an HTTP GET`);
        assert.equal(probe.httpGet.path, '/healthz', `${name} probe path`);
        assert.ok(
          probe.httpGet.port === AGENT_PORT || probe.httpGet.port === port.name,
          `${name} probe must target the agent port`
        );
      }
    });

    test('listens on the agent port inside the pod network, with resources bounded', () => {
      assert.equal(flag(args, '--listen'), `0.0.0.0:${AGENT_PORT}`);
      assert.equal(args[0], 'serve');
      for (const r of ['cpu', 'memory']) {
        assert.ok(c.resources?.requests?.[r], `no ${r} request`);
        assert.ok(c.resources?.limits?.[r], `no ${r} limit`);
      }
    });

    test('the headless Service selects the agent pods on the agent port', () => {
      const svc = only<IService>('Service');
      assert.equal(svc.spec?.clusterIP, 'None');
      const labels = ds.spec!.template.metadata?.labels ?? {};
      const selector = svc.spec?.selector ?? {};
      assert.ok(Object.keys(selector).length > 0, 'the Service needs a selector');
      for (const [k, v] of Object.entries(selector)) {
        assert.equal(labels[k], v, `pod template lacks selector label ${k}=${v}`);
      }
      const sp = svc.spec?.ports ?? [];
      assert.equal(sp.length, 1);
      assert.equal(sp[0].port, AGENT_PORT);
    });
  });
});

describe('local stack (docker-compose.yaml, provisioning/)', () => {
  interface ComposeService {
    pid?: string;
    privileged?: boolean;
    cap_add?: string[];
    cap_drop?: string[];
    command?: string[];
    volumes?: string[];
    secrets?: string[];
    environment?: Record<string, string>;
  }
  interface Compose {
    services: Record<string, ComposeService>;
    secrets?: Record<string, { file: string }>;
  }
  const compose = parseYaml(readFileSync(path.join(ROOT, 'docker-compose.yaml'), 'utf8')) as Compose;

  test('docker-compose config accepts the file, and rejects a broken one', () => {
    const ok = run('docker-compose', ['-f', 'docker-compose.yaml', 'config', '-q']);
    assert.equal(ok.status, 0, `docker-compose config failed:\n${ok.stderr}`);

    const dir = mkdtempSync(path.join(tmpdir(), 'wakeflow-compose-'));
    try {
      const broken = structuredClone(compose) as unknown as { services: Record<string, Record<string, unknown>> };
      broken.services.agent.cap_add = 'BPF';
      broken.services.agent.bogus_option = true;
      delete broken.services.grafana;
      writeFileSync(path.join(dir, 'docker-compose.yaml'), JSON.stringify(broken));
      writeFileSync(path.join(dir, 'token'), 'x');
      const bad = run('docker-compose', ['-f', 'docker-compose.yaml', 'config', '-q'], dir);
      assert.notEqual(bad.status, 0, 'docker-compose accepted an invalid file');
      assert.match(bad.stderr, /bogus_option|cap_add/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the agent runs with the DaemonSet privileges and flags', () => {
    const agent = compose.services.agent;
    assert.ok(agent, 'no agent service');
    assert.notEqual(agent.privileged, true);
    assert.equal(agent.pid, 'host');
    assert.deepEqual(agent.cap_drop, ['ALL']);
    assert.deepEqual([...(agent.cap_add ?? [])].sort(), AGENT_CAPS);
    const cmd = agent.command ?? [];
    const dsArgs = agentContainer(only<IDaemonSet>('DaemonSet')).args ?? [];
    for (const f of ['--listen', '--proc-root', '--cgroup-root', '--db', '--symbols']) {
      assert.equal(flag(cmd, f), flag(dsArgs, f), `${f} differs from the DaemonSet`);
    }
    for (const [host, inside] of Object.entries(READ_ONLY_HOST_MOUNTS)) {
      assert.ok(agent.volumes?.includes(`${host}:${inside}:ro`), `${host} must be mounted read-only at ${inside}`);
    }
    const tokenFile = flag(cmd, '--token-file') ?? '';
    assert.ok(tokenFile.startsWith('/run/secrets/'), 'the token comes from a compose secret');
    const secretName = path.posix.basename(tokenFile);
    assert.ok(agent.secrets?.includes(secretName));
    assert.ok(compose.secrets?.[secretName]?.file, `secret ${secretName} has no file`);
  });

  test('the provisioned data source is this plugin, pointed at the agent with its token', () => {
    const readId = (file: string) => (JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as { id: string }).id;
    const plugin = { id: readId('src/datasource/plugin.json') };
    // The app and its nested plugins are unsigned in development: Grafana checks each id (docs/grafana.md).
    const pluginIds = ['src/plugin.json', 'src/datasource/plugin.json', 'src/panel/plugin.json'].map(readId);
    const prov = parseYaml(readFileSync(path.join(ROOT, 'provisioning/datasources/datasources.yml'), 'utf8')) as {
      datasources: Array<{
        type: string;
        jsonData: { discovery: string; dnsName: string; agentPort: number };
        secureJsonData: { agentToken: string };
      }>;
    };
    // The wakeflow data source; the stack's Prometheus is provisioned beside it (tests/provisioning.test.ts).
    const ours = prov.datasources.filter((d) => d.type === plugin.id);
    assert.equal(ours.length, 1);
    const ds = ours[0];
    assert.equal(ds.type, plugin.id);
    const env = compose.services.grafana.environment ?? {};
    assert.deepEqual(String(env.GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS).split(',').sort(), [...pluginIds].sort());
    assert.equal(ds.jsonData.discovery, 'dns');
    assert.ok(compose.services[ds.jsonData.dnsName], `${ds.jsonData.dnsName} is not a compose service`);
    assert.equal(ds.jsonData.agentPort, AGENT_PORT);
    // Grafana reads the agent's own token file through its provisioning mount.
    const m = /^\$__file\{\/etc\/grafana\/provisioning\/(.+)\}$/.exec(ds.secureJsonData.agentToken);
    assert.ok(m, 'agentToken must be read from the provisioning directory with $__file{}');
    const secretFile = Object.values(compose.secrets ?? {})[0]?.file;
    assert.equal(path.resolve(ROOT, secretFile), path.join(ROOT, 'provisioning', m[1]));
    const token = readFileSync(path.join(ROOT, 'provisioning', m[1]), 'utf8');
    assert.ok(token.length >= 16 && !/\s/.test(token), 'the development token is one word of 16+ characters');
  });
});

describe('agent image (agent/Dockerfile)', () => {
  const dockerfile = readFileSync(path.join(ROOT, 'agent/Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const stages = dockerfile.split(/^FROM /m).slice(1);

  function aptPackages(stage: string): string[] {
    const m = /apt-get install -y --no-install-recommends ([^&]+)/.exec(stage);
    assert.ok(m, 'stage installs no packages');
    return m[1].trim().split(/\s+/);
  }

  test('two stages: a bookworm build, a bookworm-slim runtime with the binary only', () => {
    assert.equal(stages.length, 2);
    assert.match(stages[0], /^debian:bookworm AS build/);
    assert.match(stages[1], /^debian:bookworm-slim\s/);
    assert.match(stages[1], /COPY --from=build \/out\/wakeflow-agent \/usr\/local\/bin\/wakeflow-agent/);
    assert.equal((stages[1].match(/^COPY /gm) ?? []).length, 1, 'the runtime stage copies the binary only');
  });

  test('the build stage installs what scripts/setup installs to build the agent', () => {
    const setup = readFileSync(path.join(ROOT, 'scripts/setup'), 'utf8');
    const m = /^PKGS_AGENT_BUILD="([^"]*)"/m.exec(setup);
    assert.ok(m, 'PKGS_AGENT_BUILD not found in scripts/setup');
    const have = new Set(aptPackages(stages[0]));
    const missing = m[1].split(/\s+/).filter((p) => p && !have.has(p));
    assert.deepEqual(missing, [], 'agent/Dockerfile build stage lacks packages');
  });

  test('the runtime stage installs the package of every library the real binary links', () => {
    const bin = path.join(ROOT, 'agent/build/wakeflow-agent');
    assert.ok(existsSync(bin), `${bin} is missing: build the agent first (make -C agent)`);
    const ldd = run('ldd', [bin]);
    assert.equal(ldd.status, 0, ldd.stderr);
    assert.ok(!/not found/.test(ldd.stdout), ldd.stdout);
    // Only the libraries the binary names itself (DT_NEEDED) must be installed
    // explicitly; apt brings their own dependencies (gnutls for libmicrohttpd...).
    const dyn = run('readelf', ['-d', bin]);
    assert.equal(dyn.status, 0, dyn.stderr);
    const direct = new Set([...dyn.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((x) => x[1]));
    const libs = [...ldd.stdout.matchAll(/^\s*(\S+)\s+=>\s+(\/\S+)/gm)]
      .filter((x) => direct.has(x[1]))
      .map((x) => x[2]);
    assert.equal(libs.length, direct.size, `ldd did not resolve every DT_NEEDED library:\n${ldd.stdout}`);
    assert.ok(libs.length >= 3, `too few direct libraries:\n${dyn.stdout}`);
    // debian:bookworm-slim already holds these.
    const base = new Set(['libc6', 'libgcc-s1']);
    const runtime = new Set(aptPackages(stages[1]));
    const needed = new Set<string>();
    for (const lib of libs) {
      // With merged /usr, dpkg may know the file under either prefix.
      const real = realpathSync(lib);
      const candidates = [
        lib,
        real,
        `/usr${lib}`,
        `/usr${real}`,
        lib.replace(/^\/usr/, ''),
        real.replace(/^\/usr/, ''),
      ];
      const owner = candidates
        .map((p) => run('dpkg', ['-S', p]))
        .find((r) => r.status === 0)
        ?.stdout.split(':')[0];
      assert.ok(owner, `no Debian package owns ${lib}`);
      needed.add(owner);
    }
    const missing = [...needed].filter((p) => !base.has(p) && !runtime.has(p));
    assert.deepEqual(missing, [], 'agent/Dockerfile runtime stage lacks library packages');
  });
});
