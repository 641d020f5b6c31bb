// Subnet features beyond addresses, end to end against real NB/SB and ovn-northd: private subnets as ACLs,
// IPPools (named, namespace-bound, and address lists in the ip_pool annotation), the default Vpc object and
// the default VPC's default route, and the condition naming the fields that are not implemented.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { Ann } from '../../../src/controller/k8s/annotations.ts';
import { eventually } from '../helpers.ts';
import { pod, useControllerStack } from './harness.ts';

const s = useControllerStack(['pooled', 'sts']);
const { nbctl, annotated } = s;

/** acl-list lines without their UUID-free formatting noise, e.g. "to-lport 1000 (ip4.dst == ...) drop". */
async function acls(sw: string): Promise<string[]> {
  return (await nbctl('acl-list', sw))
    .split('\n')
    .map((l) => l.trim().replace(/\s+/g, ' '))
    .filter(Boolean)
    .sort();
}

describe('subnet features', () => {
  test('the default VPC: a Vpc object with its status, and a default route via the join gateway', async () => {
    await eventually(async () => {
      const vpc = await s.getCr('vpcs', 'ovn-cluster');
      expect(vpc.status).toMatchObject({
        default: true,
        router: 'ovn-cluster',
        defaultLogicalSwitch: 'ovn-default',
        subnets: ['join', 'ovn-default'],
      });
    });
    await eventually(async () =>
      expect(await nbctl('lr-route-list', 'ovn-cluster')).toMatch(/0\.0\.0\.0\/0\s+100\.64\.0\.1 dst-ip/),
    );
  });

  test('a private subnet drops traffic from other subnets except allowSubnets and the nodes', async () => {
    await s.createCr('subnets', 'Subnet', 'secret', {
      cidrBlock: '10.70.0.0/24',
      private: true,
      allowSubnets: ['10.71.0.0/24'],
    });
    await eventually(async () =>
      expect(await acls('secret')).toEqual([
        'to-lport 1000 (ip4.dst == 10.70.0.0/24) drop',
        'to-lport 1001 ((ip4.src == 10.70.0.0/24 || ip4.src == 10.71.0.0/24) && ip4.dst == 10.70.0.0/24) allow-related',
        'to-lport 3000 ((ip4.src == 100.64.0.0/16) && ip4.dst == 10.70.0.0/24) allow-related',
      ]),
    );
    // northd compiled them into logical flows of the switch's ACL stage
    await eventually(async () =>
      expect(
        await s.sbctl('--bare', '--columns=match', 'find', 'Logical_Flow', 'table_id=4', 'pipeline=egress'),
      ).toMatch(/ip4\.dst == 10\.70\.0\.0\/24/),
    );
    // no longer private: the ACLs go; allowSubnets changes follow
    await s.patchCr('subnets', 'secret', { spec: { private: false } });
    await eventually(async () => expect(await acls('secret')).toEqual([]));
  });

  test('fields that are not implemented: a condition and one Warning Event name them; the subnet works as before', async () => {
    type Cond = { type: string; status: string; reason: string; message: string };
    const conditions = async (plural: string, name: string) =>
      ((await s.getCr(plural, name)).status?.conditions ?? []) as Cond[];
    const warnings = async (name: string) =>
      (await s.core.listNamespacedEvent({ namespace: 'default' })).items.filter(
        (e) => e.involvedObject.name === name && e.reason === 'UnsupportedFields',
      );
    await s.createCr('subnets', 'Subnet', 'unsup', {
      cidrBlock: '10.73.0.0/24',
      acls: [{ direction: 'to-lport', priority: 1000, match: 'ip4.src == 10.73.0.9', action: 'drop' }],
      // off defaults, as Kube-OVN writes them out: not reported
      enableDHCP: false,
      vlan: '',
      natOutgoingPolicyRules: [],
    });
    await eventually(async () => {
      const conds = await conditions('subnets', 'unsup');
      expect(conds.map((c) => [c.type, c.status])).toEqual([
        ['Validated', 'True'],
        ['Ready', 'True'],
        ['UnsupportedFields', 'True'],
      ]);
      expect(conds[2]).toMatchObject({
        reason: 'FieldsNotImplemented',
        message: 'not implemented by this controller, ignored: spec.acls',
      });
    });
    expect(await nbctl('ls-list')).toMatch(/\(unsup\)/);
    expect(await acls('unsup')).toEqual([]); // what the condition says: the ACL is not there
    await eventually(async () => expect(await warnings('unsup')).toHaveLength(1));
    // a pod in it: its counters are written again, the condition stays, no second Event
    await s.core.createNamespacedPod({
      namespace: 'default',
      body: pod('unsup-1', { [Ann.logicalSwitch]: 'unsup' }),
    });
    expect((await annotated('unsup-1'))[Ann.ipAddress]).toBe('10.73.0.2');
    await eventually(async () => expect((await s.getCr('subnets', 'unsup')).status?.v4usingIPs).toBe(1));
    expect((await conditions('subnets', 'unsup')).map((c) => c.type)).toContain('UnsupportedFields');
    expect(await warnings('unsup')).toHaveLength(1);
    // another set of fields: the message follows, and one more Event
    await s.patchCr('subnets', 'unsup', { spec: { acls: [], vips: ['10.73.0.100'] } });
    await eventually(async () => {
      expect(
        (await conditions('subnets', 'unsup')).find((c) => c.type === 'UnsupportedFields')?.message,
      ).toBe('not implemented by this controller, ignored: spec.vips');
      expect(await warnings('unsup')).toHaveLength(2);
    });
    // none left: the condition goes, Ready stays
    await s.patchCr('subnets', 'unsup', { spec: { vips: null } });
    await eventually(async () =>
      expect((await conditions('subnets', 'unsup')).map((c) => [c.type, c.status])).toEqual([
        ['Validated', 'True'],
        ['Ready', 'True'],
      ]),
    );
    // an IPPool
    await s.createCr('ippools', 'IPPool', 'aset-pool', {
      subnet: 'ovn-default',
      ips: ['10.16.203.1'],
      enableAddressSet: true,
    });
    await eventually(async () => {
      expect((await conditions('ippools', 'aset-pool')).map((c) => [c.type, c.status, c.message])).toEqual([
        ['Ready', 'True', ''],
        ['UnsupportedFields', 'True', 'not implemented by this controller, ignored: spec.enableAddressSet'],
      ]);
      expect(await warnings('aset-pool')).toHaveLength(1);
    });
  });

  test('an IPPool: pods naming it get its addresses; its status counts them; a bad one gets a condition', async () => {
    await s.createCr('ippools', 'IPPool', 'blue-pool', {
      subnet: 'ovn-default',
      ips: ['10.16.200.10..10.16.200.11'],
    });
    await eventually(async () =>
      expect((await s.getCr('ippools', 'blue-pool')).status).toMatchObject({
        v4AvailableIPs: 2,
        v4UsingIPs: 0,
      }),
    );
    await s.core.createNamespacedPod({
      namespace: 'default',
      body: pod('p1', { [Ann.ipPool]: 'blue-pool' }),
    });
    await s.core.createNamespacedPod({
      namespace: 'default',
      body: pod('p2', { [Ann.ipPool]: 'blue-pool' }),
    });
    const got = [(await annotated('p1'))[Ann.ipAddress], (await annotated('p2'))[Ann.ipAddress]].sort();
    expect(got).toEqual(['10.16.200.10', '10.16.200.11']);
    await eventually(async () =>
      expect((await s.getCr('ippools', 'blue-pool')).status).toMatchObject({
        v4AvailableIPs: 0,
        v4UsingIPs: 2,
      }),
    );
    // exhausted: the third pod gets an Event, not an address from outside the pool
    await s.core.createNamespacedPod({
      namespace: 'default',
      body: pod('p3', { [Ann.ipPool]: 'blue-pool' }),
    });
    await eventually(async () => {
      const events = (await s.core.listNamespacedEvent({ namespace: 'default' })).items;
      expect(events.find((e) => e.involvedObject.name === 'p3')?.message).toMatch(/POOL_EXHAUSTED/);
    });
    // a pool outside its subnet is refused with a condition
    await s.createCr('ippools', 'IPPool', 'bad-pool', { subnet: 'ovn-default', ips: ['192.168.1.1'] });
    await eventually(async () => {
      const conds = (await s.getCr('ippools', 'bad-pool')).status?.conditions as { status: string }[];
      expect(conds?.[0]?.status).toBe('False');
    });
    // unknown pool named by a pod: an Event; creating the pool later serves the pod
    await s.core.createNamespacedPod({
      namespace: 'default',
      body: pod('p4', { [Ann.ipPool]: 'late-pool' }),
    });
    await eventually(async () => {
      const events = (await s.core.listNamespacedEvent({ namespace: 'default' })).items;
      expect(events.find((e) => e.involvedObject.name === 'p4')?.message).toMatch(/late-pool/);
    });
    await s.createCr('ippools', 'IPPool', 'late-pool', { subnet: 'ovn-default', ips: ['10.16.201.0/30'] });
    expect((await annotated('p4'))[Ann.ipAddress]).toMatch(/^10\.16\.201\.[0-3]$/);
  });

  test('an IPPool bound to a namespace: its pods get the pool addresses, the namespace is annotated', async () => {
    await s.createCr('ippools', 'IPPool', 'ns-pool', {
      subnet: 'ovn-default',
      ips: ['10.16.202.5'],
      namespaces: ['pooled'],
    });
    await eventually(async () => {
      const ns = await s.core.readNamespace({ name: 'pooled' });
      expect(ns.metadata?.annotations?.[Ann.ipPool]).toBe('ns-pool');
    });
    await s.core.createNamespacedPod({ namespace: 'pooled', body: pod('q1', {}, 'pooled') });
    expect((await annotated('q1', 'pooled'))[Ann.ipAddress]).toBe('10.16.202.5');
  });

  test('an ip_pool annotation listing addresses: each pod takes the first one free (StatefulSet style)', async () => {
    const list = '10.16.210.5,10.16.210.6';
    await s.core.createNamespacedPod({ namespace: 'sts', body: pod('web-0', { [Ann.ipPool]: list }, 'sts') });
    expect((await annotated('web-0', 'sts'))[Ann.ipAddress]).toBe('10.16.210.5');
    await s.core.createNamespacedPod({ namespace: 'sts', body: pod('web-1', { [Ann.ipPool]: list }, 'sts') });
    expect((await annotated('web-1', 'sts'))[Ann.ipAddress]).toBe('10.16.210.6');
    // a restart changes nothing
    await (await s.restart()).idle();
    expect((await annotated('web-0', 'sts'))[Ann.ipAddress]).toBe('10.16.210.5');
    expect(s.controller.deps.ipam.ownerOfIp('ovn-default', '10.16.210.6')).toBe('web-1.sts');
  });

  test('a secondary network: its own address, IP CR, port and annotations; an unknown one is an Event; removing it releases it', async () => {
    const provider = 'attachnet.default.ovn';
    await s.createCr('subnets', 'Subnet', 'attach-net', { cidrBlock: '172.17.0.0/24', provider });
    await eventually(async () =>
      expect((await s.getCr('subnets', 'attach-net')).spec.gateway).toBe('172.17.0.1'),
    );
    await s.core.createNamespacedPod({
      namespace: 'default',
      body: pod('multi', {
        'k8s.v1.cni.cncf.io/networks': 'attachnet, ghostnet',
        [`${provider}.kubernetes.io/ip_address`]: '172.17.0.50',
      }),
    });
    const a = await annotated('multi');
    expect(a[Ann.logicalSwitch]).toBe('ovn-default');
    expect(a[`${provider}.kubernetes.io/ip_address`]).toBe('172.17.0.50');
    expect(a[`${provider}.kubernetes.io/logical_switch`]).toBe('attach-net');
    expect(a[`${provider}.kubernetes.io/routed`]).toBe('true');
    const lsp = `multi.default.${provider}`;
    expect((await nbctl('lsp-get-addresses', lsp)).split(' ')[1]).toBe('172.17.0.50');
    expect(await nbctl('lsp-get-ls', lsp)).toMatch(/\(attach-net\)/);
    expect((await s.getCr('ips', lsp)).spec).toMatchObject({ subnet: 'attach-net', podName: 'multi' });
    await eventually(async () => {
      const ev = (await s.core.listNamespacedEvent({ namespace: 'default' })).items;
      expect(
        ev.some((e) => e.involvedObject.name === 'multi' && e.reason === 'AttachmentNetworkNotFound'),
      ).toBe(true);
    });
    // the pod drops the network: its port, IP CR and address go
    await s.core.patchNamespacedPod(
      {
        namespace: 'default',
        name: 'multi',
        body: { metadata: { annotations: { 'k8s.v1.cni.cncf.io/networks': null } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually(async () => {
      expect(await nbctl('--if-exists', 'get', 'Logical_Switch_Port', lsp, 'name')).toBe('');
      expect(await s.getCr('ips', lsp).catch(() => 'gone')).toBe('gone');
    });
    expect(s.controller.deps.ipam.ownerOfIp('attach-net', '172.17.0.50')).toBeUndefined();
    await eventually(async () => {
      const left =
        (await s.core.readNamespacedPod({ name: 'multi', namespace: 'default' })).metadata?.annotations ?? {};
      expect(
        Object.keys(left).filter(
          (k) => k.startsWith(`${provider}.kubernetes.io/`) && k !== `${provider}.kubernetes.io/ip_address`,
        ),
      ).toEqual([]);
    });
  });
});
