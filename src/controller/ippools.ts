// IPPool reconcile: a pool is a named set of addresses inside one subnet (IPs, CIDRs, a..b ranges). Pods
// that name it (ovn.kubernetes.io/ip_pool) or live in a namespace it binds get addresses only from it. Its
// status carries IPAM's counters under Kube-OVN's IPPool field names.
import { IpamError } from '../ipam/index.ts';
import type { Deps } from './deps.ts';
import { condition } from './k8s/status.ts';
import type { Condition, IpPool } from './k8s/types.ts';
import type { Outcome } from './subnets.ts';
import { patchKubeovnStatus } from './unsupported-fields.ts';

/** Every status write also names the spec's fields that have no effect here (unsupported-fields.ts). */
const patchPoolStatus = (d: Deps, p: IpPool, fields: Record<string, unknown>, conditions: Condition[]) =>
  patchKubeovnStatus(d.kube, 'ippools', p, fields, conditions);

export async function reconcileIpPool(d: Deps, name: string): Promise<Outcome> {
  const p = d.ippools.get(name);
  const held = d.poolSubnet.get(name);
  if (!p || p.metadata?.deletionTimestamp) {
    if (held && d.valid.has(held)) d.ipam.removePool(held, name);
    d.poolSubnet.delete(name);
    return undefined;
  }
  const subnet = p.spec.subnet;
  if (held && held !== subnet) {
    // spec.subnet is immutable in Kube-OVN; if it changed anyway, the old subnet gets its addresses back
    if (d.valid.has(held)) d.ipam.removePool(held, name);
    d.poolSubnet.delete(name);
  }
  if (!d.valid.has(subnet)) {
    await patchPoolStatus(d, p, {}, [
      condition('Ready', false, 'SubnetNotReady', `subnet ${subnet} does not exist or is not valid`),
    ]);
    return { requeueAfterMs: 2_000 };
  }
  try {
    d.ipam.setPool(subnet, name, p.spec.ips ?? []);
  } catch (e) {
    if (!(e instanceof IpamError)) throw e;
    const before = p.status?.conditions?.find((c) => c.type === 'Ready');
    await patchPoolStatus(d, p, {}, [condition('Ready', false, e.code, e.message)]);
    if (before?.status !== 'False' || before.message !== e.message)
      await d.kube.event(p, 'Warning', e.code, e.message);
    d.log.warn({ ippool: name, reason: e.code, err: e.message }, 'ippool rejected');
    return undefined;
  }
  d.poolSubnet.set(name, subnet);
  await writePoolStatus(d, p);
  return undefined;
}

/** IPAM's counters of a pool, and Ready. */
export async function writePoolStatus(d: Deps, p: IpPool): Promise<void> {
  const name = p.metadata!.name!;
  const subnet = d.poolSubnet.get(name);
  if (!subnet || !d.valid.has(subnet)) return;
  await patchPoolStatus(d, p, { ...d.ipam.poolStatus(subnet, name) }, [
    condition('Ready', true, 'Reconciled'),
  ]);
}

/** The admitted pools that bind a namespace, by name. */
export function poolsOfNamespace(d: Deps, namespace: string): string[] {
  const out: string[] = [];
  for (const [pool] of d.poolSubnet) {
    if (d.ippools.get(pool)?.spec.namespaces?.includes(namespace)) out.push(pool);
  }
  return out.sort();
}
