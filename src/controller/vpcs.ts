// The default Vpc object: Kube-OVN has a Vpc CR ovn-cluster for the cluster router, with a status naming its
// router, default subnet and subnets. Tools and users read it; custom VPCs build on the same CRD.
import type { Deps } from './deps.ts';
import { condition, patchStatusIfChanged } from './k8s/status.ts';
import type { Vpc } from './k8s/types.ts';
import type { Outcome } from './subnets.ts';

export const DEFAULT_VPC = 'ovn-cluster';

export async function reconcileDefaultVpc(d: Deps): Promise<Outcome> {
  let vpc = await d.kube.getCr<Vpc>('vpcs', DEFAULT_VPC);
  if (!vpc) {
    await d.kube.createCr('vpcs', {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Vpc',
      metadata: { name: DEFAULT_VPC },
      spec: {},
    } as Vpc);
    vpc = await d.kube.getCr<Vpc>('vpcs', DEFAULT_VPC);
    if (!vpc) return { requeueAfterMs: 1_000 };
  }
  const subnets = [...d.valid.values()]
    .filter((f) => f.vpc === DEFAULT_VPC)
    .map((f) => f.name)
    .sort();
  await patchStatusIfChanged(
    vpc.status,
    {
      default: true,
      standby: true,
      router: d.config.clusterRouter,
      defaultLogicalSwitch: d.config.defaultSubnet.name,
      subnets,
    },
    [condition('Ready', true, 'Reconciled')],
    (status) => d.kube.patchCrStatus('vpcs', DEFAULT_VPC, status),
  );
  return undefined;
}
