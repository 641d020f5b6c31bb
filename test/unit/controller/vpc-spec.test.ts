import { describe, expect, test } from 'vitest';
import type { Subnet, Vpc } from '../../../src/controller/k8s/types.ts';
import { formatSubnet } from '../../../src/controller/subnet-spec.ts';
import { planVpc } from '../../../src/controller/vpc-spec.ts';

const vpc = (name: string, spec: Vpc['spec'] = {}): Vpc => ({ metadata: { name }, spec });
const subnet = (name: string, vpcName: string, cidrBlock: string) =>
  formatSubnet({ metadata: { name }, spec: { cidrBlock, vpc: vpcName } } as Subnet, 'ovn-cluster');
const subnets = [
  subnet('a1', 'a', '10.1.0.0/24'),
  subnet('b1', 'b', '10.2.0.0/24'),
  subnet('c1', 'c', '10.1.0.0/24'),
];
const byName = (...vs: Vpc[]) => new Map(vs.map((v) => [v.metadata!.name!, v]));

describe('planVpc', () => {
  test("a peering declared on both sides routes to the peer's subnets through its link address", () => {
    const a = vpc('a', { vpcPeerings: [{ remoteVpc: 'b', localConnectIP: '169.254.0.1/30' }] });
    const b = vpc('b', { vpcPeerings: [{ remoteVpc: 'a', localConnectIP: '169.254.0.2/30' }] });
    const plan = planVpc(a, byName(a, b), subnets);
    expect(plan.invalid).toBeUndefined();
    expect(plan.peerings).toEqual([{ remote: 'b', localConnectIP: '169.254.0.1/30', established: true }]);
    expect(plan.routes).toEqual([
      { policy: 'dst-ip', prefix: '10.2.0.0/24', nexthop: '169.254.0.2', origin: 'peering/b' },
    ]);
  });

  test('declared on one side only: the port is made, no route, a warning says why', () => {
    const a = vpc('a', { vpcPeerings: [{ remoteVpc: 'b', localConnectIP: '169.254.0.1/30' }] });
    const plan = planVpc(a, byName(a, vpc('b')), subnets);
    expect(plan.peerings[0]?.established).toBe(false);
    expect(plan.routes).toEqual([]);
    expect(plan.warnings.map((w) => w.reason)).toEqual(['PeeringPending']);
    expect(planVpc(a, byName(a), subnets).warnings.map((w) => w.reason)).toEqual(['PeerNotFound']);
  });

  test('overlapping CIDRs between peers are reported, not routed; a user route for the same prefix wins', () => {
    const a = vpc('a', {
      vpcPeerings: [
        { remoteVpc: 'c', localConnectIP: '169.254.1.1/30' },
        { remoteVpc: 'b', localConnectIP: '169.254.0.1/30' },
      ],
      staticRoutes: [{ policy: 'policyDst', cidr: '10.2.0.0/24', nextHopIP: '169.254.0.2' }],
    });
    const b = vpc('b', { vpcPeerings: [{ remoteVpc: 'a', localConnectIP: '169.254.0.2/30' }] });
    const c = vpc('c', { vpcPeerings: [{ remoteVpc: 'a', localConnectIP: '169.254.1.2/30' }] });
    const plan = planVpc(a, byName(a, b, c), subnets);
    expect(plan.warnings.map((w) => w.reason)).toEqual(['PeeringOverlap']);
    expect(plan.routes).toEqual([
      { policy: 'dst-ip', prefix: '10.2.0.0/24', nexthop: '169.254.0.2', origin: 'user' },
    ]);
  });

  test('static routes and policies as written; bad ones make the Vpc invalid with a reason', () => {
    const ok = vpc('a', {
      staticRoutes: [{ policy: 'policySrc', cidr: '10.1.0.0/25', nextHopIP: '10.1.0.254' }],
      policyRoutes: [
        { priority: 1000, match: 'ip4.dst == 10.1.0.9', action: 'drop' },
        { priority: 900, match: 'ip4.src == 10.1.0.0/24', action: 'reroute', nextHopIP: '10.1.0.253' },
      ],
    });
    const plan = planVpc(ok, byName(ok), subnets);
    expect(plan.routes).toEqual([
      { policy: 'src-ip', prefix: '10.1.0.0/25', nexthop: '10.1.0.254', origin: 'user' },
    ]);
    expect(plan.policies.map((p) => [p.priority, p.action, p.nexthops])).toEqual([
      [1000, 'drop', []],
      [900, 'reroute', ['10.1.0.253']],
    ]);
    const cases: [Vpc['spec'], string][] = [
      [{ staticRoutes: [{ cidr: '10.9.0.0/24', nextHopIP: '192.168.7.1' }] }, 'InvalidStaticRoute'],
      [{ staticRoutes: [{ cidr: 'nope', nextHopIP: '10.1.0.1' }] }, 'InvalidStaticRoute'],
      [{ policyRoutes: [{ priority: 40000, match: 'ip', action: 'drop' }] }, 'InvalidPolicyRoute'],
      [{ policyRoutes: [{ priority: 1, match: 'ip', action: 'reroute' }] }, 'InvalidPolicyRoute'],
      [{ vpcPeerings: [{ remoteVpc: 'a', localConnectIP: '169.254.0.1/30' }] }, 'InvalidPeering'],
      [{ vpcPeerings: [{ remoteVpc: 'b', localConnectIP: 'x' }] }, 'InvalidPeering'],
    ];
    for (const [spec, reason] of cases)
      expect(planVpc(vpc('a', spec), byName(), subnets).invalid?.reason).toBe(reason);
  });
});
