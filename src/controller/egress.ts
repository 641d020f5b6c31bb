// Egress of the default VPC's pods to addresses outside the cluster, as Kube-OVN routes it: router policies
// at priority 29000 send a subnet's outbound traffic to a node's join address (ovn0), where the node SNATs
// it (src/daemon/nat.ts) and routes it out of its underlay. Distributed (the default): each pod leaves
// through its own node, matched by an Address_Set per subnet per node of that node's pod addresses.
// Centralized: the whole subnet leaves through the first Ready node of its gatewayNode list. Cluster-bound
// traffic never gets here: the subnets' 31000 allows and the nodes' 30000 reroutes match first.
// Work-queue keys (and northbound owners): "<subnet>" for what concerns the whole subnet (a centralized
// subnet's reroutes, status.activateGateway), "<subnet>/<node>" for a distributed subnet's set and reroute
// on one node. A pod change re-plans its pair only: at 10k pods in 100 subnets on 100 nodes, re-planning
// a subnet's 200 rows per change was 93% of the controller's northbound planning.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { Deps } from './deps.ts';
import { Ann } from './k8s/annotations.ts';
import type { Subnet } from './k8s/types.ts';
import type { DesiredRow } from './nb/plan.ts';
import { routerRowId } from './nb/topology.ts';
import { familyOf } from './netpol/match.ts';
import type { Family } from './netpol/names.ts';
import type { Outcome } from './subnets.ts';
import { DEFAULT_VPC, routerOfVpc } from './vpcs.ts';

/** Kube-OVN's priority of the egress reroute policies. */
export const EGRESS_PRIORITY = 29000;

/** The owner of a work-queue key's rows: "egress/<subnet>" or "egress/<subnet>/<node>". */
export const egressOwner = (key: string) => `egress/${key}`;

/** The key of a distributed subnet's rows on one node. */
export const pairKey = (subnet: string, node: string) => `${subnet}/${node}`;

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

/**
 * Which pods are on which subnet and node (their logical_switch annotation and spec.nodeName), kept as pods
 * change, so that a pod change names the pairs it may touch and a pair's plan reads only its own pods. It
 * also knows which pods hold the same address: a VM's two launcher pods during a live migration, on two
 * nodes, where the address stays with the older one (egressPods) until it completes.
 */
export class EgressIndex {
  private readonly placed = new Map<string, { pair?: string; addresses: string[] }>();
  private readonly members = new Map<string, Set<string>>();
  private readonly holders = new Map<string, Set<string>>();

  /** Records the pod's placement; returns the pair keys the change may touch. */
  podChanged(key: string, pod: V1Pod | undefined): string[] {
    const before = this.placed.get(key);
    const a = pod?.metadata?.annotations ?? {};
    const subnet = a[Ann.logicalSwitch];
    const node = pod?.spec?.nodeName;
    const after = {
      pair: subnet && node ? pairKey(subnet, node) : undefined,
      addresses: subnet
        ? (a[Ann.ipAddress] ?? '').split(',').flatMap((ip) => (ip ? [`${subnet}|${ip}`] : []))
        : [],
    };
    const touched = new Set<string>();
    const add = (k: string | undefined) => k && touched.add(k);
    add(before?.pair);
    add(after.pair);
    // pods that share an address with this one, before or after: one of them may now hold it
    for (const addr of [...(before?.addresses ?? []), ...after.addresses])
      for (const other of this.holders.get(addr) ?? []) if (other !== key) add(this.placed.get(other)?.pair);
    if (before) {
      if (before.pair) this.members.get(before.pair)?.delete(key);
      for (const addr of before.addresses) this.holders.get(addr)?.delete(key);
    }
    if (after.pair || after.addresses.length > 0) {
      this.placed.set(key, after);
      if (after.pair) setAdd(this.members, after.pair, key);
      for (const addr of after.addresses) setAdd(this.holders, addr, key);
    } else this.placed.delete(key);
    return [...touched];
  }

  /** The pods a pair's plan reads: those placed there, and those elsewhere sharing an address with them. */
  podKeys(pair: string): string[] {
    const out = new Set(this.members.get(pair));
    for (const k of [...out])
      for (const addr of this.placed.get(k)?.addresses ?? [])
        for (const o of this.holders.get(addr) ?? []) out.add(o);
    return [...out];
  }
}

function setAdd(m: Map<string, Set<string>>, key: string, value: string): void {
  const set = m.get(key) ?? new Set<string>();
  set.add(value);
  m.set(key, set);
}

/**
 * Whether a subnet's egress is routed here at all: a valid default-VPC subnet, not join, not deleting, and
 * not an underlay subnet unless its gateway is logical (otherwise its pods leave by the physical gateway).
 */
function eligible(d: Deps, name: string): Subnet | undefined {
  const f = d.valid.get(name);
  const s = d.subnets.get(name);
  if (!f || !s || f.vpc !== DEFAULT_VPC || name === d.config.joinSubnet.name) return undefined;
  if (f.underlay && !s.spec.logicalGateway) return undefined;
  return s.metadata?.deletionTimestamp ? undefined : s;
}

function egressSubnet(d: Deps, s: Subnet): EgressSubnet {
  const name = s.metadata!.name!;
  return {
    name,
    router: routerOfVpc(d, DEFAULT_VPC),
    cidrs: d.valid.get(name)!.cidrBlock.split(','),
    ...egressSettings(s),
  };
}

async function write(d: Deps, key: string, desired: DesiredRow[]): Promise<void> {
  const r = await d.nb.apply([{ owner: egressOwner(key), desired }], 'egress');
  if (r.failed.length > 0) throw r.failed[0]!.error;
}

/**
 * One key's egress rows. "<subnet>": a centralized subnet's reroutes and the gateway it reports (none
 * for a distributed one). "<subnet>/<node>": a distributed subnet's set and reroute on that node (none
 * when the node is gone or the subnet is not distributed). A subnet that is gone or not eligible has none.
 */
export async function reconcileEgress(d: Deps, key: string, index: EgressIndex): Promise<Outcome> {
  const { rows, gateway } = desiredEgress(d, key, index);
  await write(d, key, rows);
  // the status follows the rows: a gateway is reported once its reroutes are in
  if (gateway) await reportGateway(d, key, gateway.type, gateway.node);
  return undefined;
}

interface KeyPlan {
  rows: DesiredRow[];
  /** For a subnet key: the gateway to report. */
  gateway?: { type: EgressSubnet['gatewayType']; node: string | undefined };
}

function desiredEgress(d: Deps, key: string, index: EgressIndex): KeyPlan {
  const [name = '', nodeName] = key.split('/');
  const s = eligible(d, name);
  if (!s) return { rows: [] };
  const subnet = egressSubnet(d, s);
  const live = (n: V1Node) => !n.metadata?.deletionTimestamp;
  if (nodeName === undefined) {
    if (subnet.gatewayType !== 'centralized')
      return { rows: [], gateway: { type: subnet.gatewayType, node: undefined } };
    const nodes = d.nodes.list().filter(live).map(egressNode);
    const plan = planEgress({ subnets: [subnet], nodes, pods: [] });
    return {
      rows: plan.rows.get(name) ?? [],
      gateway: { type: 'centralized', node: plan.gateways.get(name) },
    };
  }
  const node = d.nodes.get(nodeName);
  if (subnet.gatewayType !== 'distributed' || !node || !live(node)) return { rows: [] };
  const pods = index.podKeys(key).flatMap((k) => d.pods.get(k) ?? []);
  // a migrating VM's address is counted where its older launcher pod is, possibly another node
  const here = egressPods(pods).filter((p) => p.node === nodeName);
  return {
    rows: planEgress({ subnets: [subnet], nodes: [egressNode(node)], pods: here }).rows.get(name) ?? [],
  };
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
