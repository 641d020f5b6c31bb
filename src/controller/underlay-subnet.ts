// What an underlay Subnet (spec.vlan) needs before it reaches northbound: its Vlan, not in conflict, on a
// ProviderNetwork that exists; a CIDR that does not take in the nodes' own addresses (the management
// network); at most one of logicalGateway and u2oInterconnection. And u2oInterconnection's address: one of
// the subnet's, held in IPAM and an IP CR under Kube-OVN's owner name u2o-interconnection.<vpc>.<subnet>,
// given back when the subnet stops asking for it.
import { IpamError } from '../ipam/index.ts';
import { addressesOf, ipRecord } from './allocation.ts';
import type { Deps } from './deps.ts';
import type { Subnet } from './k8s/types.ts';
import { type FormattedSubnet, SubnetInvalid, type UnderlayInfo } from './subnet-spec.ts';
import { nodeIpsInside, providerNameProblem, vlanConflicts, vlanIdOf, vlanProviderOf } from './underlay.ts';

/** The u2o address's owner in IPAM and the name of its IP CR. */
export const u2oOwner = (vpc: string, subnet: string) => `u2o-interconnection.${vpc}.${subnet}`;

/** The node addresses Kubernetes knows (InternalIP), i.e. the management network. */
export function nodeAddresses(d: Deps): string[] {
  return d.nodes
    .list()
    .flatMap((n) => (n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address));
}

/** The underlay facts of a subnet with spec.vlan, or SubnetInvalid saying what is missing or wrong. */
export function checkUnderlay(d: Deps, s: Subnet, f: FormattedSubnet): Omit<UnderlayInfo, 'u2oIps'> {
  const name = s.spec.vlan!;
  const vlan = d.vlans.get(name);
  if (!vlan) throw new SubnetInvalid('VlanNotFound', `Vlan ${name} does not exist`);
  const keeper = vlanConflicts(d.vlans.list()).get(name);
  const provider = vlanProviderOf(vlan);
  const vlanId = vlanIdOf(vlan);
  if (keeper)
    throw new SubnetInvalid(
      'VlanConflict',
      `Vlan ${name} has id ${vlanId} on ${provider}, which the older Vlan ${keeper} already has`,
    );
  const problem = providerNameProblem(provider);
  if (problem) throw new SubnetInvalid('InvalidProviderNetwork', `ProviderNetwork ${provider}: ${problem}`);
  if (!d.providerNetworks.get(provider))
    throw new SubnetInvalid(
      'ProviderNetworkNotFound',
      `ProviderNetwork ${provider} (of Vlan ${name}) does not exist`,
    );
  const taken = nodeIpsInside(f.cidrBlock, nodeAddresses(d));
  if (taken.length > 0)
    throw new SubnetInvalid(
      'CIDROverlapsNodes',
      `${f.cidrBlock} contains node addresses (${taken.join(', ')}): the management network is not a pod network`,
    );
  if (s.spec.logicalGateway && s.spec.u2oInterconnection)
    throw new SubnetInvalid('InvalidU2O', 'logicalGateway and u2oInterconnection exclude each other');
  return {
    vlan: name,
    vlanId,
    provider,
    routed: !!(s.spec.logicalGateway || s.spec.u2oInterconnection),
  };
}

/**
 * The u2o address of an underlay subnet that asks for u2oInterconnection (spec.u2oInterconnectionIP, else
 * the next free one), recorded in an IP CR; undefined and released when it does not ask.
 */
export async function u2oAddress(d: Deps, s: Subnet, f: FormattedSubnet): Promise<string[] | undefined> {
  const owner = u2oOwner(f.vpc, f.name);
  if (!(f.underlay && s.spec.u2oInterconnection)) {
    await releaseU2o(d, f.name, owner);
    return undefined;
  }
  const wanted = s.spec.u2oInterconnectionIP || undefined;
  let alloc: ReturnType<Deps['ipam']['allocate']>;
  try {
    alloc = d.ipam.allocate({ subnet: f.name, owner, ips: wanted });
  } catch (e) {
    if (!(e instanceof IpamError)) throw e;
    throw new SubnetInvalid('InvalidU2OInterconnectionIP', `u2oInterconnectionIP: ${e.message}`);
  }
  const gateways = f.gateway.split(',');
  const ips = addressesOf(alloc);
  if (ips.some((ip) => gateways.includes(ip))) {
    d.ipam.release(f.name, owner);
    throw new SubnetInvalid('InvalidU2OInterconnectionIP', 'u2oInterconnectionIP is the subnet gateway');
  }
  await d.kube.upsertIp(
    ipRecord(owner, alloc, { podName: owner, namespace: '', nodeName: '' }),
    d.ips.get(owner),
  );
  return ips;
}

export async function releaseU2o(d: Deps, subnet: string, owner: string): Promise<void> {
  if (d.valid.has(subnet)) d.ipam.release(subnet, owner);
  if (d.ips.get(owner)) await d.kube.deleteIp(owner);
}
