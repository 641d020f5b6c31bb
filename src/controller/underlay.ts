// Underlay networks, pure: which nodes a ProviderNetwork applies to and through which NIC, the node labels
// and annotation its daemons report through, which Vlans conflict, a ProviderNetwork's status, and what an
// underlay Subnet needs to be valid. Kube-OVN's names throughout (its pkg/util/const.go, provider_network.go).
import { IpamError, parseCidr, parseIp } from '../ipam/index.ts';
import type { Condition, ProviderNetwork, Vlan } from './k8s/types.ts';

/** The provider of a Vlan that names none, as Kube-OVN's --default-provider-name. */
export const DEFAULT_PROVIDER = 'provider';
/** br-<name> must fit a 15-byte interface name. */
export const PROVIDER_NAME_MAX = 12;

export type PnKey = 'ready' | 'interface' | 'mtu' | 'exclude';

/** The node label a daemon reports a provider network's state with, e.g. `net1.provider-network.kubernetes.io/ready`. */
export function pnLabel(pn: string, key: PnKey): string {
  return `${pn}.provider-network.kubernetes.io/${key}`;
}

/** The node annotation carrying why the network could not be set up there (a label cannot hold a message). */
export function pnErrorAnnotation(pn: string): string {
  return `${pn}.provider-network.kubernetes.io/err_mesg`;
}

export function bridgeOf(pn: string): string {
  return `br-${pn}`;
}

/** Why a ProviderNetwork's name cannot be used, or undefined. */
export function providerNameProblem(name: string): string | undefined {
  if (name.length > PROVIDER_NAME_MAX)
    return `the name ${name} is ${name.length} characters long; at most ${PROVIDER_NAME_MAX} (the bridge br-${name} must fit 15)`;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) return `the name ${name} is not a DNS label`;
  return undefined;
}

export interface NodeView {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Whether the network is on the node: its nodeSelector decides when it has one, else excludeNodes. */
export function appliesTo(pn: ProviderNetwork, node: Pick<NodeView, 'name' | 'labels'>): boolean {
  const sel = pn.spec.nodeSelector;
  if (sel) return selects(sel, node.labels);
  return !(pn.spec.excludeNodes ?? []).includes(node.name);
}

function selects(
  sel: NonNullable<ProviderNetwork['spec']['nodeSelector']>,
  labels: Record<string, string>,
): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const inValues = has && (e.values ?? []).includes(labels[e.key]!);
    const ok =
      e.operator === 'In'
        ? inValues
        : e.operator === 'NotIn'
          ? !inValues
          : e.operator === 'Exists'
            ? has
            : !has;
    if (!ok) return false;
  }
  return true;
}

/** The NIC a node reaches the network through: a customInterfaces entry naming the node, else the default. */
export function nicOf(pn: ProviderNetwork, node: string): string {
  return pn.spec.customInterfaces?.find((c) => c.nodes.includes(node))?.interface ?? pn.spec.defaultInterface;
}

export function vlanIdOf(v: Vlan): number {
  return v.spec.id ?? v.spec.vlanId ?? 0;
}

export function vlanProviderOf(v: Vlan): string {
  return v.spec.provider || v.spec.providerInterfaceName || DEFAULT_PROVIDER;
}

/**
 * The Vlans that conflict, each with the one that keeps the id: of Vlans with one non-zero id on one provider,
 * the oldest (then the first by name) keeps it. Unlike Kube-OVN, which flags whichever it processes second,
 * the verdict does not depend on the order events arrive in.
 */
export function vlanConflicts(vlans: readonly Vlan[]): Map<string, string> {
  const groups = new Map<string, Vlan[]>();
  for (const v of vlans) {
    const id = vlanIdOf(v);
    if (id === 0) continue;
    const key = `${vlanProviderOf(v)}/${id}`;
    groups.set(key, [...(groups.get(key) ?? []), v]);
  }
  const out = new Map<string, string>();
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    const [keeper, ...rest] = [...group].sort(
      (a, b) => created(a) - created(b) || (a.metadata!.name! < b.metadata!.name! ? -1 : 1),
    );
    for (const v of rest) out.set(v.metadata!.name!, keeper!.metadata!.name!);
  }
  return out;
}

function created(v: Vlan): number {
  const t = v.metadata?.creationTimestamp;
  return t ? new Date(t).getTime() : 0;
}

export type PnCondition = Condition & { node: string };

export interface PnStatus {
  ready: boolean;
  readyNodes: string[];
  notReadyNodes: string[];
  /** Names of the Vlans on this network that do not conflict. */
  vlans: string[];
  conditions: PnCondition[];
}

/**
 * A ProviderNetwork's status from what its nodes' daemons report: the ready label, else the error annotation.
 * Nodes it does not apply to are left out; with no node at all it is ready (nothing failed), as in Kube-OVN.
 */
export function providerNetworkStatus(
  pn: ProviderNetwork,
  nodes: readonly NodeView[],
  vlans: readonly Vlan[],
): PnStatus {
  const name = pn.metadata!.name!;
  const conflicts = vlanConflicts(vlans);
  const readyNodes: string[] = [];
  const notReadyNodes: string[] = [];
  const conditions: PnCondition[] = [];
  for (const n of [...nodes].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!appliesTo(pn, n)) continue;
    if (n.labels[pnLabel(name, 'ready')] === 'true') {
      readyNodes.push(n.name);
      conditions.push({
        node: n.name,
        type: 'Ready',
        status: 'True',
        reason: 'InitOVSBridgeSucceeded',
        message: '',
      });
    } else {
      notReadyNodes.push(n.name);
      const why = n.annotations[pnErrorAnnotation(name)] ?? 'the node daemon has not set the network up yet';
      conditions.push({
        node: n.name,
        type: 'Ready',
        status: 'False',
        reason: 'InitOVSBridgeFailed',
        message: why,
      });
    }
  }
  return {
    ready: notReadyNodes.length === 0,
    readyNodes,
    notReadyNodes,
    vlans: vlans
      .filter((v) => vlanProviderOf(v) === name && !conflicts.has(v.metadata!.name!))
      .map((v) => v.metadata!.name!)
      .sort(),
    conditions,
  };
}

/** Node addresses (the management network) inside a subnet's CIDRs. */
export function nodeIpsInside(cidrBlock: string, nodeIps: readonly string[]): string[] {
  const cidrs = cidrBlock.split(',').flatMap((c) => {
    try {
      return [parseCidr(c.trim(), 'cidrBlock')];
    } catch (e) {
      if (e instanceof IpamError) return [];
      throw e;
    }
  });
  return nodeIps.filter((text) => {
    let ip: ReturnType<typeof parseIp>;
    try {
      ip = parseIp(text, 'node address');
    } catch (e) {
      if (e instanceof IpamError) return false;
      throw e;
    }
    return cidrs.some((c) => c.family === ip.family && c.network <= ip.value && ip.value <= c.end);
  });
}
