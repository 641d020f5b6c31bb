// A NetworkPolicy as northbound rows, pure: the policy and a view of pods and namespaces in, Port_Group,
// Address_Set and ACL rows out. The shape follows Kube-OVN:
// - a port group "np.<policy>.<ns>" holding the ports of the pods the policy selects;
// - per rule, an address set per family with the addresses of the rule's peer pods; ipBlocks are written
//   into the match with their exceptions (so an exception never cancels another peer of the rule);
// - ACLs on the port group: to-lport for ingress, from-lport for egress (applied after load balancing, so
//   they see a Service's backend, not its VIP), a drop of all IP at 2000 in each direction the policy
//   covers, and allow-related at 2001 for what its rules allow. Every policy drops at the same priority
//   and allows above it, so for a pod selected by several policies the allows add up (the upstream union).
// A pod's node reaches it whatever the policy says (kubelet probes): traffic from the nodes' join
// addresses is allowed in. IPv6 neighbour discovery and DHCP requests are allowed out and in.
// The ACLs name the sets and the port group, never addresses: a label change that moves pods in or out
// of a policy changes only the port group's ports and the sets' addresses.
import type {
  V1NetworkPolicy,
  V1NetworkPolicyIngressRule,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
} from '@kubernetes/client-node';
import type { DesiredRow } from '../nb/plan.ts';
import { anyOf, familyOf, ipBlockMatch, type Protocol, portClause, protocolOf, setRefs } from './match.ts';
import { type Direction, type Family, PolicyNames } from './names.ts';
import { type Labels, selects } from './selector.ts';

/** Kube-OVN's priorities: every policy's default drop, and the allows above it. */
export const PRIORITY = { drop: 2000, allow: 2001 } as const;

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}

/** What the planner needs of a pod. */
export interface PodView {
  namespace: string;
  name: string;
  labels: Labels;
  /** Its addresses on its network (ovn.kubernetes.io/ip_address). */
  ips: readonly string[];
  /** The uuid of its logical switch port once northbound has it: only then do ACLs apply to it. */
  port?: string;
  /** Its containers' ports, for named ports. */
  containerPorts: readonly ContainerPort[];
}

export interface NetpolWorld {
  /** Pods on the cluster network, of one namespace or of all. */
  pods(namespace?: string): readonly PodView[];
  /** Labels of every namespace, by name. */
  namespaces: ReadonlyMap<string, Labels>;
  /** The address families in use: an address set is made per rule per family. */
  families: readonly Family[];
  /** The nodes' addresses on the join network (traffic from them is always let in). */
  nodeCidrs: readonly string[];
}

export interface PolicyPlan {
  rows: DesiredRow[];
  /** "<ns>/<pod>" of every pod the rows depend on (selected, a peer, or a named port's pod). */
  pods: Set<string>;
}

export const podKey = (p: { namespace: string; name: string }) => `${p.namespace}/${p.name}`;

/**
 * An ingress rule's peers. client-node names the field `_from` in the objects its list calls decode, but a
 * watch hands over the JSON as sent, where it is `from`: a cache holds both kinds.
 */
export function ingressPeers(rule: V1NetworkPolicyIngressRule): V1NetworkPolicyPeer[] | undefined {
  return rule._from ?? (rule as { from?: V1NetworkPolicyPeer[] }).from;
}

/** The peer lists of all of a policy's rules, ingress and egress. */
export function allPeers(np: V1NetworkPolicy): (V1NetworkPolicyPeer[] | undefined)[] {
  return [...(np.spec?.ingress ?? []).map(ingressPeers), ...(np.spec?.egress ?? []).map((r) => r.to)];
}

/** Which directions a policy isolates: its policyTypes, or as the API server defaults them. */
export function policyTypes(np: V1NetworkPolicy): { ingress: boolean; egress: boolean } {
  const types = np.spec?.policyTypes;
  if (types && types.length > 0)
    return { ingress: types.includes('Ingress'), egress: types.includes('Egress') };
  return { ingress: true, egress: (np.spec?.egress?.length ?? 0) > 0 };
}

/** The pods a peer selects (none for an ipBlock peer). */
function peerPods(peer: V1NetworkPolicyPeer, ns: string, world: NetpolWorld): PodView[] {
  if (!peer.podSelector && !peer.namespaceSelector) return [];
  const namespaces = peer.namespaceSelector
    ? [...world.namespaces].filter(([, labels]) => selects(peer.namespaceSelector!, labels)).map(([n]) => n)
    : [ns];
  const out: PodView[] = [];
  for (const n of namespaces)
    for (const p of world.pods(n)) if (!peer.podSelector || selects(peer.podSelector, p.labels)) out.push(p);
  return out;
}

/** Whether a peer selects this pod. */
function peerSelects(peer: V1NetworkPolicyPeer, ns: string, pod: PodView, nsLabels: Labels | undefined) {
  if (!peer.podSelector && !peer.namespaceSelector) return false;
  if (peer.namespaceSelector ? !nsLabels || !selects(peer.namespaceSelector, nsLabels) : pod.namespace !== ns)
    return false;
  return !peer.podSelector || selects(peer.podSelector, pod.labels);
}

/**
 * Whether the policy's rows could depend on this pod as it is now: it is selected, a peer of a rule, or a
 * candidate for a named port of a rule open to all destinations. (Whether they depended on it before is
 * the caller's to remember, from PolicyPlan.pods.)
 */
export function podMatters(np: V1NetworkPolicy, pod: PodView, nsLabels: Labels | undefined): boolean {
  const ns = np.metadata?.namespace ?? '';
  if (pod.namespace === ns && selects(np.spec?.podSelector ?? {}, pod.labels)) return true;
  const rules = allPeers(np);
  if ((np.spec?.egress ?? []).some((r) => !r.to?.length && r.ports?.some((p) => namedPort(p) !== undefined)))
    return true;
  return rules.some((peers) => peers?.some((peer) => peerSelects(peer, ns, pod, nsLabels)));
}

/** The port's name when it is a named port. */
function namedPort(p: V1NetworkPolicyPort): string | undefined {
  return typeof p.port === 'string' && !/^\d+$/.test(p.port) ? p.port : undefined;
}

/** The number a pod gives a named port for a protocol, from its containers' ports. */
function resolvePort(pod: PodView, name: string, protocol: Protocol): number | undefined {
  return pod.containerPorts.find((c) => c.name === name && protocolOf(c.protocol) === protocol)
    ?.containerPort;
}

interface Side {
  /** The pod's port in this direction, for the ACL ("outport" to-lport, "inport" from-lport). */
  portField: 'outport' | 'inport';
  /** The peer's address field ("src" for ingress, "dst" for egress). */
  peer: 'src' | 'dst';
  aclDirection: 'to-lport' | 'from-lport';
}

const SIDES: Record<Direction, Side> = {
  ingress: { portField: 'outport', peer: 'src', aclDirection: 'to-lport' },
  egress: { portField: 'inport', peer: 'dst', aclDirection: 'from-lport' },
};

export function planPolicy(np: V1NetworkPolicy, world: NetpolWorld): PolicyPlan {
  const ns = np.metadata!.namespace!;
  const names = new PolicyNames(ns, np.metadata!.name!);
  const pg = names.portGroup;
  const tag = { np: `${ns}/${np.metadata!.name}` };
  const deps = new Set<string>();
  const selected = world.pods(ns).filter((p) => selects(np.spec?.podSelector ?? {}, p.labels));
  for (const p of selected) deps.add(podKey(p));

  const rows: DesiredRow[] = [
    {
      table: 'Port_Group',
      id: names.id('pg'),
      columns: {
        name: pg,
        ports: [...new Set(selected.flatMap((p) => (p.port ? [p.port] : [])))].sort(),
        external_ids: tag,
      },
    },
  ];
  const acls: DesiredRow[] = [];

  const addressSet = (id: (string | number)[], name: string, pods: readonly PodView[], family: Family) => {
    const addresses = new Set<string>();
    for (const p of pods) for (const ip of p.ips) if (familyOf(ip) === family) addresses.add(ip);
    rows.push({
      table: 'Address_Set',
      id: names.id('as', ...id),
      columns: { name, addresses: [...addresses].sort(), external_ids: tag },
    });
    return { family, name };
  };

  const acl = (dir: Direction, id: (string | number)[], priority: number, match: string, action: string) => {
    acls.push({
      table: 'ACL',
      id: names.id('acl', dir, ...id),
      columns: {
        name: tag.np.slice(0, 63),
        direction: SIDES[dir].aclDirection,
        priority,
        match,
        action,
        log: false,
        // from-lport ACLs see a Service's backend address only after load balancing
        options: dir === 'egress' ? { 'apply-after-lb': 'true' } : {},
        external_ids: { ...tag, direction: dir },
      },
      parent: { table: 'Port_Group', id: names.id('pg'), column: 'acls' },
    });
  };

  const types = policyTypes(np);
  for (const dir of ['ingress', 'egress'] as const) {
    if (!types[dir]) continue;
    const side = SIDES[dir];
    const own = `${side.portField} == @${pg}`;
    acl(dir, ['drop'], PRIORITY.drop, `${own} && ip`, 'drop');
    acl(dir, ['nd'], PRIORITY.allow, `${own} && (nd || nd_rs || nd_ra)`, 'allow');
    if (dir === 'ingress') {
      const nodes = world.nodeCidrs.map((c) => `${familyOf(c)}.src == ${c}`);
      if (nodes.length > 0) acl(dir, ['nodes'], PRIORITY.allow, `${own} && ${anyOf(nodes)}`, 'allow-related');
    } else {
      acl(
        dir,
        ['dhcp'],
        PRIORITY.allow,
        `${own} && ((ip4 && udp.src == 68 && udp.dst == 67) || (ip6 && udp.src == 546 && udp.dst == 547))`,
        'allow',
      );
    }

    const rules =
      dir === 'ingress'
        ? (np.spec?.ingress ?? []).map((r) => ({ peers: ingressPeers(r), ports: r.ports }))
        : (np.spec?.egress ?? []).map((r) => ({ peers: r.to, ports: r.ports }));
    rules.forEach((rule, i) => {
      const open = !rule.peers || rule.peers.length === 0;
      // the rule's peers: address sets of its pods (when it selects pods) and its ipBlocks
      let peerPodList: PodView[] = [];
      const peerTerms: string[] = [];
      if (!open) {
        const selectorPeers = rule.peers!.filter((p) => p.podSelector || p.namespaceSelector);
        if (selectorPeers.length > 0) {
          const byKey = new Map<string, PodView>();
          for (const peer of selectorPeers)
            for (const p of peerPods(peer, ns, world)) byKey.set(podKey(p), p);
          peerPodList = [...byKey.values()];
          for (const p of peerPodList) deps.add(podKey(p));
          const sets = world.families.map((f) =>
            addressSet([dir, i, f], names.peerSet(dir, i, f), peerPodList, f),
          );
          peerTerms.push(...setRefs(side.peer, sets));
        }
        for (const peer of rule.peers!) {
          if (!peer.ipBlock) continue;
          const m = ipBlockMatch(side.peer, peer.ipBlock);
          if (m) peerTerms.push(m);
        }
        // peers that select nothing OVN can match: the rule allows nothing
        if (peerTerms.length === 0) return;
      }
      const peerMatch = open ? undefined : anyOf(peerTerms);
      const base = [own, ...(peerMatch ? [peerMatch] : [])];
      if (!rule.ports || rule.ports.length === 0) {
        acl(
          dir,
          [i, 'all'],
          PRIORITY.allow,
          [...base, ...(peerMatch ? [] : ['ip'])].join(' && '),
          'allow-related',
        );
        return;
      }
      rule.ports.forEach((port, j) => {
        const protocol = protocolOf(port.protocol);
        if (!protocol) return;
        const name = namedPort(port);
        if (name === undefined) {
          const n = port.port === undefined ? undefined : Number(port.port);
          const clause = portClause(protocol, n, port.endPort);
          acl(dir, [i, j], PRIORITY.allow, [...base, clause].join(' && '), 'allow-related');
          return;
        }
        // a named port is resolved per pod: the destination's, which is the selected pod for ingress and
        // the peer for egress; pods that give it the same number share an address set and an ACL
        const candidates = dir === 'ingress' ? selected : open ? world.pods() : peerPodList;
        const byNumber = new Map<number, PodView[]>();
        for (const p of candidates) {
          const n = resolvePort(p, name, protocol);
          if (n === undefined) continue;
          deps.add(podKey(p));
          byNumber.set(n, [...(byNumber.get(n) ?? []), p]);
        }
        for (const [n, pods] of [...byNumber].sort((a, b) => a[0] - b[0])) {
          const sets = world.families.map((f) =>
            addressSet([dir, i, `p${j}`, n, f], names.namedPortSet(dir, i, j, n, f), pods, f),
          );
          // for egress the set holds only peers already, so it stands for the peer match
          const dest = anyOf(setRefs('dst', sets));
          const terms = dir === 'ingress' ? [...base, dest] : [own, dest];
          acl(
            dir,
            [i, j, n],
            PRIORITY.allow,
            [...terms, portClause(protocol, n)].join(' && '),
            'allow-related',
          );
        }
      });
    });
  }
  rows.push(...acls);
  return { rows, pods: deps };
}
