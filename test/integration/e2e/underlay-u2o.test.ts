// Underlay subnets joined to the overlay through the VPC router, on the two-node lab with its VLAN fabric:
// u2oInterconnection on, overlay and underlay pods reach each other (across nodes, the router's frames on
// the VLAN carrying the chassis MAC); off, they do not. A logicalGateway subnet needs no physical router:
// the VPC router answers as its gateway.
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Cluster } from '../../../src/lab/cluster.ts';
import { createKubeovn, setUpVlan10 } from '../../../src/lab/vlan10.ts';
import { eventually } from '../helpers.ts';
import { podNetns, runningPod } from './pods.ts';

const crd = (plural: string) => ({ group: 'kubeovn.io', version: 'v1', plural });

let cluster: Cluster;
let core: CoreV1Api;
let custom: CustomObjectsApi;

const createCr = (plural: string, kind: string, name: string, spec: Record<string, unknown>) =>
  createKubeovn(custom, plural, kind, name, spec);
const subnetStatus = async (name: string) =>
  ((await custom.getClusterCustomObject({ ...crd('subnets'), name })) as { status?: Record<string, unknown> })
    .status ?? {};
const patchSubnet = (name: string, spec: Record<string, unknown>) =>
  custom.patchClusterCustomObject(
    { ...crd('subnets'), name, body: { spec } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
const ping = async (netns: string, ip: string) =>
  (await execa('ip', ['netns', 'exec', netns, 'ping', '-c', '1', '-W', '1', ip], { reject: false }))
    .exitCode === 0;
const reaches = (netns: string, ip: string, want: boolean) =>
  eventually(async () => expect(await ping(netns, ip), `${netns} -> ${ip}`).toBe(want), 20_000);

beforeAll(async () => {
  cluster = await Cluster.start({ nodes: 2 });
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.manifest.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  await setUpVlan10(cluster, custom, { name: 'ul10' });
  await createCr('vlans', 'Vlan', 'vlan30', { id: 30, provider: 'net1' });
  // no router on VLAN 30: the VPC router is its gateway
  await createCr('subnets', 'Subnet', 'lg30', {
    cidrBlock: '172.16.4.0/24',
    vlan: 'vlan30',
    logicalGateway: true,
  });
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
}, 60_000);

const inSubnet = (subnet: string) => ({ 'ovn.kubernetes.io/logical_switch': subnet });

describe('u2oInterconnection', () => {
  test('off: overlay and underlay pods do not reach each other; on: they do, both ways, across nodes; off again: not', async () => {
    const [o1, u1] = await Promise.all([
      runningPod(core, { name: 'o1', node: 'node1' }),
      runningPod(core, { name: 'u1', node: 'node2', annotations: inSubnet('ul10') }),
    ]);
    const [o1ns, u1ns] = [podNetns(cluster, o1), podNetns(cluster, u1)];
    expect(await ping(o1ns, u1.status!.podIP!)).toBe(false);
    expect(await ping(u1ns, o1.status!.podIP!)).toBe(false);

    await patchSubnet('ul10', { u2oInterconnection: true });
    let u2oIp = '';
    await eventually(async () => {
      const s = await subnetStatus('ul10');
      u2oIp = String(s.u2oInterconnectionIP ?? '');
      expect(u2oIp).toMatch(/^172\.16\.3\.\d+$/);
      expect(s.u2oInterconnectionVPC).toBe('ovn-cluster');
    });
    // a pod made now routes through the u2o address (those made before keep the physical gateway)
    const u2 = await runningPod(core, { name: 'u2', node: 'node2', annotations: inSubnet('ul10') });
    const u2ns = podNetns(cluster, u2);
    const route = await execa('ip', ['netns', 'exec', u2ns, 'ip', 'route', 'show', 'default']);
    expect(route.stdout).toContain(`via ${u2oIp}`);
    await reaches(o1ns, u2.status!.podIP!, true);
    await reaches(u2ns, o1.status!.podIP!, true);
    // an overlay pod on the underlay pod's node too
    const o2 = await runningPod(core, { name: 'o2', node: 'node2' });
    await reaches(podNetns(cluster, o2), u2.status!.podIP!, true);
    // and the physical network is still the way out of the underlay for everything else
    expect(await ping(u2ns, '172.16.3.1')).toBe(true);

    await patchSubnet('ul10', { u2oInterconnection: false });
    await eventually(async () => expect((await subnetStatus('ul10')).u2oInterconnectionIP ?? '').toBe(''));
    await reaches(o1ns, u2.status!.podIP!, false);
  });
});

describe('logicalGateway', () => {
  test('the VPC router is the gateway of an underlay subnet without a physical one; overlay pods are reachable', async () => {
    const [l1, o3] = await Promise.all([
      runningPod(core, { name: 'l1', node: 'node1', annotations: inSubnet('lg30') }),
      runningPod(core, { name: 'o3', node: 'node2' }),
    ]);
    expect(l1.metadata?.annotations?.['ovn.kubernetes.io/logical_router']).toBe('ovn-cluster');
    const l1ns = podNetns(cluster, l1);
    expect(await ping(l1ns, '172.16.4.1')).toBe(true);
    await reaches(l1ns, o3.status!.podIP!, true);
    await reaches(podNetns(cluster, o3), l1.status!.podIP!, true);
    // the MTU is the overlay's: its traffic may cross the router into geneve
    const mtu = JSON.parse(
      (await execa('ip', ['netns', 'exec', l1ns, 'ip', '-j', 'link', 'show', 'dev', 'eth0'])).stdout,
    )[0].mtu;
    expect(mtu).toBe(1400);
  });
});
