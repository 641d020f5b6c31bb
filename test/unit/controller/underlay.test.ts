// Underlay networks, pure parts: which nodes a ProviderNetwork is on and through which NIC, Vlan conflicts
// decided by age whatever the order, a ProviderNetwork's status from its nodes' labels, names that cannot
// be bridges, and subnets that would swallow the management network.
import { describe, expect, test } from 'vitest';
import type { ProviderNetwork, Vlan } from '../../../src/controller/k8s/types.ts';
import {
  appliesTo,
  nicOf,
  nodeIpsInside,
  pnErrorAnnotation,
  pnLabel,
  providerNameProblem,
  providerNetworkStatus,
  vlanConflicts,
} from '../../../src/controller/underlay.ts';

const pn = (name: string, spec: Partial<ProviderNetwork['spec']> = {}): ProviderNetwork => ({
  metadata: { name },
  spec: { defaultInterface: 'eth1', ...spec },
});
const vlan = (name: string, id: number, provider = 'net1', created = '2026-12-01T00:00:00Z'): Vlan => ({
  metadata: { name, creationTimestamp: created as unknown as Date },
  spec: { id, provider },
});
const node = (
  name: string,
  labels: Record<string, string> = {},
  annotations: Record<string, string> = {},
) => ({
  name,
  labels,
  annotations,
});

describe('which nodes and NICs', () => {
  test('excludeNodes leaves nodes out; a nodeSelector, when set, decides alone', () => {
    expect(appliesTo(pn('net1', { excludeNodes: ['n2'] }), node('n1'))).toBe(true);
    expect(appliesTo(pn('net1', { excludeNodes: ['n2'] }), node('n2'))).toBe(false);
    const sel = pn('net1', {
      excludeNodes: ['n1'],
      nodeSelector: {
        matchLabels: { vlan: 'yes' },
        matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }],
      },
    });
    expect(appliesTo(sel, node('n1', { vlan: 'yes', zone: 'a' }))).toBe(true);
    expect(appliesTo(sel, node('n3', { vlan: 'yes', zone: 'b' }))).toBe(false);
    expect(appliesTo(sel, node('n4', { zone: 'a' }))).toBe(false);
    const exists = pn('net1', {
      nodeSelector: { matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] },
    });
    expect(appliesTo(exists, node('n1', { gpu: '1' }))).toBe(false);
    expect(appliesTo(exists, node('n2'))).toBe(true);
  });

  test('a node named in customInterfaces uses that NIC, the others the default', () => {
    const p = pn('net1', { customInterfaces: [{ interface: 'ens4', nodes: ['n2'] }] });
    expect(nicOf(p, 'n1')).toBe('eth1');
    expect(nicOf(p, 'n2')).toBe('ens4');
  });
});

describe('Vlan conflicts', () => {
  test('of two Vlans with one id on one provider the older keeps it, whatever the order they come in', () => {
    const old = vlan('old', 10, 'net1', '2026-12-01T00:00:00Z');
    const young = vlan('young', 10, 'net1', '2026-12-02T00:00:00Z');
    expect([...vlanConflicts([old, young])]).toEqual([['young', 'old']]);
    expect([...vlanConflicts([young, old])]).toEqual([['young', 'old']]);
  });

  test('the same id on another provider, id 0, and legacy vlanId/providerInterfaceName', () => {
    expect(vlanConflicts([vlan('a', 10, 'net1'), vlan('b', 10, 'net2')]).size).toBe(0);
    expect(vlanConflicts([vlan('a', 0, 'net1'), vlan('b', 0, 'net1')]).size).toBe(0);
    const legacy: Vlan = { metadata: { name: 'c' }, spec: { vlanId: 10, providerInterfaceName: 'net1' } };
    expect([...vlanConflicts([vlan('a', 10, 'net1'), legacy])]).toEqual([['a', 'c']]);
  });
});

describe('a ProviderNetwork status', () => {
  test('ready nodes by their label; the others with the daemon error; excluded nodes not at all', () => {
    const p = pn('net1', { excludeNodes: ['n3'] });
    const s = providerNetworkStatus(
      p,
      [
        node('n2', {}, { [pnErrorAnnotation('net1')]: 'nic eth1 does not exist' }),
        node('n1', { [pnLabel('net1', 'ready')]: 'true' }),
        node('n3'),
      ],
      [vlan('v10', 10), vlan('v10b', 10, 'net1', '2026-12-05T00:00:00Z'), vlan('v20', 20, 'other')],
    );
    expect(s.ready).toBe(false);
    expect(s.readyNodes).toEqual(['n1']);
    expect(s.notReadyNodes).toEqual(['n2']);
    expect(s.vlans).toEqual(['v10']);
    expect(s.conditions).toEqual([
      expect.objectContaining({
        node: 'n1',
        type: 'Ready',
        status: 'True',
        reason: 'InitOVSBridgeSucceeded',
      }),
      expect.objectContaining({
        node: 'n2',
        status: 'False',
        reason: 'InitOVSBridgeFailed',
        message: 'nic eth1 does not exist',
      }),
    ]);
  });

  test('names that cannot make a bridge name', () => {
    expect(providerNameProblem('net1')).toBeUndefined();
    expect(providerNameProblem('abcdefghijkl')).toBeUndefined();
    expect(providerNameProblem('abcdefghijklm')).toMatch(/at most 12/);
  });
});

test('node addresses inside a CIDR: the management network an underlay subnet must not take', () => {
  expect(nodeIpsInside('172.30.0.0/16', ['172.30.0.1', '10.0.0.1'])).toEqual(['172.30.0.1']);
  expect(nodeIpsInside('172.16.3.0/24,fd00::/64', ['172.30.0.1', 'fd00::5'])).toEqual(['fd00::5']);
  expect(nodeIpsInside('not a cidr', ['172.30.0.1'])).toEqual([]);
});
