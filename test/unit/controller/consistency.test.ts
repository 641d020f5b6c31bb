import { describe, expect, test } from 'vitest';
import {
  type ConsistencyInput,
  checkConsistency,
  parseAddresses,
} from '../../../src/controller/consistency.ts';

const pod = (name: string, ip: string, mac = '0a:00:00:00:00:01', extra: Record<string, string> = {}) => ({
  namespace: 'default',
  name,
  annotations: {
    'ovn.kubernetes.io/allocated': 'true',
    'ovn.kubernetes.io/ip_address': ip,
    'ovn.kubernetes.io/mac_address': mac,
    'ovn.kubernetes.io/logical_switch': 'ovn-default',
    ...extra,
  },
});
const port = (name: string, ip: string, owner?: string, mac = '0a:00:00:00:00:01') => ({
  name,
  switch: 'ovn-default',
  owner,
  mac,
  ips: [ip],
});

function input(over: Partial<ConsistencyInput>): ConsistencyInput {
  const owners = new Map([['10.16.0.2', 'a.default']]);
  return {
    pods: [pod('a', '10.16.0.2')],
    ports: [port('a.default', '10.16.0.2', 'pod/default/a')],
    ipamOwner: (_s, ip) => owners.get(ip),
    kept: new Set(),
    ...over,
  };
}

describe('consistency check', () => {
  test('a consistent state has no findings', () => {
    expect(checkConsistency(input({}))).toEqual([]);
  });

  test('each planted fault is found, with what it is about', () => {
    const kinds = (i: ConsistencyInput) => checkConsistency(i).map((f) => f.kind);
    expect(
      kinds(
        input({
          ports: [
            port('a.default', '10.16.0.2', 'pod/default/a'),
            port('ghost.default', '10.16.0.9', 'pod/default/ghost'),
          ],
        }),
      ),
    ).toEqual(['port-without-pod']);
    expect(kinds(input({ pods: [pod('a', '10.16.0.7')] }))).toEqual(['annotation-mismatch', 'ipam-mismatch']);
    expect(
      kinds(input({ ports: [port('a.default', '10.16.0.2', 'pod/default/a'), port('x', '10.16.0.2')] })),
    ).toEqual(['duplicate-address']);
    expect(kinds(input({ ports: [] }))).toEqual(['pod-without-port']);
    expect(kinds(input({ pods: [pod('a', '10.16.0.2', '0a:00:00:00:00:99')] }))).toEqual([
      'annotation-mismatch',
    ]);
  });

  test("kept addresses (StatefulSet, VM) are not ports without pods; a VM's launcher pod uses the VM's port", () => {
    const kept = input({
      pods: [],
      ports: [port('web-0.default', '10.16.0.3', 'pod/default/web-0')],
      kept: new Set(['web-0.default']),
    });
    expect(checkConsistency(kept)).toEqual([]);
    const vm = input({
      pods: [
        pod('virt-launcher-vm1-x', '10.16.0.2', '0a:00:00:00:00:01', {
          'ovn.kubernetes.io/virtualmachine': 'vm1',
        }),
      ],
      ports: [port('vm1.default', '10.16.0.2', 'vm/default/vm1')],
      ipamOwner: () => 'vm1.default',
    });
    expect(checkConsistency(vm)).toEqual([]);
  });

  test('addresses column parsing', () => {
    expect(parseAddresses(['0A:00:00:00:00:05 10.16.0.5 fd00::5'])).toEqual({
      mac: '0a:00:00:00:00:05',
      ips: ['10.16.0.5', 'fd00::5'],
    });
    expect(parseAddresses(['router'])).toEqual({ ips: [] });
    expect(parseAddresses([])).toEqual({ ips: [] });
  });
});
