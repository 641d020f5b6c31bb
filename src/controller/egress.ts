// Egress of the default VPC's pods to addresses outside the cluster, as Kube-OVN routes it: router policies
// at priority 29000 send a subnet's outbound traffic to a node's join address (ovn0), where the node SNATs
// it (src/daemon/nat.ts) and routes it out of its underlay. Distributed (the default): each pod leaves
// through its own node, matched by an Address_Set per subnet per node of that node's pod addresses.
// Centralized: the whole subnet leaves through the first Ready node of its gatewayNode list. Cluster-bound
// traffic never gets here: the subnets' 31000 allows and the nodes' 30000 reroutes match first.
// One key re-plans every subnet's egress (pods come, go and move between nodes; nodes come and go).
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { Deps } from './deps.ts';
import { Ann } from './k8s/annotations.ts';
import type { Subnet } from './k8s/types.ts';
import type { DesiredRow } from './nb/plan.ts';
import { routerRowId } from './nb/topology.ts';
import type { Outcome } from './subnets.ts';
import { DEFAULT_VPC, routerOfVpc } from './vpcs.ts';

/** Kube-OVN's priority of the egress reroute policies. */
export const EGRESS_PRIORITY = 29000;

export const egressOwner = (subnet: string) => `egress/${subnet}`;

type Family = 'ip4' | 'ip6';
const familyOf = (ipOrCidr: string): Family => (ipOrCidr.includes(':') ? 'ip6' : 'ip4');

/** The Subnet fields egress reads (Kube-OVN's names). */
export interface SubnetEgressSpec {
  gatewayType?: string;
  gatewayNode?: string;
  natOutgoing?: boolean;
}

export interface EgressSubnet {
  name: string;
  router: string;
  cidrs: string[];
  gatewayType: 'distributed' | 'centralized';
  /** Candidate gateway nodes in order (centralized). */
  gatewayNodes: string[];
}

export interface EgressNode {
  name: string;
  /** The node's join addresses (one per family), from its annotations. */
  joinIps: string[];
  ready: boolean;
}

export interface EgressPod {
  node: string;
  subnet: string;
  ips: string[];
}

export interface EgressPlan {
  /** Desired rows per subnet (owner egress/<subnet>). */
  rows: Map<string, DesiredRow[]>;
  /** Centralized subnets: the gateway node chosen, or undefined when none of gatewayNode can serve. */
  gateways: Map<string, string | undefined>;
}

/**
 * Kube-OVN's name for a subnet's pods on a node (a port group there, an Address_Set here; the match text
 * `$<name>_ip4` is the same). Dashes are not allowed in OVN match identifiers, so they become dots.
 */
export function egressSetName(subnet: string, node: string, family: Family): string {
  return `${subnet}.${node}`.replaceAll('-', '.') + `_${family}`;
}

/** The gateway of a centralized subnet: the first Ready node of its list that has a join address. */
export function chooseGateway(
  candidates: readonly string[],
  nodes: ReadonlyMap<string, EgressNode>,
): string | undefined {
  return candidates.find((n) => {
    const node = nodes.get(n);
    return node?.ready && node.joinIps.length > 0;
  });
}

/** Every subnet's egress rows, pure: subnets, nodes and placed pods in, Address_Sets and policies out. */
export function planEgress(input: {
  subnets: readonly EgressSubnet[];
  nodes: readonly EgressNode[];
  pods: readonly EgressPod[];
}): EgressPlan {
  const nodes = new Map(input.nodes.map((n) => [n.name, n]));
  const rows = new Map<string, DesiredRow[]>();
  const gateways = new Map<string, string | undefined>();
  // subnet -> node -> family -> addresses
  const placed = new Map<string, Map<string, Map<Family, Set<string>>>>();
  for (const p of input.pods) {
    const byNode = placed.get(p.subnet) ?? new Map<string, Map<Family, Set<string>>>();
    placed.set(p.subnet, byNode);
    const byFamily = byNode.get(p.node) ?? new Map<Family, Set<string>>();
    byNode.set(p.node, byFamily);
    for (const ip of p.ips) {
      const set = byFamily.get(familyOf(ip)) ?? new Set<string>();
      set.add(ip);
      byFamily.set(familyOf(ip), set);
    }
  }
  for (const s of input.subnets) {
    const out: DesiredRow[] = [];
    rows.set(s.name, out);
    const families = [...new Set(s.cidrs.map(familyOf))];
    const policy = (id: string, match: string, nexthop: string, ids: Record<string, string>): DesiredRow => ({
      table: 'Logical_Router_Policy',
      id: `lrpolicy/egress/${id}`,
      columns: {
        priority: EGRESS_PRIORITY,
        match,
        action: 'reroute',
        nexthops: [nexthop],
        external_ids: { subnet: s.name, ...ids },
      },
      parent: { table: 'Logical_Router', id: routerRowId(s.router), column: 'policies' },
    });
    if (s.gatewayType === 'centralized') {
      const gw = chooseGateway(s.gatewayNodes, nodes);
      gateways.set(s.name, gw);
      if (!gw) continue; // no node can carry it: its egress stops rather than leaking out elsewhere
      for (const cidr of s.cidrs) {
        const hop = nodes.get(gw)!.joinIps.find((ip) => familyOf(ip) === familyOf(cidr));
        if (!hop) continue;
        const f = familyOf(cidr);
        out.push(policy(`${s.name}/${f}/${cidr}`, `${f}.src == ${cidr}`, hop, { node: gw }));
      }
      continue;
    }
    for (const node of input.nodes) {
      for (const f of families) {
        const hop = node.joinIps.find((ip) => familyOf(ip) === f);
        if (!hop) continue;
        const name = egressSetName(s.name, node.name, f);
        const addresses = [...(placed.get(s.name)?.get(node.name)?.get(f) ?? [])].sort();
        out.push({
          table: 'Address_Set',
          id: `as/egress/${s.name}/${node.name}/${f}`,
          columns: { name, addresses, external_ids: { subnet: s.name, node: node.name } },
        });
        out.push(policy(`${s.name}/${node.name}/${f}`, `${f}.src == $${name}`, hop, { node: node.name }));
      }
    }
  }
  return { rows, gateways };
}

/** A Subnet's egress settings with Kube-OVN's defaults (distributed; gatewayNode "n1,n2" or "n1:ip,..."). */
export function egressSettings(s: Subnet): Pick<EgressSubnet, 'gatewayType' | 'gatewayNodes'> {
  const spec = s.spec as Subnet['spec'] & SubnetEgressSpec;
  return {
    gatewayType: spec.gatewayType === 'centralized' ? 'centralized' : 'distributed',
    gatewayNodes: (spec.gatewayNode ?? '')
      .split(',')
      .map((n) => n.split(':')[0]!.trim())
      .filter(Boolean),
  };
}

export function egressNode(n: V1Node): EgressNode {
  const a = n.metadata?.annotations ?? {};
  return {
    name: n.metadata!.name!,
    joinIps: a[Ann.allocated] === 'true' ? (a[Ann.ipAddress] ?? '').split(',').filter(Boolean) : [],
    ready: (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
  };
}

/**
 * The placed pods' addresses in their primary subnet. A VM's address is held by two launcher pods during a
 * live migration: it stays with the older running one until that one completes.
 */
export function egressPods(pods: readonly V1Pod[]): EgressPod[] {
  const live = pods
    .filter((p) => p.spec?.nodeName && !p.spec.hostNetwork && !p.metadata?.deletionTimestamp)
    .filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed')
    .filter((p) => p.metadata?.annotations?.[Ann.allocated] === 'true')
    .sort(
      (a, b) =>
        String(a.metadata?.creationTimestamp ?? '').localeCompare(
          String(b.metadata?.creationTimestamp ?? ''),
        ) ||
        `${a.metadata?.namespace}/${a.metadata?.name}`.localeCompare(
          `${b.metadata?.namespace}/${b.metadata?.name}`,
        ),
    );
  const taken = new Set<string>();
  const out: EgressPod[] = [];
  for (const p of live) {
    const a = p.metadata!.annotations!;
    const subnet = a[Ann.logicalSwitch];
    const ips = (a[Ann.ipAddress] ?? '').split(',').filter((ip) => ip && !taken.has(`${subnet}|${ip}`));
    if (!subnet || ips.length === 0) continue;
    for (const ip of ips) taken.add(`${subnet}|${ip}`);
    out.push({ node: p.spec!.nodeName!, subnet, ips });
  }
  return out;
}

/** Brings every default-VPC subnet's egress policies to what its pods, nodes and settings want. */
/**
 * Which pods are in which subnet (their logical_switch annotation), kept as pods change, so that a pod
 * change replans only its own subnet's egress and a replan reads only that subnet's pods: at 10k pods in
 * 100 subnets, replanning everything on every pod change cut the controller from 400 to 10 pods/s.
 */
export class EgressIndex {
  private readonly subnetOf = new Map<string, string>();
  private readonly members = new Map<string, Set<string>>();

  /** Records the pod's subnet; returns the subnets whose egress the change may touch (old and new). */
  podChanged(key: string, pod: V1Pod | undefined): string[] {
    const before = this.subnetOf.get(key);
    const after = pod?.metadata?.annotations?.[Ann.logicalSwitch];
    if (before && before !== after) this.members.get(before)?.delete(key);
    if (after) {
      this.subnetOf.set(key, after);
      const m = this.members.get(after) ?? new Set<string>();
      m.add(key);
      this.members.set(after, m);
    } else this.subnetOf.delete(key);
    return [...new Set([before, after])].filter((s): s is string => !!s);
  }

  podKeys(subnet: string): string[] {
    return [...(this.members.get(subnet) ?? [])];
  }
}

/** One subnet's egress policies and address sets; none for a subnet that is gone or not eligible. */
export async function reconcileEgress(d: Deps, name: string, index: EgressIndex): Promise<Outcome> {
  const f = d.valid.get(name);
  const s = d.subnets.get(name);
  const owner = egressOwner(name);
  if (
    !f ||
    !s ||
    f.vpc !== DEFAULT_VPC ||
    name === d.config.joinSubnet.name ||
    s.metadata?.deletionTimestamp
  ) {
    const r = await d.nb.apply([{ owner, desired: [] }], 'egress');
    if (r.failed.length > 0) throw r.failed[0]!.error;
    return undefined;
  }
  const subnet: EgressSubnet = {
    name,
    router: routerOfVpc(d, DEFAULT_VPC),
    cidrs: f.cidrBlock.split(','),
    ...egressSettings(s),
  };
  const pods = index.podKeys(name).flatMap((k) => d.pods.get(k) ?? []);
  const plan = planEgress({
    subnets: [subnet],
    nodes: d.nodes
      .list()
      .filter((n) => !n.metadata?.deletionTimestamp)
      .map(egressNode),
    pods: egressPods(pods),
  });
  const r = await d.nb.apply([{ owner, desired: plan.rows.get(name) ?? [] }], 'egress');
  if (r.failed.length > 0) throw r.failed[0]!.error;
  await reportGateway(d, name, subnet.gatewayType, plan.gateways.get(name));
  return undefined;
}

/**
 * status.activateGateway as Kube-OVN writes it, with an Event when it changes; a centralized subnet none of
 * whose gateway nodes can serve gets activateGateway "" and a Warning once (the status remembers it).
 */
async function reportGateway(
  d: Deps,
  name: string,
  type: EgressSubnet['gatewayType'],
  gw: string | undefined,
): Promise<void> {
  const s = d.subnets.get(name);
  if (!s) return;
  const have = s.status?.activateGateway as string | undefined;
  if (type === 'distributed') {
    if (have) await d.kube.patchCrStatus('subnets', name, { activateGateway: '' });
    return;
  }
  const want = gw ?? '';
  if (have === want) return;
  await d.kube.patchCrStatus('subnets', name, { activateGateway: want });
  if (gw) {
    await d.kube.event(s, 'Normal', 'GatewayActivated', `egress leaves through node ${gw}`);
    return;
  }
  const nodes = (s.spec as SubnetEgressSpec).gatewayNode ?? '';
  await d.kube.event(
    s,
    'Warning',
    'NoActiveGateway',
    `no Ready node of gatewayNode "${nodes}" can carry the egress`,
  );
  d.log.warn({ subnet: name, gatewayNode: nodes }, 'centralized subnet has no active gateway');
}
