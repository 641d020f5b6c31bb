// Giving back what an owner (a pod, a VM) held: its port, its IP CR, its addresses. Safe to repeat; the port
// goes first so that nothing in northbound uses an address IPAM may hand out again.
import type { Deps } from './deps.ts';

export async function releaseOwner(
  d: Deps,
  owner: string,
  nbOwner: string,
  touched: (subnet: string) => void,
): Promise<void> {
  await d.nb.apply([{ owner: nbOwner, desired: [] }]);
  await d.kube.deleteIp(owner);
  for (const subnet of d.valid.keys()) if (d.ipam.release(subnet, owner)) touched(subnet);
}
