// The invariants a chaos run ends with, judged from outside the controller: what the API, northbound and
// every node hold at one moment. Pure: a snapshot in, findings out (snapshot.ts collects one).

export interface PodState {
  namespace: string;
  name: string;
  node?: string;
  hostNetwork: boolean;
  terminating: boolean;
  /** Running with a pod IP and condition Ready. */
  ready: boolean;
  annotations: Record<string, string>;
}

export interface IpRecordState {
  name: string;
  subnet: string;
  ipAddress: string;
  podName: string;
  /** '' for a node's join address. */
  namespace: string;
}

export interface PortState {
  name: string;
  switch: string;
  /** The controller's owner tag, e.g. "pod/default/web-0" or "node/node1". */
  owner?: string;
  ips: string[];
}

export interface NodeState {
  name: string;
  /** br-int interfaces bound to a logical port (external_ids:iface-id). */
  boundInterfaces: { name: string; ifaceId: string }[];
  /** Host-side pod veths in the node's namespace (the daemon's `<id>_h` names). */
  hostVeths: string[];
  /** Pod network namespaces of this node's prefix. */
  podNetns: string[];
}

export interface ClusterSnapshot {
  pods: PodState[];
  ips: IpRecordState[];
  ports: PortState[];
  nodes: NodeState[];
  /** The pod network namespaces each node should have: one per pod of that node. */
  expectedNetns: (node: string, pod: PodState) => string;
}

export interface Findings {
  /** (subnet or switch, address) pairs claimed by more than one owner. */
  duplicates: string[];
  /** Objects of pods that do not exist: LSPs, IP records, bound OVS ports, host veths, pod namespaces. */
  leaks: string[];
  /** Pods that exist, want a network and are not addressed and ready. */
  stuck: string[];
}

const IP_ANNOTATION = 'ovn.kubernetes.io/ip_address';
const SWITCH_ANNOTATION = 'ovn.kubernetes.io/logical_switch';

export function judge(s: ClusterSnapshot): Findings {
  const pods = new Map(s.pods.map((p) => [`${p.namespace}/${p.name}`, p]));
  const lspNameOf = (p: PodState) => `${p.name}.${p.namespace}`;
  const podLsps = new Set(s.pods.map(lspNameOf));
  return {
    duplicates: [
      ...claimedTwice(
        s.pods
          .filter((p) => !p.hostNetwork && p.annotations[IP_ANNOTATION])
          .flatMap((p) =>
            splitIps(p.annotations[IP_ANNOTATION]!).map((ip) => ({
              scope: p.annotations[SWITCH_ANNOTATION] ?? '',
              ip,
              owner: `pod ${p.namespace}/${p.name}`,
            })),
          ),
        'pod annotations',
      ),
      ...claimedTwice(
        s.ips.flatMap((r) =>
          splitIps(r.ipAddress).map((ip) => ({ scope: r.subnet, ip, owner: `IP ${r.name}` })),
        ),
        'IP records',
      ),
      ...claimedTwice(
        s.ports.flatMap((p) => p.ips.map((ip) => ({ scope: p.switch, ip, owner: `LSP ${p.name}` }))),
        'logical switch ports',
      ),
    ],
    leaks: [
      ...s.ports
        .filter((p) => p.owner?.startsWith('pod/') && !pods.has(p.owner.slice('pod/'.length)))
        .map((p) => `LSP ${p.name} of missing ${p.owner}`),
      ...s.ips
        .filter((r) => r.namespace !== '' && !pods.has(`${r.namespace}/${r.podName}`))
        .map((r) => `IP ${r.name} of missing pod ${r.namespace}/${r.podName}`),
      ...s.nodes.flatMap((n) => nodeLeaks(n, s, podLsps)),
    ],
    stuck: s.pods
      .filter((p) => !p.hostNetwork && !p.terminating && (!p.annotations[IP_ANNOTATION] || !p.ready))
      .map(
        (p) =>
          `${p.namespace}/${p.name} ${p.annotations[IP_ANNOTATION] ? 'not ready' : 'without an address'}`,
      ),
  };
}

function nodeLeaks(n: NodeState, s: ClusterSnapshot, podLsps: Set<string>): string[] {
  const out: string[] = [];
  // a bound port that names an LSP which is neither a pod's nor still in northbound (the node's ovn0 is)
  const lsps = new Set(s.ports.map((p) => p.name));
  const bound = new Set<string>();
  for (const i of n.boundInterfaces) {
    bound.add(i.name);
    if (!podLsps.has(i.ifaceId) && !lsps.has(i.ifaceId))
      out.push(`OVS port ${i.name} on ${n.name} bound to missing ${i.ifaceId}`);
  }
  for (const v of n.hostVeths) if (!bound.has(v)) out.push(`veth ${v} on ${n.name} attached to no port`);
  const wanted = new Set(
    s.pods.filter((p) => p.node === n.name && !p.hostNetwork).map((p) => s.expectedNetns(n.name, p)),
  );
  for (const ns of n.podNetns) if (!wanted.has(ns)) out.push(`netns ${ns} on ${n.name} of no pod`);
  return out;
}

function claimedTwice(claims: { scope: string; ip: string; owner: string }[], what: string): string[] {
  const owners = new Map<string, Set<string>>();
  for (const c of claims) {
    const k = `${c.scope} ${c.ip}`;
    owners.set(k, (owners.get(k) ?? new Set()).add(c.owner));
  }
  return [...owners]
    .filter(([, o]) => o.size > 1)
    .map(([k, o]) => `${k} in ${what}: ${[...o].sort().join(', ')}`);
}

function splitIps(value: string): string[] {
  return value
    .split(',')
    .map((x) => x.trim().replace(/\/\d+$/, ''))
    .filter(Boolean);
}
