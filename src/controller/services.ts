// Services reconcile: every ClusterIP Service with ready endpoints becomes VIPs on Kube-OVN's cluster load
// balancers, attached to every switch of the default VPC (pods reach Services there) and to the join switch
// (nodes reach them through ovn0). The load balancers are shared by all Services, so there is one key and
// one owner: any Service, EndpointSlice or switch change re-plans them all against the replica. With
// --enable-lb=false the controller's load balancers are removed and kube-proxy on the nodes does the job.
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { Deps } from './deps.ts';
import type { ResourceCache } from './k8s/informer.ts';
import { LB_OWNER, lbRows } from './nb/lb-rows.ts';
import type { Outcome } from './subnets.ts';
import { DEFAULT_VPC } from './vpcs.ts';

/** The single work-queue key of the load balancers. */
export const SERVICES_KEY = 'cluster';

export interface ServiceCaches {
  services: ResourceCache<V1Service>;
  slices: ResourceCache<V1EndpointSlice>;
}

/** The switches that carry the load balancers: valid default-VPC subnets that do not set enableLb: false. */
export function lbSwitches(d: Deps): string[] {
  const out: string[] = [];
  for (const [name, f] of d.valid) {
    if (f.vpc !== DEFAULT_VPC) continue;
    if (d.subnets.get(name)?.spec.enableLb === false) continue;
    out.push(name);
  }
  return out;
}

/** Brings the load balancers to what the Services want; `caches` is undefined when load balancing is off. */
export async function reconcileServices(d: Deps, caches: ServiceCaches | undefined): Promise<Outcome> {
  const desired = caches
    ? lbRows({ services: caches.services.list(), slices: caches.slices.list(), switches: lbSwitches(d) })
    : [];
  const r = await d.nb.apply([{ owner: LB_OWNER, desired }], 'services');
  if (r.failed.length > 0) throw r.failed[0]!.error;
  return undefined;
}
