// VPCs for real on the two-node lab: isolated tenant networks with overlapping CIDRs, joined on purpose by a
// peering declared on both sides (no hand-written routes), cut when the peering goes; a drop policy works.

import { join } from 'node:path';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
} from '@kubernetes/client-node';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Cluster } from '../../../src/lab/cluster.ts';
import { podNetnsName } from '../../../src/lab/pod-sandboxes.ts';
import { eventually, getUnix } from '../helpers.ts';
import { runningPod } from './pods.ts';

let cluster: Cluster;
let core: CoreV1Api;
let custom: CustomObjectsApi;
const cr = (plural: string) => ({ group: 'kubeovn.io', version: 'v1', plural });

beforeAll(async () => {
  cluster = await Cluster.start({ nodes: 2 });
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.manifest.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
}, 60_000);

async function create(plural: string, kind: string, name: string, spec: Record<string, unknown>) {
  await custom.createClusterCustomObject({
    ...cr(plural),
    body: { apiVersion: 'kubeovn.io/v1', kind, metadata: { name }, spec },
  });
}
async function patchVpc(name: string, spec: Record<string, unknown>) {
  await custom.patchClusterCustomObject(
    { ...cr('vpcs'), name, body: { spec } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** A pause pod on a node, in a subnet when one is named. */
const runPod = (name: string, node: string, subnet?: string): Promise<V1Pod> =>
  runningPod(core, { name, node, annotations: subnet ? { 'ovn.kubernetes.io/logical_switch': subnet } : {} });

async function pings(from: V1Pod, ip: string): Promise<boolean> {
  const node = cluster.manifest.nodes.find((n) => n.name === from.spec!.nodeName)!;
  const ns = podNetnsName(node.podNetnsPrefix, 'default', from.metadata!.name!);
  const r = await execa('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-W', '1', ip], { reject: false });
  return r.exitCode === 0;
}

describe('VPCs on a real multi-node stack', () => {
  const pods: Record<string, V1Pod> = {};
  const ip = (name: string) => pods[name]!.status!.podIP!;

  test('two VPCs with the same CIDR stay isolated; pods of one VPC reach each other across nodes', async () => {
    await create('vpcs', 'Vpc', 'vpc-a', {});
    await create('vpcs', 'Vpc', 'vpc-b', {});
    await create('vpcs', 'Vpc', 'vpc-c', {});
    await create('subnets', 'Subnet', 'a-net', { cidrBlock: '10.100.0.0/24', vpc: 'vpc-a' });
    await create('subnets', 'Subnet', 'b-net', { cidrBlock: '10.100.0.0/24', vpc: 'vpc-b' });
    await create('subnets', 'Subnet', 'c-net', { cidrBlock: '10.200.0.0/24', vpc: 'vpc-c' });
    pods.a1 = await runPod('a1', 'node1', 'a-net');
    pods.a2 = await runPod('a2', 'node2', 'a-net');
    pods.b1 = await runPod('b1', 'node2', 'b-net');
    pods.c1 = await runPod('c1', 'node2', 'c-net');
    pods.d1 = await runPod('d1', 'node1'); // the default VPC
    expect([ip('a1'), ip('a2'), ip('b1'), ip('c1')]).toEqual([
      '10.100.0.2',
      '10.100.0.3',
      '10.100.0.2',
      '10.200.0.2',
    ]);
    expect(await pings(pods.a1!, ip('a2'))).toBe(true);
    expect(await pings(pods.b1!, ip('a2'))).toBe(false); // 10.100.0.3 exists only in vpc-a
    expect(await pings(pods.a1!, ip('c1'))).toBe(false);
    expect(await pings(pods.d1!, ip('c1'))).toBe(false);
  });

  test('a peering declared on both sides joins two VPCs without hand-written routes; removing it cuts them', async () => {
    await patchVpc('vpc-a', { vpcPeerings: [{ remoteVpc: 'vpc-c', localConnectIP: '169.254.10.1/30' }] });
    await patchVpc('vpc-c', { vpcPeerings: [{ remoteVpc: 'vpc-a', localConnectIP: '169.254.10.2/30' }] });
    await eventually(async () => expect(await pings(pods.a1!, ip('c1'))).toBe(true), 20_000);
    expect(await pings(pods.c1!, ip('a2'))).toBe(true);
    expect(await pings(pods.b1!, ip('c1'))).toBe(false); // vpc-b is not part of it

    await patchVpc('vpc-a', {
      policyRoutes: [{ priority: 1000, match: `ip4.dst == ${ip('c1')}`, action: 'drop' }],
    });
    await eventually(async () => expect(await pings(pods.a1!, ip('c1'))).toBe(false), 20_000);
    await patchVpc('vpc-a', { policyRoutes: null });
    await eventually(async () => expect(await pings(pods.a1!, ip('c1'))).toBe(true), 20_000);

    await patchVpc('vpc-c', { vpcPeerings: null });
    await eventually(async () => expect(await pings(pods.a1!, ip('c1'))).toBe(false), 20_000);
  });

  test('explicit static routes work: one side routes by hand, the other by its declaration', async () => {
    // vpc-a still declares the peering; vpc-c declares it again with a hand-written route for a-net as well
    await patchVpc('vpc-c', {
      vpcPeerings: [{ remoteVpc: 'vpc-a', localConnectIP: '169.254.10.2/30' }],
      staticRoutes: [{ policy: 'policyDst', cidr: '10.100.0.0/24', nextHopIP: '169.254.10.1' }],
    });
    await eventually(async () => expect(await pings(pods.c1!, ip('a1'))).toBe(true), 20_000);
    const routes = await cluster.lab.nbctl(
      '--bare',
      '--columns=external_ids',
      'find',
      'Logical_Router_Static_Route',
      'ip_prefix="10.100.0.0/24"',
    );
    expect(routes).toMatch(/origin=user/);
  });
});

describe("the controller's ovn-nbctl views of this topology", () => {
  /** GET on the lab controller's debug socket. */
  const view = async (path: string) => (await getUnix(join(cluster.dir, 'controller-debug.sock'), path)).text;

  test('two VPCs, a peering, several subnets, pods, ACLs: identical to the real ovn-nbctl', async () => {
    // a private subnet brings ACLs into the picture
    await create('subnets', 'Subnet', 'private-net', {
      cidrBlock: '10.210.0.0/24',
      private: true,
      allowSubnets: ['10.16.0.0/16'],
    });
    await eventually(async () => expect(await cluster.lab.nbctl('acl-list', 'private-net')).toMatch(/drop/));
    const cases: [string, string[]][] = [
      ['ls-list', []],
      ['lr-list', []],
      ['show', ['vpc-a']],
      ['show', ['a-net']],
      ['lsp-list', ['a-net']],
      ['lrp-list', ['vpc-a']],
      ['lrp-list', ['vpc-c']],
      ['lr-route-list', ['vpc-a']],
      ['lr-route-list', ['vpc-c']],
      ['lr-route-list', ['ovn-cluster']],
      ['lr-policy-list', ['ovn-cluster']],
      ['acl-list', ['private-net']],
    ];
    await eventually(async () => {
      for (const [v, args] of cases) {
        const q = args.map((a) => `arg=${encodeURIComponent(a)}`).join('&');
        expect(await view(`/nbctl/${v}${q ? `?${q}` : ''}`), `${v} ${args.join(' ')}`).toBe(
          `${await cluster.lab.nbctl(v, ...args)}\n`,
        );
      }
    });
  });
});
