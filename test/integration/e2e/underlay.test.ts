// Underlay networks end to end on the two-node lab with its VLAN fabric (src/lab/fabric.ts): a
// ProviderNetwork on the nodes' eth1, a Vlan (id 10) and a Subnet on it. Pods on both nodes talk through the
// fabric with real 802.1Q tags and no geneve, a host on VLAN 10 reaches them and sees their own addresses,
// a host on VLAN 20 does not; the management network is untouched; bad input gets conditions and nothing
// else moves; restarts of the daemon and ovs-vswitchd keep underlay pods working; and deleting the
// ProviderNetwork gives the NIC its address back.
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pnLabel } from '../../../src/controller/underlay.ts';
import { Cluster } from '../../../src/lab/cluster.ts';
import type { FabricHost } from '../../../src/lab/fabric.ts';
import { NODE_FABRIC_NET } from '../../../src/lab/fabric.ts';
import { livePid, waitGone } from '../../../src/lab/proc.ts';
import { createKubeovn, setUpVlan10, VLAN10_SERVER } from '../../../src/lab/vlan10.ts';
import { eventually } from '../helpers.ts';
import { podNetns, runningPod, startServer } from './pods.ts';

const crd = (plural: string) => ({ group: 'kubeovn.io', version: 'v1', plural });
/** A TCP server that answers each connection with the address it came from, then closes it. */
const WHO = `require('net').createServer((s) => s.end(s.remoteAddress.replace('::ffff:', '') + '\\n')).listen(8080, () => console.log('ready'));`;

let cluster: Cluster;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let gw10: FabricHost;
let h10: FabricHost;
let h20: FabricHost;
const servers: ResultPromise[] = [];

const createCr = (plural: string, kind: string, name: string, spec: Record<string, unknown>) =>
  createKubeovn(custom, plural, kind, name, spec);
const getCr = async (plural: string, name: string) =>
  (await custom.getClusterCustomObject({ ...crd(plural), name })) as {
    spec: Record<string, unknown>;
    status?: Record<string, unknown> & { conditions?: { type: string; status: string; reason?: string }[] };
  };
const condition = async (plural: string, name: string, type: string) =>
  (await getCr(plural, name)).status?.conditions?.find((c) => c.type === type);

const nodeNs = (node: string) => cluster.manifest.nodes.find((n) => n.name === node)!.netns;
const inNs = (netns: string, cmd: string, args: string[]) =>
  execa('ip', ['netns', 'exec', netns, cmd, ...args], { reject: false });
const ping = async (netns: string, ip: string) =>
  (await inNs(netns, 'ping', ['-c', '1', '-W', '1', ip])).exitCode === 0;
const pingSoon = (netns: string, ip: string) =>
  eventually(async () => expect(await ping(netns, ip), `ping ${ip} from ${netns}`).toBe(true), 20_000);
const addressesOn = async (netns: string, dev: string) => {
  const r = await inNs(netns, 'ip', ['-j', 'addr', 'show', 'dev', dev]);
  if (r.exitCode !== 0) return undefined;
  return (
    (JSON.parse(r.stdout)[0]?.addr_info ?? []) as { local: string; prefixlen: number; family: string }[]
  )
    .filter((a) => a.family === 'inet')
    .map((a) => `${a.local}/${a.prefixlen}`);
};

beforeAll(async () => {
  // a short gateway check, so a pod whose gateway never answers fails its ADD quickly
  cluster = await Cluster.start({ nodes: 2, daemonArgs: ['--gateway-check-timeout-ms', '3000'] });
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.manifest.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  // the physical network: VLAN 10's router (the pods' gateway), a server on VLAN 10, one on VLAN 20
  ({ router: gw10 } = await setUpVlan10(cluster, custom, { name: 'ul10' }));
  h10 = await cluster.lab.addHost(VLAN10_SERVER);
  h20 = await cluster.lab.addHost({ name: 'h20', vlan: 20, cidr: '172.16.3.20/24', router: false });
}, 120_000);
afterAll(async () => {
  for (const s of servers) s.kill('SIGKILL');
  await Promise.allSettled(servers);
  await cluster?.stop();
}, 60_000);

const ulPod = (name: string, node: string) =>
  runningPod(core, { name, node, annotations: { 'ovn.kubernetes.io/logical_switch': 'ul10' } });

describe('a VLAN underlay subnet', () => {
  let a: V1Pod;
  let b: V1Pod;

  test('the ProviderNetwork is ready on both nodes: br-net1 holds eth1 and its address, labels say so', async () => {
    await eventually(async () => {
      const s = (await getCr('provider-networks', 'net1')).status;
      expect(s).toMatchObject({
        ready: true,
        readyNodes: ['node1', 'node2'],
        notReadyNodes: [],
        vlans: ['vlan10'],
      });
    }, 30_000);
    for (const [k, node] of [
      [1, 'node1'],
      [2, 'node2'],
    ] as const) {
      expect(await addressesOn(nodeNs(node), 'br-net1')).toEqual([`${NODE_FABRIC_NET}.${k}/24`]);
      expect(await addressesOn(nodeNs(node), 'eth1')).toEqual([]);
      const n: V1Node = await core.readNode({ name: node });
      expect(n.metadata?.labels).toMatchObject({
        [pnLabel('net1', 'ready')]: 'true',
        [pnLabel('net1', 'interface')]: 'eth1',
        [pnLabel('net1', 'mtu')]: '1500',
      });
    }
    // the node keeps its address on the physical network, now through the bridge
    expect(await ping(nodeNs('node1'), `${NODE_FABRIC_NET}.2`)).toBe(true);
    expect(await condition('vlans', 'vlan10', 'Ready')).toMatchObject({ status: 'True' });
    expect((await getCr('vlans', 'vlan10')).status).toMatchObject({ subnets: ['ul10'], conflict: false });
  });

  test('pods on both nodes reach each other over the fabric, tagged 10, without geneve', async () => {
    [a, b] = await Promise.all([ulPod('ul-a', 'node1'), ulPod('ul-b', 'node2')]);
    expect(a.metadata?.annotations).toMatchObject({
      'ovn.kubernetes.io/vlan_id': '10',
      'ovn.kubernetes.io/provider_network': 'net1',
      'ovn.kubernetes.io/gateway': '172.16.3.1',
    });
    expect(a.metadata?.annotations?.['ovn.kubernetes.io/logical_router']).toBeUndefined();
    const mtu = JSON.parse(
      (await inNs(podNetns(cluster, a), 'ip', ['-j', 'link', 'show', 'dev', 'eth0'])).stdout,
    )[0].mtu;
    expect(mtu).toBe(1500); // the NIC's: no geneve header to make room for
    const fabric = `${cluster.lab.fabric.netns}`;
    const tagged = execa(
      'ip',
      [
        'netns',
        'exec',
        fabric,
        'timeout',
        '8',
        'tcpdump',
        '-nn',
        '-e',
        '-c',
        '2',
        '-i',
        'fab-n1',
        'vlan 10 and icmp',
      ],
      { reject: false },
    );
    // geneve on the management network, decoded (tcpdump shows the inner packets)
    const geneve = execa(
      'ip',
      [
        'netns',
        'exec',
        cluster.lab.underlayNs,
        'timeout',
        '6',
        'tcpdump',
        '-nn',
        '-c',
        '200',
        '-i',
        'ul1',
        'udp port 6081',
      ],
      { reject: false },
    );
    await new Promise((r) => setTimeout(r, 1_000));
    await pingSoon(podNetns(cluster, a), b.status!.podIP!);
    const [t, g] = await Promise.all([tagged, geneve]);
    expect(t.stdout).toContain('vlan 10');
    expect(t.stdout).toContain(`${a.status!.podIP} > ${b.status!.podIP}`);
    expect(g.stdout).not.toContain(`${a.status!.podIP} > ${b.status!.podIP}`);
  });

  test('a host on VLAN 10 reaches the pods and sees their own addresses; a host on VLAN 20 does not', async () => {
    await startServer(h10.netns, WHO, [], servers);
    const who = await inNs(podNetns(cluster, a), 'nc', ['-w', '3', '172.16.3.10', '8080']);
    expect(who.stdout.trim()).toBe(a.status!.podIP);
    expect(await ping(h10.netns, b.status!.podIP!)).toBe(true);
    expect(await ping(gw10.netns, a.status!.podIP!)).toBe(true);
    expect(await ping(h20.netns, a.status!.podIP!)).toBe(false);
    expect(await ping(podNetns(cluster, a), '172.16.3.20')).toBe(false);
  });

  test('the management network and the overlay are untouched', async () => {
    const [o1, o2] = await Promise.all([
      runningPod(core, { name: 'ov-1', node: 'node1' }),
      runningPod(core, { name: 'ov-2', node: 'node2' }),
    ]);
    expect(await ping(podNetns(cluster, o1), o2.status!.podIP!)).toBe(true);
    expect(await ping(nodeNs('node1'), o2.status!.podIP!)).toBe(true);
    expect(await ping(nodeNs('node1'), cluster.manifest.nodes[1]!.ip)).toBe(true);
    // overlay and underlay stay apart without u2oInterconnection
    expect(await ping(podNetns(cluster, o1), a.status!.podIP!)).toBe(false);
  });

  test('no physical gateway answering: ADD fails with the reason; disableGatewayCheck lets the pod run', async () => {
    await createCr('vlans', 'Vlan', 'vlan40', { id: 40, provider: 'net1' });
    await createCr('subnets', 'Subnet', 'ul40', { cidrBlock: '172.16.5.0/24', vlan: 'vlan40' });
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'ul-nogw', annotations: { 'ovn.kubernetes.io/logical_switch': 'ul40' } },
        spec: { nodeName: 'node1', containers: [{ name: 'c', image: 'pause' }] },
      },
    });
    await eventually(async () => {
      const events = await core.listNamespacedEvent({ namespace: 'default' });
      const failed = events.items.find(
        (e) => e.involvedObject.name === 'ul-nogw' && e.reason === 'FailedCreatePodSandBox',
      );
      expect(failed?.message).toContain('gateway 172.16.5.1 did not answer ARP');
    }, 30_000);
    expect((await core.readNamespacedPod({ name: 'ul-nogw', namespace: 'default' })).status?.phase).not.toBe(
      'Running',
    );
    await custom.patchClusterCustomObject(
      { ...crd('subnets'), name: 'ul40', body: { spec: { disableGatewayCheck: true } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually(async () => {
      const p = await core.readNamespacedPod({ name: 'ul-nogw', namespace: 'default' });
      expect(p.status?.phase).toBe('Running');
    }, 60_000);
  });

  test('a daemon restart and an ovs-vswitchd restart keep underlay pods working', async () => {
    await cluster.restartDaemon('node1');
    expect(await ping(podNetns(cluster, a), b.status!.podIP!)).toBe(true);
    const c = cluster.lab.node('node1');
    // by its pidfile, and gone before the restart: start() skips a daemon that still looks alive
    const vswitchd = livePid(c.vswitchd.pidfile, c.vswitchd.comm)!;
    process.kill(vswitchd, 'SIGKILL');
    expect(await waitGone(vswitchd, 10_000)).toBe(true);
    await c.start();
    await pingSoon(podNetns(cluster, a), b.status!.podIP!);
    await pingSoon(h10.netns, a.status!.podIP!);
    // the bridge's device came back without the NIC's address: the daemon put it back
    await eventually(
      async () => expect(await addressesOn(nodeNs('node1'), 'br-net1')).toEqual([`${NODE_FABRIC_NET}.1/24`]),
      20_000,
    );
  });
});

describe('bad input gets a condition and changes nothing else', () => {
  test('a Vlan id out of range is refused by the API', async () => {
    await expect(createCr('vlans', 'Vlan', 'vbad', { id: 5000, provider: 'net1' })).rejects.toMatchObject({
      code: 422,
    });
  });

  test('a second Vlan with the same id on the provider conflicts; its subnet is not set up', async () => {
    await createCr('vlans', 'Vlan', 'vlan10b', { id: 10, provider: 'net1' });
    await eventually(async () => {
      expect((await getCr('vlans', 'vlan10b')).status).toMatchObject({ conflict: true });
      expect(await condition('vlans', 'vlan10b', 'Ready')).toMatchObject({
        status: 'False',
        reason: 'Conflict',
      });
    });
    expect((await getCr('vlans', 'vlan10')).status).toMatchObject({ conflict: false });
    await createCr('subnets', 'Subnet', 'ul10b', { cidrBlock: '172.16.9.0/24', vlan: 'vlan10b' });
    await eventually(async () =>
      expect(await condition('subnets', 'ul10b', 'Validated')).toMatchObject({
        status: 'False',
        reason: 'VlanConflict',
      }),
    );
    const events = await core.listNamespacedEvent({ namespace: 'default' });
    expect(events.items.some((e) => e.involvedObject.name === 'vlan10b' && e.reason === 'Conflict')).toBe(
      true,
    );
  });

  test('a Subnet naming a missing Vlan, and one that takes in the management network', async () => {
    await createCr('subnets', 'Subnet', 'ulmissing', { cidrBlock: '172.16.8.0/24', vlan: 'nosuchvlan' });
    await createCr('subnets', 'Subnet', 'ulmgmt', { cidrBlock: '172.30.0.0/16', vlan: 'vlan10' });
    await eventually(async () => {
      expect(await condition('subnets', 'ulmissing', 'Validated')).toMatchObject({
        status: 'False',
        reason: 'VlanNotFound',
      });
      expect(await condition('subnets', 'ulmgmt', 'Validated')).toMatchObject({
        status: 'False',
        reason: 'CIDROverlapsNodes',
      });
    });
    // the working subnet and its pods are untouched
    expect(await condition('subnets', 'ul10', 'Validated')).toMatchObject({ status: 'True' });
  });
});

test('deleting the ProviderNetwork gives the NIC its address back and removes the bridge and the labels', async () => {
  await custom.deleteClusterCustomObject({ ...crd('provider-networks'), name: 'net1' });
  await eventually(async () => {
    expect(await addressesOn(nodeNs('node1'), 'eth1')).toEqual([`${NODE_FABRIC_NET}.1/24`]);
    expect(await addressesOn(nodeNs('node1'), 'br-net1')).toBeUndefined();
    const n = await core.readNode({ name: 'node1' });
    expect(Object.keys(n.metadata?.labels ?? {}).filter((k) => k.includes('provider-network'))).toEqual([]);
  }, 30_000);
  expect(await ping(nodeNs('node1'), `${NODE_FABRIC_NET}.2`)).toBe(true);

  // a node without the network's NIC is not ready on it; the other node is
  await createCr('provider-networks', 'ProviderNetwork', 'net2', {
    defaultInterface: 'eth1',
    customInterfaces: [{ interface: 'eth9', nodes: ['node2'] }],
  });
  await eventually(async () => {
    const s = (await getCr('provider-networks', 'net2')).status as {
      readyNodes?: string[];
      notReadyNodes?: string[];
      conditions?: { node?: string; message?: string }[];
    };
    expect(s?.readyNodes).toEqual(['node1']);
    expect(s?.notReadyNodes).toEqual(['node2']);
    expect(s?.conditions?.find((c) => c.node === 'node2')?.message).toContain('eth9 does not exist');
  }, 30_000);
  expect(await addressesOn(nodeNs('node1'), 'br-net2')).toEqual([`${NODE_FABRIC_NET}.1/24`]);
  await custom.deleteClusterCustomObject({ ...crd('provider-networks'), name: 'net2' });
  await eventually(
    async () => expect(await addressesOn(nodeNs('node1'), 'eth1')).toEqual([`${NODE_FABRIC_NET}.1/24`]),
    30_000,
  );
});
