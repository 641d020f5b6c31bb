// A KubeVirt VM's address belongs to the VM, not to its launcher pods: it is kept while the VM (or, for a
// VM-less VMI, the VMI) exists, so a stopped, restarted or migrated VM comes back with the same IP and MAC
// (Kube-OVN's keep-vm-ip). Once the VM is gone and no launcher pod is left, the port, IP CR and addresses
// are given back.
import type { Deps } from './deps.ts';
import { owners } from './nb/topology.ts';
import { releaseOwner } from './release.ts';
import type { Outcome } from './subnets.ts';
import { addressOwner } from './workload.ts';

export async function reconcileVm(d: Deps, key: string, touched: (subnet: string) => void): Promise<Outcome> {
  const [namespace = '', vm = ''] = key.split('/');
  if (d.vms.get(key) || d.vmis.get(key)) return undefined;
  const launchers = d.pods.list(namespace).filter((p) => addressOwner(p, d.kubevirt).vm === vm);
  if (launchers.length > 0) return { requeueAfterMs: 2_000 }; // terminating: wait until they are gone
  await d.locks.run(`${vm}.${namespace}`, () =>
    releaseOwner(d, `${vm}.${namespace}`, owners.vm(namespace, vm), touched),
  );
  return undefined;
}
