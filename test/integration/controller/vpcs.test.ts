// VPCs against real NB/SB and ovn-northd: a router per VPC, subnets on it with CIDRs that may overlap other
// VPCs', peering ports and the routes peering makes once both sides declare it, user routes and policies,
// and the refusals (invalid routes, a VPC with subnets, a subnet of a missing VPC), and the condition naming
// the fields that are not implemented.
import { describe, expect, test } from 'vitest';
import { Ann } from '../../../src/controller/k8s/annotations.ts';
import { eventually } from '../helpers.ts';
import { crd, pod, useControllerStack } from './harness.ts';

const s = useControllerStack();
const { nbctl, annotated } = s;

const condition = async (plural: string, name: string, type: string) =>
  (
    (await s.getCr(plural, name)).status?.conditions as
      | { type: string; status: string; reason: string }[]
      | undefined
  )?.find((c) => c.type === type);
const routes = async (router: string) => (await nbctl('lr-route-list', router)).replace(/\s+/g, ' ');

describe('VPCs', () => {
  test('custom VPCs get their own router; subnets with overlapping CIDRs live in different VPCs', async () => {
    await s.createCr('vpcs', 'Vpc', 'vpc-a', {});
    await s.createCr('vpcs', 'Vpc', 'vpc-b', {});
    await s.createCr('subnets', 'Subnet', 'a-net', { cidrBlock: '10.100.0.0/24', vpc: 'vpc-a' });
    await s.createCr('subnets', 'Subnet', 'b-net', { cidrBlock: '10.100.0.0/24', vpc: 'vpc-b' });
    await eventually(async () => {
      expect(await nbctl('get', 'Logical_Router_Port', 'vpc-a-a-net', 'networks')).toBe('["10.100.0.1/24"]');
      expect(await nbctl('get', 'Logical_Router_Port', 'vpc-b-b-net', 'networks')).toBe('["10.100.0.1/24"]');
    });
    expect(await nbctl('lsp-get-type', 'a-net-vpc-a')).toBe('router');
    await s.core.createNamespacedPod({
      namespace: 'default',
      body: pod('pa', { [Ann.logicalSwitch]: 'a-net' }),
    });
    await s.core.createNamespacedPod({
      namespace: 'default',
      body: pod('pb', { [Ann.logicalSwitch]: 'b-net' }),
    });
    const [a, b] = [await annotated('pa'), await annotated('pb')];
    expect([a[Ann.ipAddress], a[Ann.logicalRouter]]).toEqual(['10.100.0.2', 'vpc-a']);
    expect([b[Ann.ipAddress], b[Ann.logicalRouter]]).toEqual(['10.100.0.2', 'vpc-b']);
    await eventually(async () =>
      expect((await s.getCr('vpcs', 'vpc-a')).status).toMatchObject({
        router: 'vpc-a',
        subnets: ['a-net'],
        default: false,
      }),
    );
    // northd bound both pods' ports
    await eventually(async () =>
      expect(
        await s.sbctl('--bare', '--columns=logical_port', 'find', 'Port_Binding', 'logical_port=pb.default'),
      ).toBe('pb.default'),
    );
  });

  test("peering: a port on each side at once; routes to the peer's subnets once both declare it; removing it cuts them", async () => {
    await s.createCr('vpcs', 'Vpc', 'vpc-c', {});
    await s.createCr('subnets', 'Subnet', 'c-net', { cidrBlock: '10.200.0.0/24', vpc: 'vpc-c' });
    await s.patchCr('vpcs', 'vpc-a', {
      spec: { vpcPeerings: [{ remoteVpc: 'vpc-c', localConnectIP: '169.254.0.1/30' }] },
    });
    await eventually(async () => {
      expect(await nbctl('get', 'Logical_Router_Port', 'vpc-a-vpc-c', 'peer')).toBe('vpc-c-vpc-a');
      expect((await condition('vpcs', 'vpc-a', 'PeeringReady'))?.reason).toBe('PeeringPending');
    });
    expect(await routes('vpc-a')).not.toMatch(/10\.200\.0\.0/);

    await s.patchCr('vpcs', 'vpc-c', {
      spec: { vpcPeerings: [{ remoteVpc: 'vpc-a', localConnectIP: '169.254.0.2/30' }] },
    });
    await eventually(async () => {
      expect(await routes('vpc-a')).toMatch(/10\.200\.0\.0\/24 169\.254\.0\.2 dst-ip/);
      expect(await routes('vpc-c')).toMatch(/10\.100\.0\.0\/24 169\.254\.0\.1 dst-ip/);
      expect((await s.getCr('vpcs', 'vpc-a')).status?.vpcPeerings).toEqual(['vpc-c']);
    });
    // a subnet added to the peer is routed too
    await s.createCr('subnets', 'Subnet', 'c-net2', { cidrBlock: '10.201.0.0/24', vpc: 'vpc-c' });
    await eventually(async () =>
      expect(await routes('vpc-a')).toMatch(/10\.201\.0\.0\/24 169\.254\.0\.2 dst-ip/),
    );

    await s.patchCr('vpcs', 'vpc-a', { spec: { vpcPeerings: null } });
    await eventually(async () => {
      expect(await nbctl('--if-exists', 'get', 'Logical_Router_Port', 'vpc-a-vpc-c', 'name')).toBe('');
      expect(await routes('vpc-a')).not.toMatch(/169\.254/);
      expect(await routes('vpc-c')).not.toMatch(/169\.254/);
    });
  });

  test('user static routes and policies are written; an invalid one is refused with a condition and an Event', async () => {
    await s.patchCr('vpcs', 'vpc-a', {
      spec: {
        staticRoutes: [{ policy: 'policyDst', cidr: '192.168.50.0/24', nextHopIP: '10.100.0.254' }],
        policyRoutes: [{ priority: 1000, match: 'ip4.dst == 10.100.0.9', action: 'drop' }],
      },
    });
    await eventually(async () => {
      expect(await routes('vpc-a')).toMatch(/192\.168\.50\.0\/24 10\.100\.0\.254 dst-ip/);
      expect((await nbctl('lr-policy-list', 'vpc-a')).replace(/\s+/g, ' ')).toMatch(
        /1000 ip4\.dst == 10\.100\.0\.9 drop/,
      );
    });
    await s.patchCr('vpcs', 'vpc-b', {
      spec: { staticRoutes: [{ policy: 'policyDst', cidr: '192.168.60.0/24', nextHopIP: '172.31.9.9' }] },
    });
    await eventually(async () => {
      expect(await condition('vpcs', 'vpc-b', 'Ready')).toMatchObject({
        status: 'False',
        reason: 'InvalidStaticRoute',
      });
      const events = (await s.core.listNamespacedEvent({ namespace: 'default' })).items;
      expect(events.some((e) => e.involvedObject.name === 'vpc-b' && e.reason === 'InvalidStaticRoute')).toBe(
        true,
      );
    });
    expect(await routes('vpc-b')).not.toMatch(/192\.168\.60/);
  });

  test("a VPC bound to a namespace: its pods get the VPC's default subnet", async () => {
    await s.core.createNamespace({ body: { metadata: { name: 'tenant-a' } } });
    await s.patchCr('vpcs', 'vpc-a', { spec: { namespaces: ['tenant-a'], defaultSubnet: 'a-net' } });
    await eventually(async () =>
      expect((await s.getCr('vpcs', 'vpc-a')).status?.defaultLogicalSwitch).toBe('a-net'),
    );
    await s.core.createNamespacedPod({ namespace: 'tenant-a', body: pod('t1', {}, 'tenant-a') });
    const a = await annotated('t1', 'tenant-a');
    expect([a[Ann.logicalSwitch], a[Ann.logicalRouter]]).toEqual(['a-net', 'vpc-a']);
  });

  test('a subnet of a VPC that does not exist waits with a condition, and is made when the VPC comes', async () => {
    await s.createCr('subnets', 'Subnet', 'd-net', { cidrBlock: '10.150.0.0/24', vpc: 'vpc-d' });
    await eventually(async () =>
      expect(await condition('subnets', 'd-net', 'Validated')).toMatchObject({
        status: 'False',
        reason: 'VpcNotFound',
      }),
    );
    await s.createCr('vpcs', 'Vpc', 'vpc-d', {});
    await eventually(async () =>
      expect(await nbctl('get', 'Logical_Router_Port', 'vpc-d-d-net', 'networks')).toBe('["10.150.0.1/24"]'),
    );
  });

  test('a subnet of a VPC that is refused says so in its status (Ready=False VpcNotReady), not only in retries', async () => {
    await s.createCr('vpcs', 'Vpc', 'vpc-bad', {
      staticRoutes: [{ cidr: '0.0.0.0/0', nextHopIP: '192.0.2.1' }],
    });
    await s.createCr('subnets', 'Subnet', 'bad-net', { cidrBlock: '10.151.0.0/24', vpc: 'vpc-bad' });
    await eventually(async () =>
      expect(await condition('subnets', 'bad-net', 'Ready')).toMatchObject({
        status: 'False',
        reason: 'VpcNotReady',
      }),
    );
    expect(await nbctl('--bare', '--columns=name', 'find', 'Logical_Switch', 'name=bad-net')).toBe('');
    await s.custom.deleteClusterCustomObject({ ...crd('subnets'), name: 'bad-net' });
    await s.custom.deleteClusterCustomObject({ ...crd('vpcs'), name: 'vpc-bad' });
    await eventually(async () => expect(await s.getCr('vpcs', 'vpc-bad').catch(() => 'gone')).toBe('gone'));
  });

  test('a pod that asks for a subnet before it is valid gets its address once it is', async () => {
    await s.core.createNamespacedPod({
      namespace: 'default',
      body: pod('early', { [Ann.logicalSwitch]: 'e-net' }),
    });
    await s.createCr('subnets', 'Subnet', 'e-net', { cidrBlock: '10.160.0.0/24', vpc: 'vpc-e' });
    await s.createCr('vpcs', 'Vpc', 'vpc-e', {});
    expect((await annotated('early'))[Ann.logicalSwitch]).toBe('e-net');
  });

  test('fields that are not implemented: a condition and one Warning Event name them; routes are applied as before', async () => {
    await s.createCr('vpcs', 'Vpc', 'vpc-f', {
      enableBfd: true,
      enableExternal: false, // an off default: not reported
      staticRoutes: [
        {
          policy: 'policyDst',
          cidr: '192.168.70.0/24',
          nextHopIP: '10.170.0.254',
          bfdId: 'b1',
          ecmpMode: '',
        },
      ],
    });
    await s.createCr('subnets', 'Subnet', 'f-net', { cidrBlock: '10.170.0.0/24', vpc: 'vpc-f' });
    await eventually(async () => {
      expect(await routes('vpc-f')).toMatch(/192\.168\.70\.0\/24 10\.170\.0\.254 dst-ip/);
      expect(await condition('vpcs', 'vpc-f', 'Ready')).toMatchObject({ status: 'True' });
      expect(await condition('vpcs', 'vpc-f', 'UnsupportedFields')).toMatchObject({
        status: 'True',
        reason: 'FieldsNotImplemented',
        message: 'not implemented by this controller, ignored: spec.enableBfd, spec.staticRoutes[0].bfdId',
      });
    });
    const warnings = async () =>
      (await s.core.listNamespacedEvent({ namespace: 'default' })).items.filter(
        (e) => e.involvedObject.name === 'vpc-f' && e.reason === 'UnsupportedFields',
      );
    await eventually(async () => expect(await warnings()).toHaveLength(1));
    // another reconcile (a subnet more in the VPC): the condition stays, no second Event
    await s.createCr('subnets', 'Subnet', 'f-net2', { cidrBlock: '10.171.0.0/24', vpc: 'vpc-f' });
    await eventually(async () =>
      expect((await s.getCr('vpcs', 'vpc-f')).status?.subnets).toEqual(['f-net', 'f-net2']),
    );
    expect(await condition('vpcs', 'vpc-f', 'UnsupportedFields')).toMatchObject({ status: 'True' });
    expect(await warnings()).toHaveLength(1);
    // none left: the condition goes
    await s.patchCr('vpcs', 'vpc-f', {
      spec: {
        enableBfd: false,
        staticRoutes: [{ policy: 'policyDst', cidr: '192.168.70.0/24', nextHopIP: '10.170.0.254' }],
      },
    });
    await eventually(async () =>
      expect(await condition('vpcs', 'vpc-f', 'UnsupportedFields')).toBeUndefined(),
    );
  });

  test('a VPC with subnets is not deleted: a condition says why; once its subnets are gone, so is its router', async () => {
    await s.custom.deleteClusterCustomObject({ ...crd('vpcs'), name: 'vpc-d' });
    await eventually(async () =>
      expect(await condition('vpcs', 'vpc-d', 'Ready')).toMatchObject({
        status: 'False',
        reason: 'SubnetsExist',
      }),
    );
    expect(await nbctl('--bare', '--columns=name', 'find', 'Logical_Router', 'name=vpc-d')).toBe('vpc-d');
    await s.custom.deleteClusterCustomObject({ ...crd('subnets'), name: 'd-net' });
    await eventually(async () => {
      expect(await s.getCr('vpcs', 'vpc-d').catch(() => 'gone')).toBe('gone');
      expect(await nbctl('--bare', '--columns=name', 'find', 'Logical_Router', 'name=vpc-d')).toBe('');
    }, 15_000);
  });
});
