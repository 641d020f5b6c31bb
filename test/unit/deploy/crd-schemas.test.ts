// The kubeovn.io CRD schemas, through the same prune/default/validate code the embedded API server runs:
// every example in deploy/examples, the custom resources the tests create, and what the controller itself
// writes (formatted Subnet specs, IP CRs, the default subnets) are accepted; malformed objects are refused
// naming the field.
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readManifests } from '../../../src/apiserver/manifests.ts';
import { CrdSchema, type Schema, structuralProblems } from '../../../src/apiserver/schema.ts';
import type { KObject } from '../../../src/apiserver/types.ts';
import { ipRecord } from '../../../src/controller/allocation.ts';
import { DEFAULTS } from '../../../src/controller/config.ts';
import type { Subnet } from '../../../src/controller/k8s/types.ts';
import { formatSubnet } from '../../../src/controller/subnet-spec.ts';

const deploy = join(import.meta.dirname, '../../../deploy');
const crds = readManifests(join(deploy, 'crds'));

interface CrdSpec {
  names: { kind: string };
  versions: { storage: boolean; schema: { openAPIV3Schema: Schema } }[];
}

function schemaOf(kind: string): CrdSchema {
  const spec = crds.map((c) => c.spec as CrdSpec).find((s) => s.names.kind === kind);
  if (!spec) throw new Error(`no CRD of kind ${kind}`);
  return new CrdSchema(spec.versions.find((v) => v.storage)!.schema.openAPIV3Schema);
}

const schemas = {
  Subnet: schemaOf('Subnet'),
  IP: schemaOf('IP'),
  IPPool: schemaOf('IPPool'),
  Vpc: schemaOf('Vpc'),
};
type Kind = keyof typeof schemas;

/** The causes a real server would answer a create with (after pruning and defaulting, as it does). */
function admit(kind: Kind, spec: unknown, extra: Record<string, unknown> = {}) {
  const obj: Record<string, unknown> = {
    apiVersion: 'kubeovn.io/v1',
    kind,
    metadata: { name: 'x' },
    spec: structuredClone(spec),
    ...extra,
  };
  const unknown = schemas[kind].normalize(obj);
  return { causes: schemas[kind].validate(obj), unknown, obj };
}

test('the CRDs are structural', () => {
  expect(crds.map((c) => c.metadata.name).sort()).toEqual([
    'ippools.kubeovn.io',
    'ips.kubeovn.io',
    'provider-networks.kubeovn.io',
    'subnets.kubeovn.io',
    'vlans.kubeovn.io',
    'vpcs.kubeovn.io',
  ]);
  for (const crd of crds) {
    for (const v of (crd.spec as { versions: { schema: { openAPIV3Schema: unknown } }[] }).versions) {
      expect(structuralProblems(v.schema.openAPIV3Schema)).toEqual([]);
    }
  }
});

describe('accepted', () => {
  test('every custom resource in deploy/examples', () => {
    const examples = readManifests(join(deploy, 'examples')).filter((o: KObject) =>
      String(o.apiVersion).startsWith('kubeovn.io/'),
    );
    expect(examples.length).toBeGreaterThan(0);
    for (const o of examples) {
      const r = admit(o.kind as Kind, o.spec);
      expect({ name: o.metadata.name, causes: r.causes, unknown: r.unknown }).toEqual({
        name: o.metadata.name,
        causes: [],
        unknown: [],
      });
    }
  });

  // The specs the test suites create (file named), so a schema change that would refuse one fails here first.
  const fixtures: [string, Kind, unknown][] = [
    ['controller.test blue', 'Subnet', { cidrBlock: '10.66.0.5/24', namespaces: ['ns1'] }],
    ['controller.test badgw', 'Subnet', { cidrBlock: '10.77.0.0/24', gateway: '10.78.0.1' }],
    ['controller.test default', 'Subnet', { cidrBlock: '10.16.0.0/16', excludeIps: ['10.16.0.1'] }],
    [
      'subnet-features.test secret',
      'Subnet',
      { cidrBlock: '10.70.0.0/24', private: true, allowSubnets: ['10.71.0.0/24'] },
    ],
    ['vpcs.test a-net', 'Subnet', { cidrBlock: '10.100.0.0/24', vpc: 'vpc-a' }],
    [
      'kubectl.test tenant-a-net',
      'Subnet',
      {
        vpc: 'tenant-a',
        cidrBlock: '10.0.1.0/24',
        gateway: '10.0.1.1',
        excludeIps: ['10.0.1.1..10.0.1.10'],
        namespaces: ['tenant-a'],
        gatewayType: 'distributed',
        natOutgoing: false,
        protocol: 'IPv4',
      },
    ],
    ['client-crud.test s1', 'Subnet', { cidrBlock: '10.1.0.0/16', natOutgoing: true }],
    [
      'dual stack',
      'Subnet',
      { cidrBlock: '10.16.3.4/16,FD00:10:16::7/112', gateway: '10.16.0.1,fd00:10:16::1' },
    ],
    ['v6 only', 'Subnet', { cidrBlock: 'fd00::/64', excludeIps: ['fd00::9', 'fd00::20..fd00::30'] }],
    ['bench', 'Subnet', { cidrBlock: '10.101.196.0/22', namespaces: ['ns49'] }],
    [
      'subnet-features.test blue-pool',
      'IPPool',
      { subnet: 'ovn-default', ips: ['10.16.200.10..10.16.200.11'] },
    ],
    ['subnet-features.test bad-pool', 'IPPool', { subnet: 'ovn-default', ips: ['192.168.1.1'] }],
    ['subnet-features.test late-pool', 'IPPool', { subnet: 'ovn-default', ips: ['10.16.201.0/30'] }],
    [
      'subnet-features.test ns-pool',
      'IPPool',
      { subnet: 'ovn-default', ips: ['10.16.202.5'], namespaces: ['pooled'] },
    ],
    ['lifecycle.test', 'IP', { podName: 'p' }],
    ['client-crud.test v1', 'Vpc', { namespaces: ['a'] }],
    ['vpcs.test vpc-a', 'Vpc', {}],
    ['vpcs.test peering', 'Vpc', { vpcPeerings: [{ remoteVpc: 'vpc-c', localConnectIP: '169.254.0.1/30' }] }],
    [
      'vpcs.test routes',
      'Vpc',
      {
        staticRoutes: [{ policy: 'policyDst', cidr: '192.168.50.0/24', nextHopIP: '10.100.0.254' }],
        policyRoutes: [{ priority: 1000, match: 'ip4.dst == 10.100.0.9', action: 'drop' }],
      },
    ],
    [
      'kubectl.test tenant-a',
      'Vpc',
      {
        namespaces: ['tenant-a'],
        staticRoutes: [{ cidr: '0.0.0.0/0', nextHopIP: '10.0.1.254', policy: 'policyDst' }],
      },
    ],
  ];
  test.each(fixtures)('%s (%s)', (_name, kind, spec) => {
    const r = admit(kind, spec);
    expect(r.causes).toEqual([]);
    expect(r.unknown).toEqual([]);
  });

  test('statuses the controller writes', () => {
    const subnetStatus = {
      v4availableIPs: 253,
      v4usingIPs: 1,
      v4availableIPrange: '10.66.0.2-10.66.0.254',
      v4usingIPrange: '10.66.0.5',
      v6availableIPs: 0,
      v6usingIPs: 0,
      v6availableIPrange: '',
      v6usingIPrange: '',
      conditions: [
        {
          type: 'Validated',
          status: 'True',
          reason: 'ValidatedSuccessfully',
          message: '',
          lastTransitionTime: '2026-01-01T00:00:00.000Z',
          lastUpdateTime: '2026-01-01T00:00:00.000Z',
        },
      ],
    };
    const s = admit('Subnet', { cidrBlock: '10.66.0.0/24' }, { status: subnetStatus });
    expect([s.causes, s.unknown]).toEqual([[], []]);
    const poolStatus = {
      v4AvailableIPs: 2,
      v4UsingIPs: 0,
      v4AvailableIPRange: '10.16.200.10-10.16.200.11',
      v4UsingIPRange: '',
      v6AvailableIPs: 0,
      v6UsingIPs: 0,
      v6AvailableIPRange: '',
      v6UsingIPRange: '',
      conditions: [{ type: 'Ready', status: 'True', reason: 'Reconciled', message: '' }],
    };
    const p = admit('IPPool', { subnet: 'ovn-default', ips: ['10.16.200.10'] }, { status: poolStatus });
    expect([p.causes, p.unknown]).toEqual([[], []]);
    const vpcStatus = {
      default: true,
      standby: true,
      router: 'ovn-cluster',
      defaultLogicalSwitch: 'ovn-default',
      subnets: ['join', 'ovn-default'],
      conditions: [{ type: 'Ready', status: 'True', reason: 'Reconciled', message: '' }],
    };
    const v = admit('Vpc', {}, { status: vpcStatus });
    expect([v.causes, v.unknown]).toEqual([[], []]);
  });

  test('the default subnets, their formatted specs and the IP CRs the controller writes', () => {
    const made: Subnet[] = [
      {
        metadata: { name: DEFAULTS.defaultSubnet.name },
        spec: { cidrBlock: DEFAULTS.defaultSubnet.cidr, excludeIps: [], default: true, vpc: 'ovn-cluster' },
      },
      {
        metadata: { name: DEFAULTS.joinSubnet.name },
        spec: { cidrBlock: DEFAULTS.joinSubnet.cidr, vpc: 'ovn-cluster' },
      },
      { metadata: { name: 'dual' }, spec: { cidrBlock: '10.9.0.7/24,fd00:9::3/120' } },
      { metadata: { name: 'host' }, spec: { cidrBlock: '10.0.0.9/32' } },
    ];
    for (const s of made) {
      expect(admit('Subnet', s.spec).causes).toEqual([]);
      const f = formatSubnet(s, 'ovn-cluster');
      const formatted = {
        ...s.spec,
        cidrBlock: f.cidrBlock,
        gateway: f.gateway,
        protocol: f.protocol,
        vpc: f.vpc,
        excludeIps: f.excludeIps,
      };
      expect({ subnet: s.metadata!.name, causes: admit('Subnet', formatted).causes }).toEqual({
        subnet: s.metadata!.name,
        causes: [],
      });
    }
    const pod = ipRecord(
      'web.default',
      {
        subnet: 'ovn-default',
        owner: 'web.default',
        ipv4: '10.16.0.5',
        ipv6: 'fd00:10:16::5',
        ipAddress: '10.16.0.5,fd00:10:16::5',
        mac: '0a:58:0a:10:00:05',
      },
      { podName: 'web', namespace: 'default', nodeName: 'node1' },
    );
    const node = ipRecord(
      'node-node1',
      {
        subnet: 'join',
        owner: 'node-node1',
        ipv4: '100.64.0.2',
        ipv6: undefined,
        ipAddress: '100.64.0.2',
        mac: '0A:58:64:40:00:02',
      },
      { podName: 'node1', namespace: '', nodeName: 'node1' },
    );
    for (const ip of [pod, node]) expect(admit('IP', ip.spec).causes).toEqual([]);
  });

  test('defaults are filled in: gatewayType, a static route policy, an IPPool address set', () => {
    expect(admit('Subnet', { cidrBlock: '10.1.0.0/24' }).obj.spec).toEqual({
      cidrBlock: '10.1.0.0/24',
      gatewayType: 'distributed',
    });
    expect(admit('Vpc', { staticRoutes: [{ cidr: '0.0.0.0/0', nextHopIP: '10.0.0.1' }] }).obj.spec).toEqual({
      staticRoutes: [{ cidr: '0.0.0.0/0', nextHopIP: '10.0.0.1', policy: 'policyDst' }],
    });
    expect(admit('IPPool', { subnet: 's', ips: ['10.0.0.1'] }).obj.spec).toMatchObject({
      enableAddressSet: false,
    });
  });
});

describe('refused, naming the field', () => {
  const cases: [string, Kind, unknown, string][] = [
    ['a prefix longer than 32', 'Subnet', { cidrBlock: '10.0.0.0/33' }, 'spec.cidrBlock'],
    ['an octet above 255', 'Subnet', { cidrBlock: '10.0.0.300/24' }, 'spec.cidrBlock'],
    ['a CIDR without prefix', 'Subnet', { cidrBlock: '10.0.0.0' }, 'spec.cidrBlock'],
    ['three CIDRs', 'Subnet', { cidrBlock: '10.0.0.0/24,fd00::/64,fd01::/64' }, 'spec.cidrBlock'],
    ['not an address at all', 'Subnet', { cidrBlock: 'ten/8' }, 'spec.cidrBlock'],
    ['no cidrBlock', 'Subnet', { namespaces: ['a'] }, 'spec.cidrBlock'],
    [
      'gateway type outside the enum',
      'Subnet',
      { cidrBlock: '10.0.0.0/24', gatewayType: 'sideways' },
      'spec.gatewayType',
    ],
    [
      'a negative vlan id where a Vlan name goes',
      'Subnet',
      { cidrBlock: '10.0.0.0/24', vlan: '-1' },
      'spec.vlan',
    ],
    ['a negative MTU', 'Subnet', { cidrBlock: '10.0.0.0/24', mtu: -1 }, 'spec.mtu'],
    ['an MTU below IPv4 minimum', 'Subnet', { cidrBlock: '10.0.0.0/24', mtu: 67 }, 'spec.mtu'],
    ['a bad gateway', 'Subnet', { cidrBlock: '10.0.0.0/24', gateway: '10.0.0.256' }, 'spec.gateway'],
    [
      'a range with three dots',
      'Subnet',
      { cidrBlock: '10.0.0.0/24', excludeIps: ['10.0.0.1...10.0.0.2'] },
      'spec.excludeIps[0]',
    ],
    [
      'a protocol outside the enum',
      'Subnet',
      { cidrBlock: '10.0.0.0/24', protocol: 'IPv5' },
      'spec.protocol',
    ],
    [
      'an ACL priority below 0',
      'Subnet',
      { cidrBlock: '10.0.0.0/24', acls: [{ priority: -1 }] },
      'spec.acls[0].priority',
    ],
    [
      'a namespace name in capitals',
      'Subnet',
      { cidrBlock: '10.0.0.0/24', namespaces: ['Blue'] },
      'spec.namespaces[0]',
    ],
    [
      'a routing table below 0',
      'Subnet',
      { cidrBlock: '10.0.0.0/24', policyRoutingTableID: -5 },
      'spec.policyRoutingTableID',
    ],
    ['an IPPool without ips', 'IPPool', { subnet: 'ovn-default' }, 'spec.ips'],
    ['an IPPool with no address', 'IPPool', { subnet: 'ovn-default', ips: [] }, 'spec.ips'],
    ['an IPPool range with a dash', 'IPPool', { subnet: 's', ips: ['10.0.0.1-10.0.0.5'] }, 'spec.ips[0]'],
    ['an IP with a malformed MAC', 'IP', { macAddress: 'zz:00:00:00:00:01' }, 'spec.macAddress'],
    ['an IP with a v6 address as v4', 'IP', { v4IpAddress: 'fd00::1' }, 'spec.v4IpAddress'],
    ['an IP pod type outside the enum', 'IP', { podType: 'Deployment' }, 'spec.podType'],
    [
      'a static route next hop above 255',
      'Vpc',
      { staticRoutes: [{ cidr: '0.0.0.0/0', nextHopIP: '10.0.0.256' }] },
      'spec.staticRoutes[0].nextHopIP',
    ],
    [
      'a static route policy outside the enum',
      'Vpc',
      { staticRoutes: [{ cidr: '0.0.0.0/0', nextHopIP: '10.0.0.1', policy: 'any' }] },
      'spec.staticRoutes[0].policy',
    ],
    [
      'a policy route priority below 0',
      'Vpc',
      { policyRoutes: [{ priority: -1, match: 'ip4', action: 'drop' }] },
      'spec.policyRoutes[0].priority',
    ],
    [
      'a policy route action outside the enum',
      'Vpc',
      { policyRoutes: [{ priority: 1, match: 'ip4', action: 'nat' }] },
      'spec.policyRoutes[0].action',
    ],
    [
      'a peering address without prefix',
      'Vpc',
      { vpcPeerings: [{ remoteVpc: 'b', localConnectIP: '169.254.0.1' }] },
      'spec.vpcPeerings[0].localConnectIP',
    ],
  ];
  test.each(cases)('%s', (_name, kind, spec, field) => {
    expect(admit(kind, spec).causes.map((c) => c.field)).toEqual([field]);
  });

  test("the wording is kube-openapi's", () => {
    const [bad] = admit('Subnet', { cidrBlock: '10.0.0.0/33' }).causes;
    expect(bad?.message).toMatch(
      /^Invalid value: "10\.0\.0\.0\/33": spec\.cidrBlock in body should match '\^/,
    );
    const [gw] = admit('Subnet', { cidrBlock: '10.0.0.0/24', gatewayType: 'sideways' }).causes;
    expect(gw?.message).toBe('Unsupported value: "sideways": supported values: "distributed", "centralized"');
  });
});
