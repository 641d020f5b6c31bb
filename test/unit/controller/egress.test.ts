// Egress policies of the default VPC: per-node Address_Sets and 29000 reroutes (distributed), one reroute
// per CIDR to the gateway node (centralized), and how pods and nodes are read from Kubernetes objects.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import {
  chooseGateway,
  EgressIndex,
  type EgressNode,
  egressNode,
  egressPods,
  egressSetName,
  egressSettings,
  planEgress,
} from '../../../src/controller/egress.ts';
import type { Subnet } from '../../../src/controller/k8s/types.ts';

const nodes: EgressNode[] = [
  { name: 'node1', joinIps: ['100.64.0.2'], ready: true },
  { name: 'node2', joinIps: ['100.64.0.3'], ready: true },
];
const ovnDefault = {
  name: 'ovn-default',
  router: 'ovn-cluster',
  cidrs: ['10.16.0.0/16'],
  gatewayType: 'distributed' as const,
  gatewayNodes: [],
};

/** A centralized subnet with its gatewayNode list. */
const central = (gatewayNodes: string[]) => ({
  name: 'central',
  router: 'ovn-cluster',
  cidrs: ['10.20.0.0/24'],
  gatewayType: 'centralized' as const,
  gatewayNodes,
});

const cols = (rows: { table: string; columns: Record<string, unknown> }[], table: string) =>
  rows.filter((r) => r.table === table).map((r) => r.columns);

describe('planEgress', () => {
  test('distributed: an Address_Set of each node pods and a reroute to that node join address', () => {
    const plan = planEgress({
      subnets: [ovnDefault],
      nodes,
      pods: [
        { node: 'node1', subnet: 'ovn-default', ips: ['10.16.0.5'] },
        { node: 'node1', subnet: 'ovn-default', ips: ['10.16.0.3'] },
        { node: 'node2', subnet: 'ovn-default', ips: ['10.16.0.4'] },
        { node: 'node2', subnet: 'other', ips: ['10.17.0.4'] },
      ],
    });
    const rows = plan.rows.get('ovn-default')!;
    expect(cols(rows, 'Address_Set')).toEqual([
      {
        name: 'ovn.default.node1_ip4',
        addresses: ['10.16.0.3', '10.16.0.5'],
        external_ids: { subnet: 'ovn-default', node: 'node1' },
      },
      {
        name: 'ovn.default.node2_ip4',
        addresses: ['10.16.0.4'],
        external_ids: { subnet: 'ovn-default', node: 'node2' },
      },
    ]);
    expect(cols(rows, 'Logical_Router_Policy')).toEqual([
      {
        priority: 29000,
        match: 'ip4.src == $ovn.default.node1_ip4',
        action: 'reroute',
        nexthops: ['100.64.0.2'],
        external_ids: { subnet: 'ovn-default', node: 'node1' },
      },
      {
        priority: 29000,
        match: 'ip4.src == $ovn.default.node2_ip4',
        action: 'reroute',
        nexthops: ['100.64.0.3'],
        external_ids: { subnet: 'ovn-default', node: 'node2' },
      },
    ]);
    expect(rows.find((r) => r.table === 'Logical_Router_Policy')!.parent).toEqual({
      table: 'Logical_Router',
      id: 'lr/ovn-cluster',
      column: 'policies',
    });
    expect(plan.gateways.size).toBe(0);
  });

  test('a pod that moves to another node moves to that node set; a node without pods keeps an empty set', () => {
    const plan = planEgress({
      subnets: [ovnDefault],
      nodes,
      pods: [{ node: 'node2', subnet: 'ovn-default', ips: ['10.16.0.5'] }],
    });
    const sets = cols(plan.rows.get('ovn-default')!, 'Address_Set');
    expect(sets.map((s) => [s.name, s.addresses])).toEqual([
      ['ovn.default.node1_ip4', []],
      ['ovn.default.node2_ip4', ['10.16.0.5']],
    ]);
  });

  test('a node without a join address yet gets no policy (no next hop to send to)', () => {
    const plan = planEgress({
      subnets: [ovnDefault],
      nodes: [...nodes, { name: 'node3', joinIps: [], ready: true }],
      pods: [],
    });
    expect(cols(plan.rows.get('ovn-default')!, 'Logical_Router_Policy')).toHaveLength(2);
  });

  test('dual stack: one set and policy per family, each to the join address of its family', () => {
    const plan = planEgress({
      subnets: [{ ...ovnDefault, cidrs: ['10.16.0.0/16', 'fd00:10:16::/64'] }],
      nodes: [{ name: 'node1', joinIps: ['100.64.0.2', 'fd00:100:64::2'], ready: true }],
      pods: [{ node: 'node1', subnet: 'ovn-default', ips: ['10.16.0.2', 'fd00:10:16::2'] }],
    });
    const rows = plan.rows.get('ovn-default')!;
    expect(cols(rows, 'Logical_Router_Policy').map((p) => [p.match, p.nexthops])).toEqual([
      ['ip4.src == $ovn.default.node1_ip4', ['100.64.0.2']],
      ['ip6.src == $ovn.default.node1_ip6', ['fd00:100:64::2']],
    ]);
    expect(cols(rows, 'Address_Set').map((s) => s.addresses)).toEqual([['10.16.0.2'], ['fd00:10:16::2']]);
  });

  test('centralized: the subnet CIDR rerouted to the first Ready gateway node, no Address_Sets', () => {
    const plan = planEgress({
      subnets: [central(['node9', 'node2', 'node1'])],
      nodes,
      pods: [{ node: 'node1', subnet: 'central', ips: ['10.20.0.2'] }],
    });
    const rows = plan.rows.get('central')!;
    expect(rows.map((r) => r.table)).toEqual(['Logical_Router_Policy']);
    expect(rows[0]!.columns).toMatchObject({
      priority: 29000,
      match: 'ip4.src == 10.20.0.0/24',
      action: 'reroute',
      nexthops: ['100.64.0.3'],
    });
    expect(plan.gateways.get('central')).toBe('node2');
  });

  test('centralized without a usable gateway: no policy (egress stops) and no gateway reported', () => {
    const plan = planEgress({
      subnets: [central(['node2'])],
      nodes: [nodes[0]!, { ...nodes[1]!, ready: false }],
      pods: [],
    });
    expect(plan.rows.get('central')).toEqual([]);
    expect(plan.gateways.has('central')).toBe(true);
    expect(plan.gateways.get('central')).toBeUndefined();
  });
});

describe('inputs from Kubernetes objects', () => {
  test('egressSetName follows Kube-OVN (dashes become dots)', () => {
    expect(egressSetName('ovn-default', 'kube-ovn-worker', 'ip4')).toBe('ovn.default.kube.ovn.worker_ip4');
  });

  test('chooseGateway skips nodes that are unknown, not Ready or without a join address', () => {
    const m = new Map<string, EgressNode>([
      ['a', { name: 'a', joinIps: ['100.64.0.2'], ready: false }],
      ['b', { name: 'b', joinIps: [], ready: true }],
      ['c', { name: 'c', joinIps: ['100.64.0.4'], ready: true }],
    ]);
    expect(chooseGateway(['x', 'a', 'b', 'c'], m)).toBe('c');
    expect(chooseGateway(['x', 'a'], m)).toBeUndefined();
  });

  test('egressSettings: distributed by default; gatewayNode list with optional ":ip" parts', () => {
    const s = (spec: Record<string, unknown>) => ({ spec: { cidrBlock: '10.0.0.0/24', ...spec } }) as Subnet;
    expect(egressSettings(s({}))).toEqual({ gatewayType: 'distributed', gatewayNodes: [] });
    expect(egressSettings(s({ gatewayType: 'centralized', gatewayNode: 'n1:172.18.0.2, n2' }))).toEqual({
      gatewayType: 'centralized',
      gatewayNodes: ['n1', 'n2'],
    });
  });

  test('egressNode: join address only once allocated; Ready from the condition', () => {
    const n = (annotations: Record<string, string>, ready: string): V1Node => ({
      metadata: { name: 'n1', annotations },
      status: { conditions: [{ type: 'Ready', status: ready }] },
    });
    expect(
      egressNode(
        n(
          { 'ovn.kubernetes.io/allocated': 'true', 'ovn.kubernetes.io/ip_address': '100.64.0.2,fd00::2' },
          'True',
        ),
      ),
    ).toEqual({ name: 'n1', joinIps: ['100.64.0.2', 'fd00::2'], ready: true });
    expect(egressNode(n({ 'ovn.kubernetes.io/ip_address': '100.64.0.2' }, 'False'))).toEqual({
      name: 'n1',
      joinIps: [],
      ready: false,
    });
  });

  test('egressPods: placed, addressed, live pods; a shared VM address stays with the older pod', () => {
    const pod = (
      name: string,
      node: string | undefined,
      ip: string,
      extra: { phase?: string; created?: string; hostNetwork?: boolean; allocated?: string } = {},
    ): V1Pod => ({
      metadata: {
        name,
        namespace: 'default',
        creationTimestamp: (extra.created ?? '2026-01-01T00:00:00Z') as unknown as Date,
        annotations: {
          'ovn.kubernetes.io/allocated': extra.allocated ?? 'true',
          'ovn.kubernetes.io/ip_address': ip,
          'ovn.kubernetes.io/logical_switch': 'ovn-default',
        },
      },
      spec: { nodeName: node, hostNetwork: extra.hostNetwork, containers: [] },
      status: { phase: extra.phase ?? 'Running' },
    });
    const out = egressPods([
      pod('target', 'node2', '10.16.0.9', { created: '2026-01-02T00:00:00Z' }),
      pod('source', 'node1', '10.16.0.9', { created: '2026-01-01T00:00:00Z' }),
      pod('done', 'node1', '10.16.0.7', { phase: 'Succeeded' }),
      pod('unscheduled', undefined, '10.16.0.6'),
      pod('host', 'node1', '10.16.0.5', { hostNetwork: true }),
      pod('pending-ip', 'node1', '10.16.0.4', { allocated: 'false' }),
      pod('plain', 'node2', '10.16.0.3'),
    ]);
    expect(out).toEqual([
      { node: 'node2', subnet: 'ovn-default', ips: ['10.16.0.3'] },
      { node: 'node1', subnet: 'ovn-default', ips: ['10.16.0.9'] },
    ]);
  });
});

describe('EgressIndex', () => {
  const pod = (subnet?: string, node?: string, ip = '10.16.0.9', created = '2026-01-01T00:00:00Z') =>
    ({
      metadata: {
        creationTimestamp: created,
        annotations: subnet
          ? {
              'ovn.kubernetes.io/logical_switch': subnet,
              'ovn.kubernetes.io/ip_address': ip,
              'ovn.kubernetes.io/allocated': 'true',
            }
          : {},
      },
      spec: node ? { nodeName: node } : {},
    }) as unknown as V1Pod;

  test('a pod change names the subnet-and-node pairs it may touch: its old and its new one', () => {
    const index = new EgressIndex();
    expect(index.podChanged('ns/a', pod('s1', 'n1', '10.16.0.2'))).toEqual(['s1/n1']);
    expect(index.podChanged('ns/b', pod('s1', 'n1', '10.16.0.3'))).toEqual(['s1/n1']);
    expect(index.podKeys('s1/n1').sort()).toEqual(['ns/a', 'ns/b']);
    expect(index.podChanged('ns/a', pod('s2', 'n1', '10.17.0.2'))).toEqual(['s1/n1', 's2/n1']);
    expect(index.podKeys('s1/n1')).toEqual(['ns/b']);
    expect(index.podKeys('s2/n1')).toEqual(['ns/a']);
  });

  test('a pod without an address or a node is in no pair; a deleted pod leaves its pair', () => {
    const index = new EgressIndex();
    expect(index.podChanged('ns/a', pod())).toEqual([]);
    // addressed, not yet scheduled: no pair until it has a node
    expect(index.podChanged('ns/a', pod('s1'))).toEqual([]);
    expect(index.podChanged('ns/a', pod('s1', 'n1'))).toEqual(['s1/n1']);
    expect(index.podChanged('ns/a', undefined)).toEqual(['s1/n1']);
    expect(index.podKeys('s1/n1')).toEqual([]);
  });

  test('two pods holding one address (a migrating VM) on two nodes: each change touches both pairs', () => {
    const index = new EgressIndex();
    index.podChanged('ns/old', pod('s1', 'n1', '10.16.0.7', '2026-01-01T00:00:00Z'));
    expect(index.podChanged('ns/new', pod('s1', 'n2', '10.16.0.7', '2026-01-01T00:01:00Z')).sort()).toEqual([
      's1/n1',
      's1/n2',
    ]);
    // the pair of the new pod reads the old one too, so the address stays with the older pod (egressPods)
    expect(index.podKeys('s1/n2').sort()).toEqual(['ns/new', 'ns/old']);
    const placed = egressPods([
      pod('s1', 'n1', '10.16.0.7', '2026-01-01T00:00:00Z'),
      pod('s1', 'n2', '10.16.0.7', '2026-01-01T00:01:00Z'),
    ]);
    expect(placed.map((p) => p.node)).toEqual(['n1']);
    // the old one goes: both pairs are re-planned, and the new one's pair holds the address alone
    expect(index.podChanged('ns/old', undefined).sort()).toEqual(['s1/n1', 's1/n2']);
    expect(index.podKeys('s1/n2')).toEqual(['ns/new']);
  });
});
