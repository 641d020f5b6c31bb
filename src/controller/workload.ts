// Who owns a pod's address. Most pods own theirs and give it back when they go. A KubeVirt VM's launcher
// pods share the VM's (LSP and IP CR <vm>.<ns>, kept while the VM exists, so a restarted or migrated VM
// comes back with the same IP and MAC); a StatefulSet pod's address outlives the pod while its ordinal is
// still wanted. Pure: the pod in, the owner out.
import type { V1Pod } from '@kubernetes/client-node';
import { owners } from './nb/topology.ts';

export interface AddressOwner {
  kind: 'pod' | 'vm' | 'sts';
  /** The IPAM owner key and IP CR name: "<pod>.<ns>", or "<vm>.<ns>" for a VM's launcher pods. */
  key: string;
  /** The northbound owner of the logical switch port. */
  nbOwner: string;
  /** The logical switch port's name (it is the key, as in Kube-OVN). */
  lsp: string;
  /** Kube-OVN's IP CR podType. */
  podType: '' | 'VirtualMachine' | 'StatefulSet';
  vm?: string;
  sts?: string;
}

const owner = (pod: V1Pod, kind: string, group: string) =>
  pod.metadata?.ownerReferences?.find((r) => r.kind === kind && (r.apiVersion ?? '').startsWith(group));

export function addressOwner(pod: V1Pod, kubevirt: boolean): AddressOwner {
  const ns = pod.metadata?.namespace ?? '';
  const name = pod.metadata?.name ?? '';
  const vmi = kubevirt ? owner(pod, 'VirtualMachineInstance', 'kubevirt.io/') : undefined;
  if (vmi?.name) {
    const key = `${vmi.name}.${ns}`;
    return {
      kind: 'vm',
      key,
      nbOwner: owners.vm(ns, vmi.name),
      lsp: key,
      podType: 'VirtualMachine',
      vm: vmi.name,
    };
  }
  const key = `${name}.${ns}`;
  const sts = owner(pod, 'StatefulSet', 'apps/');
  if (sts?.name && stsOrdinal(name, sts.name) !== undefined)
    return {
      kind: 'sts',
      key,
      nbOwner: owners.pod(ns, name),
      lsp: key,
      podType: 'StatefulSet',
      sts: sts.name,
    };
  return { kind: 'pod', key, nbOwner: owners.pod(ns, name), lsp: key, podType: '' };
}

/** The ordinal of a StatefulSet's pod ("web-3" of "web" is 3), or undefined when the name is not one. */
export function stsOrdinal(podName: string, sts: string): number | undefined {
  if (!podName.startsWith(`${sts}-`)) return undefined;
  const rest = podName.slice(sts.length + 1);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : undefined;
}
