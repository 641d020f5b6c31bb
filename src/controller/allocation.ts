// What an allocation looks like outside IPAM: its IP CR (the durable record, Kube-OVN's shape) and the
// annotations that describe it on the pod or node. Shared by the pod and node reconcilers.
import type { Allocation } from '../ipam/index.ts';
import { Ann } from './k8s/annotations.ts';
import type { IpCr } from './k8s/types.ts';
import type { FormattedSubnet } from './subnet-spec.ts';

export function ipRecord(
  owner: string,
  a: Allocation,
  who: { podName: string; namespace: string; nodeName: string },
): IpCr {
  return {
    apiVersion: 'kubeovn.io/v1',
    kind: 'IP',
    metadata: { name: owner, labels: { 'ovn.kubernetes.io/subnet': a.subnet } },
    spec: {
      ...who,
      subnet: a.subnet,
      ipAddress: a.ipAddress,
      v4IpAddress: a.ipv4 ?? '',
      v6IpAddress: a.ipv6 ?? '',
      macAddress: a.mac,
      attachSubnets: [],
      attachIps: [],
      attachMacs: [],
      containerID: '',
      podType: '',
    },
  };
}

export function addressesOf(a: Allocation): string[] {
  return [a.ipv4, a.ipv6].filter((x): x is string => !!x);
}

/** The annotations every addressed object carries. */
export function addressAnnotations(a: Allocation, f: FormattedSubnet): Record<string, string> {
  return {
    [Ann.allocated]: 'true',
    [Ann.ipAddress]: a.ipAddress,
    [Ann.macAddress]: a.mac,
    [Ann.cidr]: f.cidrBlock,
    [Ann.gateway]: f.gateway,
    [Ann.logicalSwitch]: a.subnet,
    ...(f.underlay
      ? { [Ann.vlanId]: String(f.underlay.vlanId), [Ann.providerNetwork]: f.underlay.provider }
      : {}),
  };
}

/** The entries of `want` that `current` does not already hold (null when nothing changes). */
export function annotationChanges(
  current: Record<string, string>,
  want: Record<string, string | null>,
): Record<string, string | null> | null {
  // null: the annotation must be absent (a merge patch removes it)
  const changed = Object.entries(want).filter(([k, v]) => (v === null ? k in current : current[k] !== v));
  return changed.length > 0 ? Object.fromEntries(changed) : null;
}
