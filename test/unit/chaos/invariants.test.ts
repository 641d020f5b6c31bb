import { describe, expect, test } from 'vitest';
import { type ClusterSnapshot, judge, type PodState } from '../../../src/chaos/invariants.ts';

const pod = (name: string, ip: string, extra: Partial<PodState> = {}): PodState => ({
  namespace: 'chaos',
  name,
  node: 'node1',
  hostNetwork: false,
  terminating: false,
  ready: true,
  annotations: { 'ovn.kubernetes.io/ip_address': ip, 'ovn.kubernetes.io/logical_switch': 'ovn-default' },
  ...extra,
});

function healthy(): ClusterSnapshot {
  return {
    pods: [pod('a', '10.16.0.2'), pod('b', '10.16.0.3')],
    ips: [
      { name: 'a.chaos', subnet: 'ovn-default', ipAddress: '10.16.0.2', podName: 'a', namespace: 'chaos' },
      { name: 'b.chaos', subnet: 'ovn-default', ipAddress: '10.16.0.3', podName: 'b', namespace: 'chaos' },
      { name: 'node-node1', subnet: 'join', ipAddress: '100.64.0.2', podName: 'node1', namespace: '' },
    ],
    ports: [
      { name: 'a.chaos', switch: 'ovn-default', owner: 'pod/chaos/a', ips: ['10.16.0.2'] },
      { name: 'b.chaos', switch: 'ovn-default', owner: 'pod/chaos/b', ips: ['10.16.0.3'] },
      { name: 'node-node1', switch: 'join', owner: 'node/node1', ips: ['100.64.0.2'] },
    ],
    nodes: [
      {
        name: 'node1',
        boundInterfaces: [
          { name: 'aaaa_h', ifaceId: 'a.chaos' },
          { name: 'bbbb_h', ifaceId: 'b.chaos' },
          { name: 'ovn0', ifaceId: 'node-node1' },
        ],
        hostVeths: ['aaaa_h', 'bbbb_h'],
        podNetns: ['ns-a', 'ns-b'],
      },
    ],
    expectedNetns: (_node, p) => `ns-${p.name}`,
  };
}

describe('judge', () => {
  test('a consistent cluster has no findings', () => {
    expect(judge(healthy())).toEqual({ duplicates: [], leaks: [], stuck: [] });
  });

  test('one address claimed by two pods, two IP records or two ports is a duplicate each', () => {
    const s = healthy();
    s.pods[1]!.annotations['ovn.kubernetes.io/ip_address'] = '10.16.0.2';
    s.ips[1]!.ipAddress = '10.16.0.2';
    s.ports[1]!.ips = ['10.16.0.2'];
    const f = judge(s);
    expect(f.duplicates).toHaveLength(3);
    expect(f.duplicates[0]).toContain('pod chaos/a, pod chaos/b');
  });

  test('the same address in two subnets is not a duplicate (VPCs may overlap)', () => {
    const s = healthy();
    s.pods[1]!.annotations = {
      'ovn.kubernetes.io/ip_address': '10.16.0.2',
      'ovn.kubernetes.io/logical_switch': 'vpc-b',
    };
    expect(judge(s).duplicates).toEqual([]);
  });

  test("a deleted pod's LSP, IP record, OVS port, veth and namespace are each a leak", () => {
    const s = healthy();
    s.pods = s.pods.filter((p) => p.name !== 'b');
    // the port's LSP is gone too, so the bound interface names a missing port
    s.ports = s.ports.filter((p) => p.name !== 'b.chaos');
    s.ports.push({ name: 'c.chaos', switch: 'ovn-default', owner: 'pod/chaos/c', ips: ['10.16.0.9'] });
    const f = judge(s);
    expect(f.leaks.sort()).toEqual(
      [
        'IP b.chaos of missing pod chaos/b',
        'LSP c.chaos of missing pod/chaos/c',
        'OVS port bbbb_h on node1 bound to missing b.chaos',
        'netns ns-b on node1 of no pod',
      ].sort(),
    );
    expect(f.duplicates).toEqual([]);
  });

  test('a veth without a port is a leak; the join address of a node is not', () => {
    const s = healthy();
    s.nodes[0]!.hostVeths.push('dead_h');
    expect(judge(s).leaks).toEqual(['veth dead_h on node1 attached to no port']);
  });

  test('pods without an address or not ready are stuck; terminating and host-network pods are not', () => {
    const s = healthy();
    s.pods.push(pod('c', '', { annotations: {} }));
    s.pods.push(pod('d', '10.16.0.5', { ready: false }));
    s.pods.push(pod('e', '', { annotations: {}, terminating: true }));
    s.pods.push(pod('f', '', { annotations: {}, hostNetwork: true }));
    s.expectedNetns = (_n, p) => `ns-${p.name}`;
    expect(judge(s).stuck).toEqual(['chaos/c without an address', 'chaos/d not ready']);
  });
});
