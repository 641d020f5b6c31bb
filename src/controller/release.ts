// Giving back what an owner (a pod, a VM) held: its port, its IP CR, its addresses. Safe to repeat; the port
// goes first so that nothing in northbound uses an address IPAM may hand out again.
import type { Deps } from './deps.ts';

/** @param nbOwner the northbound owner whose rows go too (undefined: the caller removed them already) */
export async function releaseOwner(
  d: Deps,
  owner: string,
  nbOwner: string | undefined,
  touched: (subnet: string) => void,
): Promise<void> {
  if (nbOwner !== undefined) await d.nb.apply([{ owner: nbOwner, desired: [] }]);
  await d.kube.deleteIp(owner);
  for (const subnet of d.valid.keys()) if (d.ipam.release(subnet, owner)) touched(subnet);
}
