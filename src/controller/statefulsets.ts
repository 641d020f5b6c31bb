// A StatefulSet pod's address outlives the pod while its ordinal is still wanted (the replacement pod has
// the same name, so the same owner key, and gets the same IP and MAC back). Scaling down or deleting the
// StatefulSet gives back the addresses of the ordinals it no longer wants.
import type { Deps } from './deps.ts';
import type { IpCr } from './k8s/types.ts';
import { owners } from './nb/topology.ts';
import { releaseOwner } from './release.ts';
import type { Outcome } from './subnets.ts';
import { stsOrdinal } from './workload.ts';

/** The StatefulSet and ordinal an IP CR of podType StatefulSet belongs to ("web-2" -> web, 2). */
function stsOf(ip: IpCr): { sts: string; ordinal: number } | undefined {
  if (ip.spec.podType !== 'StatefulSet') return undefined;
  const m = /^(.*)-(0|[1-9]\d*)$/.exec(ip.spec.podName);
  return m ? { sts: m[1]!, ordinal: Number(m[2]) } : undefined;
}

/** True while the StatefulSet exists and still wants the ordinal of this IP CR's pod. */
export function stsKeepsAddress(d: Deps, ip: IpCr | undefined): boolean {
  const o = ip && stsOf(ip);
  if (!o) return false;
  const set = d.statefulsets.get(`${ip!.spec.namespace}/${o.sts}`);
  if (!set || set.metadata?.deletionTimestamp) return false;
  return o.ordinal < (set.spec?.replicas ?? 1);
}

/** Releases the kept addresses of a StatefulSet's ordinals that are no longer wanted and have no pod. */
export async function reconcileStatefulSet(
  d: Deps,
  key: string,
  touched: (subnet: string) => void,
): Promise<Outcome> {
  const [namespace = '', name = ''] = key.split('/');
  for (const ip of d.ips.list()) {
    const o = stsOf(ip);
    if (!o || o.sts !== name || ip.spec.namespace !== namespace) continue;
    if (stsOrdinal(ip.spec.podName, name) === undefined) continue;
    if (d.pods.get(`${namespace}/${ip.spec.podName}`) || stsKeepsAddress(d, ip)) continue;
    await releaseOwner(d, ip.metadata!.name!, owners.pod(namespace, ip.spec.podName), touched);
  }
  return undefined;
}
