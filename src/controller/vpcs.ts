// Vpc reconcile: each VPC is a logical router (the default one, ovn-cluster, is the cluster router) with
// the static routes and policies its spec lists, a router port per peering, and routes to a peer's subnets
// once both sides declare the peering. An invalid spec gets a condition and an Event and changes nothing in
// northbound. A VPC that still has subnets is not deleted: its finalizer holds it, with a condition saying
// why.
import type { Deps } from './deps.ts';
import { condition } from './k8s/status.ts';
import type { Condition, Vpc } from './k8s/types.ts';
import { owners, vpcRows } from './nb/topology.ts';
import { peeringPortRows, policyRows, routeRows } from './nb/vpc-rows.ts';
import type { Outcome } from './subnets.ts';
import { patchKubeovnStatus } from './unsupported-fields.ts';
import { planVpc } from './vpc-spec.ts';

export const DEFAULT_VPC = 'ovn-cluster';

/** The logical router of a VPC: the cluster router for the default VPC, else the VPC's own name. */
export function routerOfVpc(d: Deps, vpc: string): string {
  return vpc === DEFAULT_VPC ? d.config.clusterRouter : vpc;
}

/** Every status write also names the spec's fields that have no effect here (unsupported-fields.ts). */
const patchVpcStatus = (d: Deps, v: Vpc, fields: Record<string, unknown>, conditions: Condition[]) =>
  patchKubeovnStatus(d.kube, 'vpcs', v, fields, conditions);

/** The default Vpc object exists in every cluster, as in Kube-OVN; it is created when missing. */
export async function ensureDefaultVpc(d: Deps): Promise<void> {
  if (d.vpcs.get(DEFAULT_VPC)) return;
  await d.kube.createCr('vpcs', {
    apiVersion: 'kubeovn.io/v1',
    kind: 'Vpc',
    metadata: { name: DEFAULT_VPC },
    spec: {},
  } as Vpc);
}

export async function reconcileVpc(d: Deps, name: string): Promise<Outcome> {
  const v = d.vpcs.get(name);
  const router = routerOfVpc(d, name);
  const subnets = [...d.valid.values()]
    .filter((f) => f.vpc === name)
    .map((f) => f.name)
    .sort();
  if (!v || v.metadata?.deletionTimestamp) {
    if (name === DEFAULT_VPC) return undefined; // the cluster router stays; the object is made again at start
    if (subnets.length > 0) {
      if (v) {
        const msg = `VPC ${name} still has subnets: ${subnets.join(', ')}; delete them first`;
        await patchVpcStatus(d, v, { subnets }, [condition('Ready', false, 'SubnetsExist', msg)]);
      }
      return { requeueAfterMs: 2_000 };
    }
    await d.nb.apply([{ owner: owners.vpc(name), desired: [] }]);
    if (v) await d.kube.setFinalizer(v, false, 'vpcs');
    return undefined;
  }

  const plan = planVpc(v, new Map(d.vpcs.list().map((x) => [x.metadata!.name!, x])), d.valid.values());
  const base = {
    router,
    default: name === DEFAULT_VPC,
    standby: true,
    defaultLogicalSwitch: name === DEFAULT_VPC ? d.config.defaultSubnet.name : (v.spec?.defaultSubnet ?? ''),
    subnets,
  };
  if (plan.invalid) {
    const before = v.status?.conditions?.find((c) => c.type === 'Ready');
    await patchVpcStatus(d, v, base, [condition('Ready', false, plan.invalid.reason, plan.invalid.message)]);
    if (before?.status !== 'False' || before.message !== plan.invalid.message)
      await d.kube.event(v, 'Warning', plan.invalid.reason, plan.invalid.message);
    d.log.warn({ vpc: name, reason: plan.invalid.reason, err: plan.invalid.message }, 'vpc rejected');
    return undefined;
  }
  if (name !== DEFAULT_VPC) await d.kube.setFinalizer(v, true, 'vpcs');
  const r = await d.nb.apply([
    {
      owner: owners.vpc(name),
      desired: [
        ...vpcRows({ name: router }),
        ...routeRows(router, plan.routes),
        ...policyRows(router, plan.policies),
        ...plan.peerings.flatMap((p) => peeringPortRows(router, name, p.remote, p.localConnectIP)),
      ],
    },
  ]);
  if (r.failed.length > 0) throw r.failed[0]!.error;
  const warning = plan.warnings[0];
  const conditions = [
    condition('Ready', true, 'Reconciled'),
    warning
      ? condition('PeeringReady', false, warning.reason, plan.warnings.map((w) => w.message).join('; '))
      : undefined,
  ].filter((c): c is Condition => !!c);
  await patchVpcStatus(
    d,
    v,
    { ...base, vpcPeerings: plan.peerings.filter((p) => p.established).map((p) => p.remote) },
    conditions,
  );
  return undefined;
}
