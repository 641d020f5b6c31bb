// Namespace reconcile: a namespace carries Kube-OVN's annotations naming the subnets bound to it (through
// Subnet spec.namespaces), or the default subnet when none is, and the IPPools bound to it; users and tools
// read them.

import { annotationChanges } from './allocation.ts';
import type { Deps } from './deps.ts';
import { poolsOfNamespace } from './ippools.ts';
import { Ann } from './k8s/annotations.ts';
import type { Outcome } from './subnets.ts';

export async function reconcileNamespace(d: Deps, name: string): Promise<Outcome> {
  const ns = d.namespaces.get(name);
  if (!ns || ns.metadata?.deletionTimestamp) return undefined;
  let bound = [...d.valid.values()]
    .filter((f) => d.subnets.get(f.name)?.spec.namespaces?.includes(name))
    .sort((a, b) => a.name.localeCompare(b.name));
  if (bound.length === 0) {
    const fallback = d.valid.get(d.config.defaultSubnet.name);
    if (!fallback) return { requeueAfterMs: 1_000 };
    bound = [fallback];
  }
  const changes = annotationChanges(ns.metadata?.annotations ?? {}, {
    [Ann.logicalSwitch]: bound.map((f) => f.name).join(','),
    [Ann.cidr]: bound.map((f) => f.cidrBlock).join(';'),
    [Ann.excludeIps]: bound.map((f) => f.excludeIps.join(',')).join(';'),
    [Ann.ipPool]: poolsOfNamespace(d, name).join(',') || null,
  });
  if (changes) await d.kube.patchNamespaceAnnotations(name, changes);
  return undefined;
}
