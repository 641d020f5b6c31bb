// Every manifest in deploy/ loads and conforms to the Kubernetes object schema of its kind (client-node's
// models, generated from the Kubernetes OpenAPI document); the install set references only what it contains;
// the workloads are wired as the components expect (ports, sockets, settings reaching the config loaders);
// the Dockerfile builds what the manifests run.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import type { KObject } from '../../../src/apiserver/types.ts';
import { loadConfig } from '../../../src/controller/config.ts';
import { DAEMON_DEFAULTS, loadDaemonConfig } from '../../../src/daemon/config.ts';
import { copyOf, parseDockerfile } from '../../../src/deploy/dockerfile.ts';
import { validateK8sObject } from '../../../src/deploy/k8s-schema.ts';
import { checkReferences } from '../../../src/deploy/manifest-references.ts';
import { conflist } from '../../../src/lab/cluster.ts';

const root = join(import.meta.dirname, '../../..');
const deploy = join(root, 'deploy');

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

const yamlFiles = filesUnder(deploy).filter((f) => /\.ya?ml$/.test(f));
const manifestFiles = yamlFiles.filter((f) => !f.endsWith('kustomization.yaml'));

function objectsOf(file: string): KObject[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  for (const d of docs) if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`);
  return docs.map((d) => d.toJS() as KObject).filter((o) => o !== null);
}

const kustomization = parseYaml(readFileSync(join(deploy, 'kustomization.yaml'), 'utf8')) as {
  resources: string[];
};
/** What `kubectl apply -k deploy/` (and install.sh) installs. */
const installed = kustomization.resources.flatMap((r) => objectsOf(join(deploy, r)));
const find = (kind: string, name: string) => {
  const o = installed.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind} ${name} is not installed`);
  return o;
};

interface Container {
  name: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { configMapKeyRef?: { name: string; key: string } } }[];
  ports?: { containerPort: number }[];
  livenessProbe?: { httpGet?: { host?: string; path: string; port: number } };
  readinessProbe?: { httpGet?: { host?: string; path: string; port: number } };
  securityContext?: {
    privileged?: boolean;
    capabilities?: { add?: string[]; drop?: string[] };
    allowPrivilegeEscalation?: boolean;
  };
  volumeMounts?: { name: string; mountPath: string; mountPropagation?: string }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  containers: Container[];
  initContainers?: Container[];
  volumes: { name: string; hostPath?: { path: string } }[];
}
const podOf = (o: KObject) => (o.spec as { template: { spec: PodSpec } }).template.spec;
const container = (o: KObject, name: string) => {
  const pod = podOf(o);
  const c = [...(pod.initContainers ?? []), ...pod.containers].find((x) => x.name === name);
  if (!c) throw new Error(`${o.metadata.name} has no container ${name}`);
  return c;
};
const hostPathOf = (o: KObject, volume: string) =>
  podOf(o).volumes.find((v) => v.name === volume)?.hostPath?.path;
const settings = find('ConfigMap', 'ovnk-config').data as Record<string, string>;
/** A container's environment as the kubelet would give it (ConfigMap keys resolved). */
function envOf(c: Container, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...extra };
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.configMapKeyRef;
    if (e.value !== undefined) env[e.name] = e.value;
    else if (ref) env[e.name] = settings[ref.key];
  }
  return env;
}

describe('every manifest', () => {
  test('parses; each object has the schema of its kind (custom resources: see crd-schemas.test)', () => {
    expect(manifestFiles.length).toBeGreaterThan(10);
    const problems: string[] = [];
    for (const file of manifestFiles) {
      for (const o of objectsOf(file)) {
        if (String(o.apiVersion).startsWith('kubeovn.io/')) continue;
        for (const p of validateK8sObject(o))
          problems.push(`${relative(root, file)} ${o.kind} ${o.metadata?.name}: ${p.path}: ${p.message}`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('the schema check does catch mistakes', () => {
    const bad = structuredClone(find('DaemonSet', 'ovnk-daemon')) as KObject & Record<string, unknown>;
    const pod = podOf(bad) as PodSpec & Record<string, unknown>;
    pod.hostNetwok = true;
    pod.containers[0]!.ports = [{ containerPort: '10665' as unknown as number }];
    delete (bad.spec as Record<string, unknown>).selector;
    expect(validateK8sObject(bad).map((p) => p.path)).toEqual([
      'spec.template.spec.containers[0].ports[0].containerPort',
      'spec.template.spec.hostNetwok',
      'spec.selector',
    ]);
  });

  test('the conflist is JSON, and the e2e lab writes the same one (with each node socket)', () => {
    const file = JSON.parse(readFileSync(join(deploy, 'cni', '10-ovnk.conflist'), 'utf8'));
    expect(conflist(DAEMON_DEFAULTS.socketPath)).toEqual(file);
    expect(conflist('/elsewhere/daemon.sock')).toMatchObject({
      plugins: [{ type: 'ovnk', server_socket: '/elsewhere/daemon.sock' }, { type: 'portmap' }],
    });
  });
});

describe('the install set (kustomization.yaml)', () => {
  test('names every manifest outside examples/, and each once', () => {
    const listed = kustomization.resources.map((r) => join(deploy, r)).sort();
    const expected = manifestFiles.filter((f) => !f.startsWith(join(deploy, 'examples'))).sort();
    expect(listed).toEqual(expected);
  });

  test('everything it names exists, and everything namespaced goes to kube-system', () => {
    expect(checkReferences(installed)).toEqual([]);
    const cluster = ['CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding'];
    for (const o of installed) {
      expect({ o: `${o.kind}/${o.metadata.name}`, ns: o.metadata.namespace }).toEqual({
        o: `${o.kind}/${o.metadata.name}`,
        ns: cluster.includes(String(o.kind)) ? undefined : 'kube-system',
      });
    }
  });

  test('the reference check does catch a dangling name', () => {
    const broken = structuredClone(installed);
    const d = broken.find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'ovnk-daemon')!;
    podOf(d).serviceAccountName = 'nobody';
    podOf(d).containers[0]!.env![1]!.valueFrom!.configMapKeyRef!.key = 'NO_SUCH_KEY';
    expect(checkReferences(broken).map((i) => i.message)).toEqual([
      'ServiceAccount nobody is missing',
      'container daemon env MTU: ConfigMap ovnk-config has no key NO_SUCH_KEY',
    ]);
  });
});

describe('the controller Deployment', () => {
  const d = find('Deployment', 'ovnk-controller');
  const c = container(d, 'controller');
  test('replicas with leader election, host network, probes on the health port, resources', () => {
    expect((d.spec as { replicas: number }).replicas).toBeGreaterThanOrEqual(2);
    expect(c.args).toContain('--leader-elect=true');
    expect(podOf(d).hostNetwork).toBe(true);
    expect(podOf(d).serviceAccountName).toBe('ovnk-controller');
    // the debug endpoint listens on loopback (open there; elsewhere it wants a token): probed there
    expect(c.args).toContain('--debug-addr=127.0.0.1:10660');
    expect(c.livenessProbe?.httpGet).toEqual({ host: '127.0.0.1', path: '/healthz', port: 10660 });
    expect(c.readinessProbe?.httpGet).toEqual({ host: '127.0.0.1', path: '/readyz', port: 10660 });
    expect(c.ports).toEqual([expect.objectContaining({ containerPort: 10660 })]);
    expect(c.resources?.requests).toHaveProperty('memory');
    expect(c.resources?.limits).toHaveProperty('memory');
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
  });

  test('the pod and join CIDRs reach the controller configuration', () => {
    const config = loadConfig(c.args ?? [], envOf(c));
    expect(config.defaultSubnet.cidr).toBe(settings.POD_CIDR);
    expect(config.joinSubnet.cidr).toBe(settings.JOIN_CIDR);
    expect(envOf(c).OVN_DB_IPS).toBe(settings.OVN_DB_IPS);
  });
});

describe('the node daemon DaemonSet', () => {
  const d = find('DaemonSet', 'ovnk-daemon');
  const c = container(d, 'daemon');
  const init = container(d, 'install-cni');
  test('host network, root with four capabilities and no more, probes on its health port', () => {
    expect(podOf(d)).toMatchObject({ hostNetwork: true, hostPID: true, serviceAccountName: 'ovnk-daemon' });
    expect(c.securityContext?.privileged).toBe(false);
    expect(c.securityContext?.allowPrivilegeEscalation).toBe(false);
    expect(c.securityContext?.capabilities).toEqual({
      drop: ['ALL'],
      add: ['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN', 'SYS_PTRACE'],
    });
    expect(c.livenessProbe?.httpGet).toEqual({ host: '127.0.0.1', path: '/healthz', port: 10665 });
    expect(c.readinessProbe?.httpGet).toEqual({ host: '127.0.0.1', path: '/readyz', port: 10665 });
    expect(loadDaemonConfig(c.args ?? [], envOf(c, { NODE_NAME: 'node1' })).debugAddr).toBe(
      '127.0.0.1:10665',
    );
    expect((d.spec as { updateStrategy: unknown }).updateStrategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 1 },
    });
  });

  test('the daemon socket is on a host path, where the installed conflist points the plugin', () => {
    const socket = JSON.parse(readFileSync(join(deploy, 'cni', '10-ovnk.conflist'), 'utf8')).plugins[0]
      .server_socket as string;
    const mount = c.volumeMounts!.find((m) => m.mountPath === dirname(socket))!;
    expect(hostPathOf(d, mount.name)).toBe(dirname(socket));
    const config = loadDaemonConfig(c.args ?? [], envOf(c, { NODE_NAME: 'node1' }));
    expect(config.socketPath).toBe(socket);
    expect(config.mtu).toBe(Number(settings.MTU));
    // the OVS database socket comes from the ovs-ovn pods through the same host directory
    expect(config.ovsRemote).toBe('unix:/run/openvswitch/db.sock');
    const ovs = find('DaemonSet', 'ovs-ovn');
    const ovsMount = container(ovs, 'openvswitch').volumeMounts!.find(
      (m) => m.mountPath === '/var/run/openvswitch',
    )!;
    expect(hostPathOf(ovs, ovsMount.name)).toBe(hostPathOf(d, 'ovs-run'));
    expect(hostPathOf(d, 'ovs-run')).toBe('/run/openvswitch');
    expect(c.volumeMounts!.find((m) => m.mountPath === '/run/netns')?.mountPropagation).toBe(
      'HostToContainer',
    );
  });

  test('an init container installs the plugin and the conflist into the host CNI directories', () => {
    expect(init.command).toEqual(['/opt/ovnk/scripts/install-cni.sh']);
    const env = envOf(init);
    for (const [dirVar, hostPath] of [
      ['CNI_BIN_DIR', '/opt/cni/bin'],
      ['CNI_CONF_DIR', '/etc/cni/net.d'],
      ['OVNK_HOST_DIR', '/opt/ovnk'],
    ] as const) {
      expect(env[dirVar]).toBe(hostPath);
      const mount = init.volumeMounts!.find((m) => m.mountPath === `${env.HOST_ROOT}${hostPath}`)!;
      expect(hostPathOf(d, mount.name)).toBe(hostPath);
    }
  });
});

describe('OVN', () => {
  test('central: a StatefulSet of 3 with nb, sb and northd, a disruption budget of one', () => {
    const s = find('StatefulSet', 'ovn-central');
    expect((s.spec as { replicas: number }).replicas).toBe(3);
    expect(podOf(s).containers.map((c) => c.command)).toEqual([
      ['/opt/ovnk/scripts/start-central.sh', 'nb'],
      ['/opt/ovnk/scripts/start-central.sh', 'sb'],
      ['/opt/ovnk/scripts/start-central.sh', 'northd'],
    ]);
    expect(podOf(s)).toMatchObject({ hostNetwork: true, automountServiceAccountToken: false });
    expect(
      (find('PodDisruptionBudget', 'ovn-central').spec as { maxUnavailable: number }).maxUnavailable,
    ).toBe(1);
  });

  test('the node agent: OnDelete, no API access, tunnels of the configured type', () => {
    const a = find('DaemonSet', 'ovs-ovn');
    expect((a.spec as { updateStrategy: unknown }).updateStrategy).toEqual({ type: 'OnDelete' });
    expect(podOf(a).automountServiceAccountToken).toBe(false);
    expect(envOf(container(a, 'openvswitch')).NETWORK_TYPE).toBe(settings.NETWORK_TYPE);
  });
});

describe('the image', () => {
  const dockerfile = join(deploy, 'image', 'Dockerfile');
  const { stages } = parseDockerfile(readFileSync(dockerfile, 'utf8'));
  const final = stages.at(-1)!;
  const copies = final.instructions.filter((i) => i.keyword === 'COPY').map(copyOf);
  const ignore = readFileSync(`${dockerfile}.dockerignore`, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('!'))
    .map((l) => l.slice(1));

  test('multi-stage; each COPY takes an earlier stage or a file of the repository the build context lets in', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'deps', 'host-runtime', '3']);
    stages.forEach((stage, i) => {
      for (const ins of stage.instructions.filter((x) => x.keyword === 'COPY')) {
        const copy = copyOf(ins);
        if (copy.from !== undefined) {
          expect(stages.slice(0, i).map((s) => s.name)).toContain(copy.from);
          continue;
        }
        for (const src of copy.sources) {
          expect(existsSync(join(root, src)), src).toBe(true);
          expect(
            ignore.some((allowed) => src === allowed || src.startsWith(`${allowed}/`)),
            src,
          ).toBe(true);
        }
      }
    });
  });

  test('the manifests run what the image holds: scripts, entry points, the conflist of deploy/cni', () => {
    const scripts = copies.find((c) => c.destination === '/opt/ovnk/scripts/')!.sources;
    const commands = installed
      .filter((o) => ['Deployment', 'DaemonSet', 'StatefulSet'].includes(String(o.kind)))
      .flatMap((o) => [...(podOf(o).initContainers ?? []), ...podOf(o).containers])
      .map((c) => c.command ?? []);
    for (const cmd of commands) {
      const script = cmd.find((w) => w.startsWith('/opt/ovnk/scripts/'));
      const entry = cmd.find((w) => w.startsWith('/opt/ovnk/app/dist/'));
      if (script) expect(scripts).toContain(`deploy/image/${script.slice('/opt/ovnk/scripts/'.length)}`);
      if (entry)
        expect(
          existsSync(join(root, entry.slice('/opt/ovnk/app/dist/'.length).replace(/\.js$/, '.ts'))),
        ).toBe(true);
      expect(script ?? entry, cmd.join(' ')).toBeDefined();
    }
    // every script of deploy/image is in the image (the runtime collector in its own build stage)
    const all = readdirSync(join(deploy, 'image')).filter((f) => f.endsWith('.sh'));
    expect([...scripts, 'deploy/image/collect-node-runtime.sh'].sort()).toEqual(
      all.map((f) => `deploy/image/${f}`).sort(),
    );
    const controllerScript = readFileSync(join(deploy, 'image', 'start-controller.sh'), 'utf8');
    expect(controllerScript).toContain('node /opt/ovnk/app/dist/src/controller/main.js');
    expect(copies).toContainEqual({
      from: 'build',
      sources: ['/out/dist/src'],
      destination: '/opt/ovnk/app/dist/src',
    });
    expect(copies).toContainEqual({
      from: undefined,
      sources: ['deploy/cni/10-ovnk.conflist'],
      destination: '/opt/ovnk/cni/10-ovnk.conflist',
    });
  });
});
