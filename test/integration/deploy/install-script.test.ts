// deploy/install.sh --render: the settings land where the components read them, the OVN central members come
// from the labelled nodes (asked of an API server with the real kubectl), the output is the install set with
// every object still conforming, and wrong settings are refused before anything is applied.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { readManifests } from '../../../src/apiserver/manifests.ts';
import { type ApiServer, startApiServer } from '../../../src/apiserver/server.ts';
import type { KObject } from '../../../src/apiserver/types.ts';
import { validateK8sObject } from '../../../src/deploy/k8s-schema.ts';
import { checkReferences } from '../../../src/deploy/manifest-references.ts';

const deploy = join(import.meta.dirname, '../../../deploy');
let dir: string;
let api: ApiServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ovnk-install-'));
  api = await startApiServer({ port: 0, kubeconfigPath: join(dir, 'kubeconfig') });
});
afterAll(async () => {
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function render(env: Record<string, string>) {
  const r = await execa(join(deploy, 'install.sh'), ['--render'], {
    env: { HOME: dir, KUBECONFIG: join(dir, 'kubeconfig'), ...env },
    reject: false,
    timeout: 30_000,
  });
  const objects =
    r.exitCode === 0 ? parseAllDocuments(r.stdout).map((d) => d.toJS() as KObject) : ([] as KObject[]);
  const find = (kind: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name) as KObject & {
      data: Record<string, string>;
      spec: Record<string, unknown>;
    };
  return { ...r, objects, find };
}

const members = { OVN_DB_IPS: '192.168.0.11,192.168.0.12,192.168.0.13' };
type PodTemplate = {
  template: { spec: { nodeSelector: Record<string, string>; containers: { image: string }[] } };
};

describe('install.sh --render', () => {
  test('the settings go into ovnk-config, the image and the central nodes into the workloads', async () => {
    const r = await render({
      ...members,
      POD_CIDR: '10.20.0.0/16,fd00:20::/112',
      JOIN_CIDR: '100.70.0.0/16',
      SERVICE_CIDR: '10.100.0.0/16',
      NETWORK_TYPE: 'vxlan',
      MTU: '1450',
      CENTRAL_NODE_SELECTOR: 'ovnk.io/central=true',
      IMAGE: 'registry.example:5000/net/ovnk:1.2.3',
    });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.find('ConfigMap', 'ovnk-config').data).toEqual({
      POD_CIDR: '10.20.0.0/16,fd00:20::/112',
      JOIN_CIDR: '100.70.0.0/16',
      SERVICE_CIDR: '10.100.0.0/16',
      NETWORK_TYPE: 'vxlan',
      MTU: '1450',
      OVN_DB_IPS: members.OVN_DB_IPS,
    });
    const central = r.find('StatefulSet', 'ovn-central').spec as { replicas: number } & PodTemplate;
    expect(central.replicas).toBe(3);
    expect(central.template.spec.nodeSelector).toEqual({
      'kubernetes.io/os': 'linux',
      'ovnk.io/central': 'true',
    });
    const images = new Set(
      r.objects
        .filter((o) => ['Deployment', 'DaemonSet', 'StatefulSet'].includes(String(o.kind)))
        .flatMap((o) => (o.spec as PodTemplate).template.spec.containers.map((c) => c.image)),
    );
    expect(images).toEqual(new Set(['registry.example:5000/net/ovnk:1.2.3']));
  });

  test('renders the install set, conforming, with the CRDs as deploy/crds has them', async () => {
    const r = await render(members);
    expect(r.exitCode).toBe(0);
    const kinds = r.objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    const base = (await execa('kubectl', ['kustomize', deploy])).stdout;
    expect(kinds).toEqual(
      parseAllDocuments(base)
        .map((d) => d.toJS() as KObject)
        .map((o) => `${o.kind}/${o.metadata.name}`)
        .sort(),
    );
    for (const o of r.objects)
      expect({ o: o.metadata.name, issues: validateK8sObject(o) }).toEqual({
        o: o.metadata.name,
        issues: [],
      });
    expect(checkReferences(r.objects)).toEqual([]);
    for (const crd of readManifests(join(deploy, 'crds'))) {
      expect(r.find('CustomResourceDefinition', crd.metadata.name!).spec).toEqual(crd.spec);
    }
    // the default selector: control-plane nodes
    const central = r.find('StatefulSet', 'ovn-central').spec as PodTemplate;
    expect(central.template.spec.nodeSelector).toEqual({
      'kubernetes.io/os': 'linux',
      'node-role.kubernetes.io/control-plane': '',
    });
  });

  test('without OVN_DB_IPS, the members are the labelled nodes (first InternalIP each)', async () => {
    const kc = new KubeConfig();
    kc.loadFromString(api.kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    const node = (name: string, labels: Record<string, string>, ips: string[]) =>
      core.createNode({
        body: {
          metadata: { name, labels },
          status: {
            addresses: [
              { type: 'Hostname', address: name },
              ...ips.map((address) => ({ type: 'InternalIP', address })),
            ],
          },
        },
      });
    await node('c1', { 'ovnk.io/central': 'yes' }, ['172.18.0.1', 'fd00::1']);
    await node('c2', { 'ovnk.io/central': 'yes' }, ['172.18.0.2']);
    await node('c3', { 'ovnk.io/central': 'yes' }, ['172.18.0.3']);
    await node('w1', {}, ['172.18.0.9']);
    const r = await render({ CENTRAL_NODE_SELECTOR: 'ovnk.io/central=yes' });
    expect(r.stderr).toBe('');
    expect(r.find('ConfigMap', 'ovnk-config').data.OVN_DB_IPS).toBe('172.18.0.1,172.18.0.2,172.18.0.3');
    const none = await render({ CENTRAL_NODE_SELECTOR: 'ovnk.io/central=nowhere' });
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toContain('no node has the label ovnk.io/central=nowhere');
  });

  test('a single member makes a one-replica central', async () => {
    const r = await render({ OVN_DB_IPS: '10.1.1.1' });
    expect((r.find('StatefulSet', 'ovn-central').spec as { replicas: number }).replicas).toBe(1);
  });

  test.each([
    [{ POD_CIDR: '10.96.0.0/16' }, 'POD_CIDR 10.96.0.0/16 overlaps SERVICE_CIDR 10.96.0.0/12'],
    [{ JOIN_CIDR: '10.16.128.0/17' }, 'POD_CIDR 10.16.0.0/16 overlaps JOIN_CIDR 10.16.128.0/17'],
    [{ POD_CIDR: '10.16.0.0/33' }, 'POD_CIDR=10.16.0.0/33: "10.16.0.0/33" is not a CIDR'],
    [{ POD_CIDR: '10.1.0.0/16,10.2.0.0/16' }, 'at most one CIDR per IP family'],
    [{ NETWORK_TYPE: 'gre' }, 'NETWORK_TYPE must be geneve or vxlan, not gre'],
    [{ MTU: '1400b' }, 'MTU must be an integer from 68 to 65535'],
    [{ OVN_DB_IPS: '10.0.0.1,10.0.0.2' }, 'OVN central needs 1, 3 or 5 members'],
    [{ IMAGE: 'ovnk' }, 'IMAGE must be NAME:TAG'],
    [{ CENTRAL_NODE_SELECTOR: 'ovnk.io/central' }, 'CENTRAL_NODE_SELECTOR must be key=value'],
  ])('refuses %o', async (env, message) => {
    const r = await render({ ...members, ...env });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  });

  test('applies the overlay it renders, then waits for OVN central, the node agents, the controller, the daemons', async () => {
    // a kubectl that records its calls, applies nothing and reports the node agents ready
    const log = join(dir, 'kubectl.log');
    const stub = join(dir, 'kubectl');
    writeFileSync(
      stub,
      `#!/bin/sh
echo "$*" >> ${log}
case "$1 $2" in
  "apply -k") cp "$3/kustomization.yaml" ${join(dir, 'applied-kustomization.yaml')} ;;
  "-n kube-system") [ "$3" = get ] && echo "3 3" ;;
esac
exit 0
`,
    );
    chmodSync(stub, 0o755);
    const r = await execa(join(deploy, 'install.sh'), [], {
      env: { ...members, KUBECTL: stub, HOME: dir },
      reject: false,
    });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    expect(calls.map((c) => (c.startsWith('apply -k ') ? 'apply -k OVERLAY' : c))).toEqual([
      'apply -k OVERLAY',
      'wait --for=condition=Established --timeout=60s crd/subnets.kubeovn.io crd/vpcs.kubeovn.io crd/ips.kubeovn.io crd/ippools.kubeovn.io',
      '-n kube-system rollout status statefulset/ovn-central --timeout=10m',
      '-n kube-system get daemonset ovs-ovn -o jsonpath={.status.desiredNumberScheduled} {.status.numberReady}',
      '-n kube-system rollout status deployment/ovnk-controller --timeout=10m',
      '-n kube-system rollout status daemonset/ovnk-daemon --timeout=10m',
    ]);
    // the overlay it applied is gone, and renders what --render prints
    const overlay = calls[0]!.split(' ')[2]!;
    expect(existsSync(overlay)).toBe(false);
    const replay = join(dir, 'replay');
    mkdirSync(replay);
    writeFileSync(
      join(replay, 'kustomization.yaml'),
      readFileSync(join(dir, 'applied-kustomization.yaml'), 'utf8').replace(
        /^ {2}- (\.\.\/)+.*$/m,
        `  - ${relative(replay, deploy)}`,
      ),
    );
    const applied = (await execa('kubectl', ['kustomize', replay])).stdout;
    expect(applied).toBe((await render(members)).stdout);
  });

  test('--help prints the settings', async () => {
    const r = await execa(join(deploy, 'install.sh'), ['--help']);
    for (const s of ['POD_CIDR', 'JOIN_CIDR', 'SERVICE_CIDR', 'NETWORK_TYPE', 'MTU', 'CENTRAL_NODE_SELECTOR'])
      expect(r.stdout).toContain(s);
    expect(r.stdout).not.toContain('set -euo');
  });
});
