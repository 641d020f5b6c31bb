// Which underlay networks a node's daemon sets up: those that apply to the node, through its NIC, trunking
// VLAN 0 and the ids of the provider's Vlans that do not conflict; excluded ones, and names that cannot be
// bridges, reported as such.
import type { V1Node } from '@kubernetes/client-node';
import { expect, test } from 'vitest';
import type { ProviderNetwork, Vlan } from '../../../src/controller/k8s/types.ts';
import { formatMappings, parseMappings } from '../../../src/daemon/ovs-bridges.ts';
import { wantedNetworks } from '../../../src/daemon/provider-network.ts';

const node = (name: string, labels: Record<string, string> = {}): V1Node => ({ metadata: { name, labels } });
const pn = (name: string, spec: Partial<ProviderNetwork['spec']> = {}): ProviderNetwork => ({
  metadata: { name },
  spec: { defaultInterface: 'eth1', ...spec },
});
const vlan = (name: string, id: number, provider: string, created: string): Vlan => ({
  metadata: { name, creationTimestamp: created as unknown as Date },
  spec: { id, provider },
});

test('the networks of a node, their NIC and trunks; excluded and invalid ones apart', () => {
  const w = wantedNetworks(
    node('n1'),
    [
      pn('net1', { customInterfaces: [{ interface: 'ens5', nodes: ['n1'] }] }),
      pn('net2', { excludeNodes: ['n1'] }),
      pn('averyverylongname'),
    ],
    [
      vlan('v10', 10, 'net1', '2026-12-01T00:00:00Z'),
      vlan('v10b', 10, 'net1', '2026-12-02T00:00:00Z'), // conflicts: not trunked twice, and not by it
      vlan('v20', 20, 'net1', '2026-12-01T00:00:00Z'),
      vlan('v30', 30, 'net2', '2026-12-01T00:00:00Z'),
    ],
  );
  expect(w.wanted).toEqual([{ provider: 'net1', nic: 'ens5', bridge: 'br-net1', trunks: [0, 10, 20] }]);
  expect(w.excluded).toEqual(['net2']);
  expect([...w.invalid.keys()]).toEqual(['averyverylongname']);
});

test("OVN's mapping syntax round-trips, sorted, and tolerates junk", () => {
  const m = parseMappings('physnet:br-phy, net1:br-net1,junk,:x');
  expect([...m]).toEqual([
    ['physnet', 'br-phy'],
    ['net1', 'br-net1'],
  ]);
  expect(formatMappings(m)).toBe('net1:br-net1,physnet:br-phy');
  expect(parseMappings(undefined).size).toBe(0);
});
