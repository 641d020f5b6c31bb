// The lab's VLAN 10 underlay, as the underlay tests and `npm run bench -- underlay` set it up: on the fabric
// (fabric.ts) the VLAN's physical router gw10 at 172.16.3.1, and in the cluster the ProviderNetwork net1 on
// every node's eth1, the Vlan vlan10 (id 10) and an underlay Subnet 172.16.3.0/24 on it (addresses below .100
// left to the physical network).
import type { CustomObjectsApi } from '@kubernetes/client-node';
import type { Cluster } from './cluster.ts';
import type { FabricHost } from './fabric.ts';

/** Creates a cluster-scoped kubeovn.io object. */
export function createKubeovn(
  custom: CustomObjectsApi,
  plural: string,
  kind: string,
  name: string,
  spec: Record<string, unknown>,
): Promise<unknown> {
  return custom.createClusterCustomObject({
    group: 'kubeovn.io',
    version: 'v1',
    plural,
    body: { apiVersion: 'kubeovn.io/v1', kind, metadata: { name }, spec },
  });
}

/** A server on VLAN 10 that routes through gw10. */
export const VLAN10_SERVER = {
  name: 'h10',
  vlan: 10,
  cidr: '172.16.3.10/24',
  gateway: '172.16.3.1',
  router: false,
} as const;

export async function setUpVlan10(
  cluster: Cluster,
  custom: CustomObjectsApi,
  subnet: { name: string; namespaces?: string[] },
): Promise<{ router: FabricHost }> {
  const router = await cluster.lab.addHost({ name: 'gw10', vlan: 10, cidr: '172.16.3.1/24', router: true });
  await createKubeovn(custom, 'provider-networks', 'ProviderNetwork', 'net1', { defaultInterface: 'eth1' });
  await createKubeovn(custom, 'vlans', 'Vlan', 'vlan10', { id: 10, provider: 'net1' });
  await createKubeovn(custom, 'subnets', 'Subnet', subnet.name, {
    cidrBlock: '172.16.3.0/24',
    gateway: '172.16.3.1',
    excludeIps: ['172.16.3.1..172.16.3.99'],
    vlan: 'vlan10',
    ...(subnet.namespaces ? { namespaces: subnet.namespaces } : {}),
  });
  return { router };
}
