import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readManifests } from '../../../src/apiserver/manifests.ts';
import { CrdSchema, type Schema } from '../../../src/apiserver/schema.ts';
import {
  UNIMPLEMENTED_IPPOOL_FIELDS,
  UNIMPLEMENTED_PROVIDER_NETWORK_FIELDS,
  UNIMPLEMENTED_SUBNET_FIELDS,
  UNIMPLEMENTED_VPC_FIELDS,
  UNIMPLEMENTED_VPC_STATIC_ROUTE_FIELDS,
  unimplementedIpPoolFields,
  unimplementedSubnetFields,
  unimplementedVpcFields,
} from '../../../src/controller/unimplemented.ts';

const crds = readManifests(join(import.meta.dirname, '../../../deploy/crds'));

function openApiOf(kind: string): Schema {
  const spec = crds
    .map(
      (c) =>
        c.spec as {
          names: { kind: string };
          versions: { storage: boolean; schema: { openAPIV3Schema: Schema } }[];
        },
    )
    .find((s) => s.names.kind === kind)!;
  return spec.versions.find((v) => v.storage)!.schema.openAPIV3Schema;
}
const props = (s: Schema | undefined) => (s?.properties ?? {}) as Record<string, Schema>;
const specFields = (kind: string) => Object.keys(props(props(openApiOf(kind)).spec)).sort();

/** A spec as the embedded API server stores it: pruned and defaulted by the CRD's schema. */
function admitted(kind: string, spec: Record<string, unknown>): unknown {
  const obj: Record<string, unknown> = { apiVersion: 'kubeovn.io/v1', kind, metadata: { name: 'x' }, spec };
  new CrdSchema(openApiOf(kind)).normalize(obj);
  return obj.spec;
}

// What each kind implements (read from subnet-spec.ts, subnets.ts, egress.ts, pods.ts, the daemon's MTU
// and NAT, vpc-spec.ts, ippools.ts), plus the fields left out on purpose (see unimplemented.ts).
const IMPLEMENTED = {
  Subnet: [
    'cidrBlock',
    'gateway',
    'excludeIps',
    'vpc',
    'protocol',
    'namespaces',
    'provider',
    'private',
    'allowSubnets',
    'gatewayType',
    'gatewayNode',
    'natOutgoing',
    'mtu',
    'enableLb',
    // underlay (src/controller/underlay-subnet.ts, src/daemon/provider-network.ts)
    'vlan',
    'logicalGateway',
    'u2oInterconnection',
    'u2oInterconnectionIP',
    'disableGatewayCheck',
    // what it asks for already holds: no interconnection
    'disableInterConnection',
    // implemented in the default VPC; outside it, listed with a condition of its own
    'default',
  ],
  Vpc: ['defaultSubnet', 'namespaces', 'staticRoutes', 'policyRoutes', 'vpcPeerings'],
  IPPool: ['subnet', 'namespaces', 'ips'],
  ProviderNetwork: ['defaultInterface', 'customInterfaces', 'nodeSelector', 'excludeNodes'],
};

describe('every spec field of the CRDs is either implemented or listed as not', () => {
  const cases: [string, readonly { field: string }[]][] = [
    ['Subnet', UNIMPLEMENTED_SUBNET_FIELDS],
    ['Vpc', UNIMPLEMENTED_VPC_FIELDS],
    ['IPPool', UNIMPLEMENTED_IPPOOL_FIELDS],
    ['ProviderNetwork', UNIMPLEMENTED_PROVIDER_NETWORK_FIELDS],
  ];
  for (const [kind, table] of cases)
    test(kind, () => {
      const listed = table.map((u) => u.field).filter((f) => f !== 'default');
      const implemented = IMPLEMENTED[kind as keyof typeof IMPLEMENTED];
      expect(listed.filter((f) => implemented.includes(f))).toEqual([]);
      expect([...implemented, ...listed].sort()).toEqual(specFields(kind));
    });

  test('Vpc staticRoutes items', () => {
    const item = props(props(props(openApiOf('Vpc')).spec).staticRoutes?.items as Schema);
    const listed = UNIMPLEMENTED_VPC_STATIC_ROUTE_FIELDS.map((u) => u.field);
    expect([...listed, 'policy', 'cidr', 'nextHopIP'].sort()).toEqual(Object.keys(item).sort());
  });
});

describe('Subnet', () => {
  test('off defaults, as Kube-OVN writes them out, are not reported', () => {
    expect(
      unimplementedSubnetFields({
        cidrBlock: '10.16.0.0/16',
        default: false,
        gatewayNode: '',
        natOutgoing: false,
        private: false,
        namespaceSelectors: [],
        gatewayNodeSelectors: [],
        enableEcmp: false,
        externalEgressGateway: '',
        policyRoutingPriority: 0,
        policyRoutingTableID: 0,
        acls: [],
        allowEWTraffic: false,
        natOutgoingPolicyRules: [],
        vlan: '',
        logicalGateway: false,
        u2oInterconnection: false,
        u2oInterconnectionIP: '',
        nodeNetwork: '',
        vips: [],
        enableDHCP: false,
        dhcpV4Options: '',
        dhcpV6Options: '',
        enableIPv6RA: false,
        ipv6RAConfigs: '',
        enableMulticastSnoop: false,
        enableExternalLBAddress: false,
        routeTable: '',
      }),
    ).toEqual([]);
    expect(unimplementedSubnetFields(admitted('Subnet', { cidrBlock: '10.16.0.0/16' }))).toEqual([]);
  });

  test('implemented fields, whatever their value, are not reported', () => {
    expect(
      unimplementedSubnetFields({
        cidrBlock: '10.66.0.0/24,fd00::/120',
        gateway: '10.66.0.1,fd00::1',
        excludeIps: ['10.66.0.2..10.66.0.9'],
        vpc: 'ovn-cluster',
        protocol: 'Dual',
        namespaces: ['blue'],
        provider: 'net1.default.ovn',
        default: true,
        private: true,
        allowSubnets: ['10.67.0.0/24'],
        gatewayType: 'centralized',
        gatewayNode: 'node-1:172.18.0.2,node-2',
        natOutgoing: true,
        mtu: 1300,
        enableLb: false,
        disableGatewayCheck: true,
        disableInterConnection: true,
      }),
    ).toEqual([]);
  });

  test('each unimplemented field that is set is named, in the table order', () => {
    expect(
      unimplementedSubnetFields({
        cidrBlock: '10.66.0.0/24',
        enableDHCP: true,
        acls: [{ direction: 'to-lport', priority: 1000, match: 'ip4.src == 10.0.0.1', action: 'drop' }],
        vlan: 'vlan10', // implemented: not named
        namespaceSelectors: [{}], // an empty selector selects every namespace: it asks for something
        dhcpV4Options: 'lease_time=3600',
        policyRoutingTableID: 1000,
      }),
    ).toEqual([
      'spec.namespaceSelectors',
      'spec.policyRoutingTableID',
      'spec.acls',
      'spec.enableDHCP',
      'spec.dhcpV4Options',
    ]);
    for (const u of UNIMPLEMENTED_SUBNET_FIELDS.filter((x) => x.field !== 'default')) {
      const value = { boolean: true, string: 'x', number: 7, object: [{ a: 'b' }] };
      for (const v of Object.values(value)) {
        const got = unimplementedSubnetFields({ cidrBlock: '10.66.0.0/24', [u.field]: v });
        expect(got).toEqual([`spec.${u.field}`]);
      }
    }
  });

  test('default is reported only outside the default VPC, where Kube-OVN makes it the VPC default subnet', () => {
    expect(unimplementedSubnetFields({ cidrBlock: '10.1.0.0/24', default: true })).toEqual([]);
    expect(
      unimplementedSubnetFields({ cidrBlock: '10.1.0.0/24', default: true, vpc: 'ovn-cluster' }),
    ).toEqual([]);
    expect(unimplementedSubnetFields({ cidrBlock: '10.1.0.0/24', default: true, vpc: 'vpc-a' })).toEqual([
      'spec.default',
    ]);
    expect(unimplementedSubnetFields({ cidrBlock: '10.1.0.0/24', default: false, vpc: 'vpc-a' })).toEqual([]);
  });

  test('no spec, or not an object: nothing, no throw', () => {
    expect(unimplementedSubnetFields(undefined)).toEqual([]);
    expect(unimplementedSubnetFields('x')).toEqual([]);
    expect(unimplementedSubnetFields([{ acls: [1] }])).toEqual([]);
  });
});

describe('Vpc', () => {
  test('off defaults, as Kube-OVN writes them out, are not reported', () => {
    expect(
      unimplementedVpcFields({
        staticRoutes: [
          {
            policy: 'policyDst',
            cidr: '0.0.0.0/0',
            nextHopIP: '10.0.0.254',
            ecmpMode: '',
            bfdId: '',
            routeTable: '',
          },
        ],
        policyRoutes: [{ priority: 1000, match: 'ip4', action: 'allow' }],
        vpcPeerings: [{ remoteVpc: 'b', localConnectIP: '169.254.0.1/30' }],
        enableExternal: false,
        extraExternalSubnets: [],
        enableBfd: false,
        bfdPort: { enabled: false, ip: '', nodeSelector: { matchLabels: {}, matchExpressions: [] } },
      }),
    ).toEqual([]);
    expect(unimplementedVpcFields({ bfdPort: null })).toEqual([]);
    expect(
      unimplementedVpcFields(
        admitted('Vpc', { bfdPort: {}, staticRoutes: [{ cidr: '0.0.0.0/0', nextHopIP: '10.0.0.254' }] }),
      ),
    ).toEqual([]);
    expect(unimplementedVpcFields({})).toEqual([]);
  });

  test('the VPC fields and the static route fields that are set are named, routes by their index', () => {
    expect(
      unimplementedVpcFields({
        enableBfd: true,
        enableExternal: true,
        extraExternalSubnets: ['ext1'],
        bfdPort: { enabled: true, ip: '10.255.255.255' },
        staticRoutes: [
          { cidr: '0.0.0.0/0', nextHopIP: '10.0.0.254' },
          { cidr: '10.9.0.0/24', nextHopIP: '10.0.0.253', bfdId: 'uuid', ecmpMode: 'ecmp_symmetric_reply' },
          { cidr: '10.8.0.0/24', nextHopIP: '10.0.0.253', routeTable: 'rtb1' },
        ],
      }),
    ).toEqual([
      'spec.enableExternal',
      'spec.extraExternalSubnets',
      'spec.enableBfd',
      'spec.bfdPort',
      'spec.staticRoutes[1].ecmpMode',
      'spec.staticRoutes[1].bfdId',
      'spec.staticRoutes[2].routeTable',
    ]);
    // a BFD port that is not enabled but has an address still asks for one
    expect(unimplementedVpcFields({ bfdPort: { enabled: false, ip: '10.255.255.255' } })).toEqual([
      'spec.bfdPort',
    ]);
  });

  test('a staticRoutes that is not a list, or items that are not objects: nothing, no throw', () => {
    expect(unimplementedVpcFields({ staticRoutes: 'x' })).toEqual([]);
    expect(unimplementedVpcFields({ staticRoutes: [null, 3] })).toEqual([]);
  });
});

describe('IPPool', () => {
  test('enableAddressSet is reported when true only', () => {
    const base = { subnet: 'ovn-default', ips: ['10.16.0.10'], namespaces: ['a'] };
    expect(unimplementedIpPoolFields(base)).toEqual([]);
    expect(unimplementedIpPoolFields(admitted('IPPool', base))).toEqual([]);
    expect(unimplementedIpPoolFields({ ...base, enableAddressSet: false })).toEqual([]);
    expect(unimplementedIpPoolFields({ ...base, enableAddressSet: true })).toEqual(['spec.enableAddressSet']);
  });
});
