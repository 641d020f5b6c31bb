// NetworkPolicy reconcile: a policy's rows (netpol/plan.ts) written through the northbound writer under the
// owner "np/<ns>/<name>"; a policy that is gone has its rows removed. Level-triggered: every reconcile plans
// the policy from the caches as they are now, and the writer changes only rows that differ, so a label
// change rewrites the port groups and address sets whose members moved and leaves the ACLs alone.
// Which policies a pod or namespace change concerns is decided here, so one pod's change re-plans only the
// policies that select it, have it as a peer, or did so at their last plan.
import type { V1NetworkPolicy, V1Pod } from '@kubernetes/client-node';
import type { Deps } from './deps.ts';
import { Ann } from './k8s/annotations.ts';
import type { ResourceCache } from './k8s/informer.ts';
import type { DesiredRow } from './nb/plan.ts';
import { familyOf } from './netpol/match.ts';
import { type Family, npOwner } from './netpol/names.ts';
import { allPeers, type NetpolWorld, type PodView, planPolicy, podMatters } from './netpol/plan.ts';
import type { Labels } from './netpol/selector.ts';
import type { Outcome } from './subnets.ts';
import { addressOwner } from './workload.ts';

/** The label the API server puts on every namespace (namespaceSelector by name relies on it). */
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export class NetworkPolicies {
  /** Per policy ("<ns>/<name>"), the pods its last plan depended on. */
  private readonly dependsOn = new Map<string, Set<string>>();

  constructor(
    private readonly d: Deps,
    readonly policies: ResourceCache<V1NetworkPolicy>,
  ) {}

  async reconcile(key: string): Promise<Outcome> {
    const [namespace = '', name = ''] = key.split('/');
    const np = this.policies.get(key);
    if (!np) {
      this.dependsOn.delete(key);
      await this.apply(namespace, name, []);
      return undefined;
    }
    const plan = planPolicy(np, this.world());
    this.dependsOn.set(key, plan.pods);
    await this.apply(namespace, name, plan.rows);
    return undefined;
  }

  private async apply(namespace: string, name: string, desired: DesiredRow[]): Promise<void> {
    const r = await this.d.nb.apply(
      [{ owner: npOwner(namespace, name), desired }],
      `np ${namespace}/${name}`,
    );
    if (r.failed.length > 0) throw r.failed[0]!.error;
  }

  private enqueue: (policyKey: string) => void = () => {};
  private unwatch: (() => void) | undefined;

  /**
   * Sends the policies that changes concern to `enqueue`: a pod's port appearing in northbound too (a port
   * group holds ports by uuid, so a port made again must be put back in its groups).
   */
  bind(enqueue: (policyKey: string) => void): void {
    this.enqueue = enqueue;
    this.unwatch?.();
    this.unwatch = this.d.nb.replica.onTableChange('Logical_Switch_Port', (c) => {
      const pod = c.kind === 'insert' ? c.row?.external_ids?.pod : undefined;
      if (pod) this.podChanged(pod);
    });
  }

  podChanged(key: string): void {
    if (this.policies.list().length === 0) return;
    for (const k of this.policiesForPod(key)) this.enqueue(k);
  }

  namespaceChanged(name: string): void {
    for (const k of this.policiesForNamespace(name)) this.enqueue(k);
  }

  async stop(): Promise<void> {
    this.unwatch?.();
    await this.policies.stop();
  }

  /** The policies a pod's change (or its port's) may concern. */
  policiesForPod(key: string): string[] {
    const pod = this.d.pods.get(key);
    const view = pod && this.view(pod);
    const nsLabels = view && this.namespaceLabels(view.namespace);
    const out: string[] = [];
    for (const np of this.policies.list()) {
      const k = `${np.metadata!.namespace}/${np.metadata!.name}`;
      if (this.dependsOn.get(k)?.has(key) || (view && podMatters(np, view, nsLabels))) out.push(k);
    }
    return out;
  }

  /** The policies a namespace's change may concern: those in it, and those that select namespaces. */
  policiesForNamespace(name: string): string[] {
    return this.policies
      .list()
      .filter(
        (np) =>
          np.metadata!.namespace === name ||
          allPeers(np).some((peers) => peers?.some((p) => p.namespaceSelector)),
      )
      .map((np) => `${np.metadata!.namespace}/${np.metadata!.name}`);
  }

  /** Owners of policy rows in northbound whose policy is gone (cleaned up by an ordinary reconcile). */
  orphans(owners: Iterable<string>): string[] {
    const out: string[] = [];
    for (const o of owners) {
      const [kind, ns, name] = o.split('/');
      if (kind === 'np' && ns && name && !this.policies.get(`${ns}/${name}`)) out.push(`${ns}/${name}`);
    }
    return out;
  }

  private namespaceLabels(name: string): Labels | undefined {
    const ns = this.d.namespaces.get(name);
    return ns && { ...ns.metadata?.labels, [NAMESPACE_NAME_LABEL]: name };
  }

  /** A pod on the cluster network, as the planner sees it; undefined for pods policies do not apply to. */
  private view(pod: V1Pod): PodView | undefined {
    const m = pod.metadata;
    const phase = pod.status?.phase;
    if (!m?.namespace || !m.name || pod.spec?.hostNetwork || m.deletionTimestamp) return undefined;
    if (phase === 'Succeeded' || phase === 'Failed') return undefined;
    const ips = (m.annotations?.[Ann.ipAddress] ?? '').split(',').filter(Boolean);
    if (m.annotations?.[Ann.allocated] !== 'true' || ips.length === 0) return undefined;
    const lsp = addressOwner(pod, this.d.kubevirt).lsp;
    return {
      namespace: m.namespace,
      name: m.name,
      labels: m.labels ?? {},
      ips,
      port: this.d.nb.replica.byName('Logical_Switch_Port', lsp)[0]?._uuid,
      containerPorts: (pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []),
    };
  }

  /** A view of the caches for one plan: pods per namespace are built once, when first asked for. */
  private world(): NetpolWorld {
    const d = this.d;
    const byNamespace = new Map<string, PodView[]>();
    const podsOf = (ns: string): PodView[] => {
      let list = byNamespace.get(ns);
      if (!list) {
        list = d.pods.list(ns).flatMap((p) => this.view(p) ?? []);
        byNamespace.set(ns, list);
      }
      return list;
    };
    const namespaces = new Map<string, Labels>();
    for (const ns of d.namespaces.list())
      namespaces.set(ns.metadata!.name!, this.namespaceLabels(ns.metadata!.name!)!);
    const families = new Set<Family>();
    for (const f of d.valid.values()) for (const c of f.cidrBlock.split(',')) families.add(familyOf(c));
    if (families.size === 0) families.add('ip4');
    const join = d.valid.get(d.config.joinSubnet.name)?.cidrBlock ?? d.config.joinSubnet.cidr;
    return {
      pods: (ns) => (ns === undefined ? [...namespaces.keys()].flatMap(podsOf) : podsOf(ns)),
      namespaces,
      families: [...families].sort(),
      nodeCidrs: join.split(',').filter(Boolean),
    };
  }
}
