// ProviderNetwork and Vlan status, written by the controller from what the node daemons report (a ready
// label per node, or an error annotation) and from the Vlans themselves. Kube-OVN's fields: ready,
// readyNodes, notReadyNodes, vlans and one Ready condition per node; a Vlan's subnets and conflict. A name
// that cannot make a bridge, and a Vlan that takes an id another already has, get a condition and one
// Warning Event. Nothing here touches northbound: underlay subnets do (subnets.ts).
import type { Deps } from './deps.ts';
import { condition, patchStatusIfChanged } from './k8s/status.ts';
import {
  type NodeView,
  type PnCondition,
  providerNameProblem,
  providerNetworkStatus,
  vlanConflicts,
  vlanIdOf,
  vlanProviderOf,
} from './underlay.ts';
import { unimplementedProviderNetworkFields } from './unimplemented.ts';
import {
  FIELDS_NOT_IMPLEMENTED,
  UNSUPPORTED_FIELDS,
  unsupportedFieldsMessage,
} from './unsupported-fields.ts';

function nodeViews(d: Deps): NodeView[] {
  return d.nodes.list().map((n) => ({
    name: n.metadata!.name!,
    labels: n.metadata?.labels ?? {},
    annotations: n.metadata?.annotations ?? {},
  }));
}

/** Conditions keyed by node and type keep their timestamps while their status, reason and message stay. */
function mergeConditions(
  old: readonly PnCondition[],
  next: readonly PnCondition[],
  now: string,
): PnCondition[] {
  return next.map((c) => {
    const prev = old.find((o) => o.node === c.node && o.type === c.type);
    const same = prev && prev.status === c.status && prev.reason === c.reason && prev.message === c.message;
    return same ? prev : { ...c, lastTransitionTime: now, lastUpdateTime: now };
  });
}

export async function reconcileProviderNetwork(d: Deps, name: string): Promise<void> {
  const pn = d.providerNetworks.get(name);
  if (!pn) return;
  const st = providerNetworkStatus(pn, nodeViews(d), d.vlans.list());
  const problem = providerNameProblem(name);
  const old = (pn.status?.conditions ?? []) as PnCondition[];
  const now = new Date().toISOString();
  const validated: PnCondition = problem
    ? { node: '', type: 'Validated', status: 'False', reason: 'InvalidName', message: problem }
    : { node: '', type: 'Validated', status: 'True', reason: 'ValidatedSuccessfully', message: '' };
  // fields the CRD accepts that have no effect here: said, as for Subnets, Vpcs and IPPools
  const ignored = unimplementedProviderNetworkFields(pn.spec);
  const unsupported: PnCondition[] = ignored.length
    ? [
        {
          node: '',
          type: UNSUPPORTED_FIELDS,
          status: 'True',
          reason: FIELDS_NOT_IMPLEMENTED,
          message: unsupportedFieldsMessage(ignored),
        },
      ]
    : [];
  const conditions = mergeConditions(
    old,
    [validated, ...unsupported, ...(problem ? [] : st.conditions)],
    now,
  );
  const status = problem
    ? { ready: false, readyNodes: [], notReadyNodes: [], vlans: [], conditions }
    : { ...st, conditions };
  const { conditions: _old, ...oldRest } = pn.status ?? {};
  const { conditions: _new, ...newRest } = status;
  const changed =
    JSON.stringify(oldRest) !== JSON.stringify({ ...oldRest, ...newRest }) ||
    conditions.length !== old.length ||
    conditions.some((c, i) => c !== old[i]);
  if (!changed) return;
  await d.kube.patchCrStatus('provider-networks', name, status);
  const before = old.find((c) => c.type === 'Validated');
  if (problem && before?.status !== 'False')
    await d.kube.event(ref(pn, 'ProviderNetwork'), 'Warning', 'InvalidName', problem);
  const said = old.find((c) => c.type === UNSUPPORTED_FIELDS);
  if (unsupported[0] && said?.message !== unsupported[0].message)
    await d.kube.event(ref(pn, 'ProviderNetwork'), 'Warning', UNSUPPORTED_FIELDS, unsupported[0].message!);
}

export async function reconcileVlan(d: Deps, name: string): Promise<void> {
  const v = d.vlans.get(name);
  if (!v) return;
  const keeper = vlanConflicts(d.vlans.list()).get(name);
  const provider = vlanProviderOf(v);
  const subnets = d.subnets
    .list()
    .filter((s) => s.spec.vlan === name)
    .map((s) => s.metadata!.name!)
    .sort();
  const verdict = keeper
    ? condition(
        'Ready',
        false,
        'Conflict',
        `id ${vlanIdOf(v)} on ${provider} is the older Vlan ${keeper}'s; this Vlan's subnets are not set up`,
      )
    : !d.providerNetworks.get(provider)
      ? condition('Ready', false, 'ProviderNetworkNotFound', `ProviderNetwork ${provider} does not exist`)
      : condition('Ready', true, 'Ready');
  const before = v.status?.conditions?.find((c) => c.type === 'Ready');
  await patchStatusIfChanged(v.status, { subnets, conflict: !!keeper }, [verdict], (status) =>
    d.kube.patchCrStatus('vlans', name, status),
  );
  if (verdict.status === 'False' && (before?.status !== 'False' || before.reason !== verdict.reason))
    await d.kube.event(ref(v, 'Vlan'), 'Warning', verdict.reason!, verdict.message!);
}

/** The object with the apiVersion and kind an Event's involvedObject names. */
function ref<T extends { metadata?: object }>(o: T, kind: string): T & { apiVersion: string; kind: string } {
  return { ...o, apiVersion: 'kubeovn.io/v1', kind };
}
