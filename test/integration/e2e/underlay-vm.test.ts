// A KubeVirt VM on a VLAN underlay subnet, as users run them: the VM ubuntu-c of namespace mail263 with the
// fixed address 172.16.3.203 and MAC 00:00:00:1F:C5:8F. Re-created on the other node (its launcher pod
// deleted, a new one made there), it keeps both, and a host on the VLAN reaches it again; the time it was
// unreachable is measured by a host pinging it every 100 ms throughout.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, CustomObjectsApi, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { longestSilenceMs } from '../../../src/chaos/outage.ts';
import { Pinger } from '../../../src/chaos/pinger.ts';
import { Cluster } from '../../../src/lab/cluster.ts';
import type { FabricHost } from '../../../src/lab/fabric.ts';
import { listNetns } from '../../../src/lab/netns.ts';
import { setUpVlan10, VLAN10_SERVER } from '../../../src/lab/vlan10.ts';
import { eventually } from '../helpers.ts';
import { podNetns, waitRunning } from './pods.ts';

const NS = 'mail263';
const VM = 'ubuntu-c';
const IP = '172.16.3.203';
const MAC = '00:00:00:1F:C5:8F';
const crd = (plural: string) => ({ group: 'kubeovn.io', version: 'v1', plural });

let cluster: Cluster;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let h10: FabricHost;
let pinger: Pinger | undefined;

beforeAll(async () => {
  cluster = await Cluster.start({
    nodes: 2,
    manifests: [join(import.meta.dirname, '../../fixtures/kubevirt/crds.yaml')],
  });
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.manifest.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  await core.createNamespace({ body: { metadata: { name: NS } } });
  await setUpVlan10(cluster, custom, { name: 'vm10', namespaces: [NS] });
  h10 = await cluster.lab.addHost(VLAN10_SERVER);
}, 120_000);
afterAll(async () => {
  await pinger?.stop();
  await cluster?.stop();
}, 60_000);

/** The VM's launcher pod on a node, as KubeVirt makes it: owned by the VMI, the fixed IP and MAC asked for. */
const launcher = (suffix: string, node: string): V1Pod => ({
  metadata: {
    name: `virt-launcher-${VM}-${suffix}`,
    namespace: NS,
    annotations: { 'ovn.kubernetes.io/ip_address': IP, 'ovn.kubernetes.io/mac_address': MAC },
    ownerReferences: [
      {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachineInstance',
        name: VM,
        uid: `u-${VM}`,
        controller: true,
      },
    ],
  },
  spec: { nodeName: node, containers: [{ name: 'compute', image: 'virt-launcher' }] },
});

async function start(suffix: string, node: string): Promise<V1Pod> {
  await core.createNamespacedPod({ namespace: NS, body: launcher(suffix, node) });
  return waitRunning(core, launcher(suffix, node).metadata!.name!, NS);
}

const macOf = async (p: V1Pod) =>
  JSON.parse(
    (await execa('ip', ['netns', 'exec', podNetns(cluster, p), 'ip', '-j', 'link', 'show', 'dev', 'eth0']))
      .stdout,
  )[0].address as string;

test(`the VM ${NS}/${VM} on VLAN 10 keeps ${IP} and its MAC on the other node, and the VLAN host reaches it again`, async () => {
  await custom.createNamespacedCustomObject({
    group: 'kubevirt.io',
    version: 'v1',
    plural: 'virtualmachines',
    namespace: NS,
    body: {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: VM },
      spec: { running: true },
    },
  });
  const first = await start('aaaaa', 'node1');
  expect(first.status?.podIP).toBe(IP);
  expect(await macOf(first)).toBe(MAC.toLowerCase());
  pinger = new Pinger('h10->vm', h10.netns, IP);
  await eventually(() => expect(pinger!.answering(300)).toBe(true), 15_000);

  const movedAt = Date.now();
  const firstNs = podNetns(cluster, first);
  await core.deleteNamespacedPod({ namespace: NS, name: first.metadata!.name! });
  await eventually(() => expect(listNetns()).not.toContain(firstNs), 20_000);
  const second = await start('bbbbb', 'node2');
  expect(second.spec?.nodeName).toBe('node2');
  expect(second.status?.podIP).toBe(IP);
  expect(await macOf(second)).toBe(MAC.toLowerCase());
  await eventually(() => expect(pinger!.lastReplyAt).toBeGreaterThan(Date.now() - 300), 20_000);
  await sleep(500);
  const outage = longestSilenceMs(pinger.replies, movedAt, Date.now(), pinger.intervalMs);
  console.log(
    `VM ${NS}/${VM} unreachable from the VLAN host for ${outage} ms while it moved from node1 to node2`,
  );
  // the port and the address record outlived the first launcher: one of each, the VM's
  const ips = (await custom.listClusterCustomObject({ ...crd('ips') })) as {
    items: { metadata: { name: string }; spec: { ipAddress: string } }[];
  };
  expect(ips.items.filter((i) => i.spec.ipAddress === IP).map((i) => i.metadata.name)).toEqual([
    `${VM}.${NS}`,
  ]);
}, 120_000);
