// Workloads that keep their address, for real on the two-node lab: a KubeVirt VM's launcher pod deleted
// and re-created on the other node comes back with the same IP and MAC and is reachable; a StatefulSet pod
// re-created keeps its address; a pod with a secondary network (Multus-style) has two interfaces.
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Cluster } from '../../../src/lab/cluster.ts';
import { listNetns } from '../../../src/lab/netns.ts';
import { podNetnsName } from '../../../src/lab/pod-sandboxes.ts';
import { eventually } from '../helpers.ts';

let cluster: Cluster;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let apps: AppsV1Api;

beforeAll(async () => {
  cluster = await Cluster.start({
    nodes: 2,
    manifests: ['kubevirt', 'multus'].map((f) => join(import.meta.dirname, `../../fixtures/${f}/crds.yaml`)),
  });
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.manifest.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  apps = kc.makeApiClient(AppsV1Api);
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
}, 60_000);

async function running(body: V1Pod): Promise<V1Pod> {
  await core.createNamespacedPod({ namespace: 'default', body });
  let p: V1Pod | undefined;
  await eventually(async () => {
    p = await core.readNamespacedPod({ name: body.metadata!.name!, namespace: 'default' });
    expect(p.status?.phase).toBe('Running');
  }, 30_000);
  return p!;
}

async function gone(name: string): Promise<void> {
  const p = await core.readNamespacedPod({ name, namespace: 'default' });
  const node = cluster.manifest.nodes.find((n) => n.name === p.spec!.nodeName)!;
  const ns = podNetnsName(node.podNetnsPrefix, 'default', name);
  await core.deleteNamespacedPod({ namespace: 'default', name });
  await eventually(() => expect(listNetns()).not.toContain(ns), 20_000);
}

function inPod(p: V1Pod, ...cmd: string[]) {
  const node = cluster.manifest.nodes.find((n) => n.name === p.spec!.nodeName)!;
  return execa(
    'ip',
    ['netns', 'exec', podNetnsName(node.podNetnsPrefix, 'default', p.metadata!.name!), ...cmd],
    { reject: false },
  );
}

const launcher = (name: string, node: string): V1Pod => ({
  metadata: {
    name,
    annotations: {
      'ovn.kubernetes.io/ip_address': '10.16.3.203',
      'ovn.kubernetes.io/mac_address': '00:00:00:1F:C5:8F',
    },
    ownerReferences: [
      {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachineInstance',
        name: 'vm1',
        uid: 'u-vm1',
        controller: true,
      },
    ],
  },
  spec: { nodeName: node, containers: [{ name: 'compute', image: 'virt-launcher' }] },
});

describe('addresses that outlive pods, on a real multi-node stack', () => {
  test('a VM restarted on another node keeps its IP and MAC and is reachable there', async () => {
    await custom.createNamespacedCustomObject({
      group: 'kubevirt.io',
      version: 'v1',
      plural: 'virtualmachines',
      namespace: 'default',
      body: {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachine',
        metadata: { name: 'vm1' },
        spec: { running: true },
      },
    });
    const client = await running({
      metadata: { name: 'client' },
      spec: { nodeName: 'node1', containers: [{ name: 'c', image: 'x' }] },
    });
    const first = await running(launcher('virt-launcher-vm1-aaaaa', 'node1'));
    expect(first.status?.podIP).toBe('10.16.3.203');
    expect((await inPod(client, 'ping', '-c', '1', '-W', '2', '10.16.3.203')).exitCode).toBe(0);
    await gone('virt-launcher-vm1-aaaaa');

    const second = await running(launcher('virt-launcher-vm1-bbbbb', 'node2'));
    expect(second.status?.podIP).toBe('10.16.3.203');
    const link = JSON.parse((await inPod(second, 'ip', '-j', 'link', 'show', 'dev', 'eth0')).stdout)[0];
    expect(link.address).toBe('00:00:00:1f:c5:8f');
    await eventually(
      async () => expect((await inPod(client, 'ping', '-c', '1', '-W', '1', '10.16.3.203')).exitCode).toBe(0),
      15_000,
    );
  });

  test('a StatefulSet pod re-created keeps its address and is reachable', async () => {
    await apps.createNamespacedStatefulSet({
      namespace: 'default',
      body: {
        metadata: { name: 'db' },
        spec: {
          replicas: 1,
          serviceName: 'db',
          selector: { matchLabels: { app: 'db' } },
          template: {
            metadata: { labels: { app: 'db' } },
            spec: { containers: [{ name: 'c', image: 'x' }] },
          },
        },
      },
    });
    const pod = (node: string): V1Pod => ({
      metadata: {
        name: 'db-0',
        labels: { app: 'db' },
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'u-db', controller: true },
        ],
      },
      spec: { nodeName: node, containers: [{ name: 'c', image: 'x' }] },
    });
    const before = await running(pod('node2'));
    await gone('db-0');
    const after = await running(pod('node1'));
    expect(after.status?.podIP).toBe(before.status?.podIP);
    const client = await core.readNamespacedPod({ name: 'client', namespace: 'default' });
    await eventually(
      async () =>
        expect((await inPod(client, 'ping', '-c', '1', '-W', '1', after.status!.podIP!)).exitCode).toBe(0),
      15_000,
    );
  });

  test('a pod with a secondary network has two interfaces, each reachable on its own subnet, across nodes', async () => {
    const provider = 'attachnet.default.ovn';
    await custom.createClusterCustomObject({
      group: 'kubeovn.io',
      version: 'v1',
      plural: 'subnets',
      body: {
        apiVersion: 'kubeovn.io/v1',
        kind: 'Subnet',
        metadata: { name: 'attach-net' },
        spec: { cidrBlock: '172.17.0.0/24', provider },
      },
    });
    await custom.createNamespacedCustomObject({
      group: 'k8s.cni.cncf.io',
      version: 'v1',
      plural: 'network-attachment-definitions',
      namespace: 'default',
      body: {
        apiVersion: 'k8s.cni.cncf.io/v1',
        kind: 'NetworkAttachmentDefinition',
        metadata: { name: 'attachnet' },
        spec: {
          config: JSON.stringify({
            cniVersion: '1.0.0',
            type: 'ovnk',
            server_socket: '/run/ovnk/daemon.sock',
            provider,
          }),
        },
      },
    });
    await eventually(async () => {
      const s = (await custom.getClusterCustomObject({
        group: 'kubeovn.io',
        version: 'v1',
        plural: 'subnets',
        name: 'attach-net',
      })) as { status?: { conditions?: { type: string; status: string }[] } };
      expect(s.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    });
    const multi = (name: string, node: string): V1Pod => ({
      metadata: { name, annotations: { 'k8s.v1.cni.cncf.io/networks': 'attachnet' } },
      spec: { nodeName: node, containers: [{ name: 'c', image: 'x' }] },
    });
    const m1 = await running(multi('m1', 'node1'));
    const m2 = await running(multi('m2', 'node2'));
    const net1 = async (p: V1Pod) => {
      const link = JSON.parse((await inPod(p, 'ip', '-j', 'addr', 'show', 'dev', 'net1')).stdout)[0];
      return link.addr_info.find((a: { family: string }) => a.family === 'inet').local as string;
    };
    const [a1, a2] = [await net1(m1), await net1(m2)];
    expect(a1).toMatch(/^172\.17\.0\./);
    const pod1 = await core.readNamespacedPod({ name: 'm1', namespace: 'default' });
    expect(pod1.metadata?.annotations?.[`${provider}.kubernetes.io/ip_address`]).toBe(a1);
    // the first interface keeps the default route
    expect((await inPod(m1, 'ip', 'route', 'show', 'default')).stdout).toMatch(/dev eth0/);
    await eventually(
      async () => expect((await inPod(m1, 'ping', '-c', '1', '-W', '1', '-I', 'net1', a2)).exitCode).toBe(0),
      15_000,
    );
    expect((await inPod(m1, 'ping', '-c', '1', '-W', '1', m2.status!.podIP!)).exitCode).toBe(0);
    // deleting the pod removes both interfaces' ports from the node
    await gone('m1');
    const ports = await cluster.lab.chassis[0]!.vsctl(
      '--columns=external_ids',
      'find',
      'Interface',
      'external_ids:pod_name=m1',
    );
    expect(ports.trim()).toBe('');
  });
});
