// What northbound should contain for a VPC, a subnet, a node and a pod, with Kube-OVN's names and tags
// (../shared/notes/kube-ovn-conventions.md). Pure functions: objects in, desired rows out.
import { createHash } from 'node:crypto';
import type { DesiredRow } from './plan.ts';

/** A MAC derived from a name: stable across restarts (no churn on re-plan), locally administered unicast. */
export function stableMac(seed: string): string {
  const h = createHash('sha256').update(seed).digest();
  const bytes = [0x0a, h[0]!, h[1]!, h[2]!, h[3]!, h[4]!];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export const owners = {
  vpc: (name: string) => `vpc/${name}`,
  subnet: (name: string) => `subnet/${name}`,
  node: (name: string) => `node/${name}`,
  pod: (namespace: string, name: string) => `pod/${namespace}/${name}`,
  /** A KubeVirt VM: its port outlives its launcher pods. */
  vm: (namespace: string, name: string) => `vm/${namespace}/${name}`,
};

const ids = {
  router: (name: string) => `lr/${name}`,
  switch: (name: string) => `ls/${name}`,
  lsp: (name: string) => `lsp/${name}`,
  lrp: (name: string) => `lrp/${name}`,
};

/** The desired-row id of a router, for rows of other planners that hang off it (e.g. egress policies). */
export const routerRowId = (name: string): string => ids.router(name);

export interface VpcState {
  name: string;
}

/** The logical router of a VPC, with Kube-OVN's options. */
export function vpcRows(vpc: VpcState): DesiredRow[] {
  return [
    {
      table: 'Logical_Router',
      id: ids.router(vpc.name),
      columns: {
        name: vpc.name,
        options: { mac_binding_age_threshold: '300', dynamic_neigh_routers: 'true' },
        external_ids: {},
      },
    },
  ];
}

/** Default routes (0.0.0.0/0, ::/0) of a router to the given next hops: Kube-OVN's default VPC uses the join gateway. */
export function defaultRouteRows(router: string, nextHops: readonly string[]): DesiredRow[] {
  return nextHops.map((hop) => {
    const v6 = hop.includes(':');
    return {
      table: 'Logical_Router_Static_Route',
      id: `route/${router}/default/${v6 ? 'v6' : 'v4'}`,
      columns: { ip_prefix: v6 ? '::/0' : '0.0.0.0/0', nexthop: hop, policy: 'dst-ip', external_ids: {} },
      parent: { table: 'Logical_Router', id: ids.router(router), column: 'static_routes' },
    };
  });
}

export interface SubnetState {
  name: string;
  /** The router of the subnet's VPC. */
  router: string;
  /** Gateway addresses with prefix length, e.g. ["10.16.0.1/16"] or a v4 and a v6 one. */
  gatewayCidrs: string[];
  /** The subnet's CIDRs ("10.16.0.0/16", ...): traffic to them is routed, never rerouted (policy 31000). */
  cidrs?: string[];
  /** A private subnet only takes traffic from itself, its allowSubnets and the nodes (the join CIDRs). */
  private?: { cidrs: string[]; allowSubnets: string[]; joinCidrs: string[] };
  /**
   * An underlay subnet: its switch reaches the physical network of ProviderNetwork `provider` through a
   * localnet port, tagged `vlanId` (0: untagged). Its router port is there only when gatewayCidrs names
   * addresses (logicalGateway: the gateway; u2oInterconnection: the u2o address).
   */
  localnet?: { provider: string; vlanId: number };
  /**
   * u2oInterconnection: overlay and underlay pods reach each other through the router, and what else the
   * subnet's pods send through it leaves by the physical gateway, node addresses included (Kube-OVN's
   * 29400 allow, 31000 and 29000 reroutes).
   */
  u2o?: { cidrs: string[]; physicalGateways: string[]; nodeIps: string[]; defaultVpc: boolean };
}

const ipMatchField = (cidrOrIp: string) => (cidrOrIp.includes(':') ? 'ip6.dst' : 'ip4.dst');

/** Kube-OVN's router policy "ipX.dst == <subnet cidr> allow" at priority 31000, for the default VPC. */
function allowToSubnet(router: string, subnet: string, cidr: string): DesiredRow {
  const family = cidr.includes(':') ? 'v6' : 'v4';
  return {
    table: 'Logical_Router_Policy',
    id: `lrpolicy/subnet/${subnet}/${family}`,
    columns: {
      priority: 31000,
      match: `${ipMatchField(cidr)} == ${cidr}`,
      action: 'allow',
      external_ids: { subnet },
    },
    parent: { table: 'Logical_Router', id: ids.router(router), column: 'policies' },
  };
}

/** A subnet's logical switch and its router port pair, as Kube-OVN names them. */
export function subnetRows(s: SubnetState): DesiredRow[] {
  const lrp = `${s.router}-${s.name}`;
  const lsp = `${s.name}-${s.router}`;
  const routerPort: DesiredRow[] = [
    {
      table: 'Logical_Router_Port',
      id: ids.lrp(lrp),
      columns: { name: lrp, networks: s.gatewayCidrs, mac: stableMac(lrp), external_ids: { lr: s.router } },
      parent: { table: 'Logical_Router', id: ids.router(s.router), column: 'ports' },
    },
    {
      table: 'Logical_Switch_Port',
      id: ids.lsp(lsp),
      columns: {
        name: lsp,
        type: 'router',
        addresses: ['router'],
        options: { 'router-port': lrp },
        external_ids: { ls: s.name },
      },
      parent: { table: 'Logical_Switch', id: ids.switch(s.name), column: 'ports' },
    },
  ];
  return [
    { table: 'Logical_Switch', id: ids.switch(s.name), columns: { name: s.name, external_ids: {} } },
    ...(s.gatewayCidrs.length > 0 ? routerPort : []),
    ...(s.localnet ? [localnetPort(s.name, s.localnet, s.cidrs ?? [])] : []),
    ...(s.gatewayCidrs.length > 0 ? (s.cidrs ?? []).map((c) => allowToSubnet(s.router, s.name, c)) : []),
    ...(s.private ? privateAcls(s.name, s.private) : []),
    ...(s.u2o ? u2oRows(s.router, s.name, s.u2o) : []),
  ];
}

/** Kube-OVN's localnet port of an underlay subnet, `localnet.<subnet>`: the switch's way onto the VLAN. */
function localnetPort(subnet: string, l: { provider: string; vlanId: number }, cidrs: string[]): DesiredRow {
  const networks = Object.fromEntries(
    cidrs.map((c) => [c.includes(':') ? 'ipv6_network' : 'ipv4_network', c] as const),
  );
  return {
    table: 'Logical_Switch_Port',
    id: ids.lsp(`localnet.${subnet}`),
    columns: {
      name: `localnet.${subnet}`,
      type: 'localnet',
      addresses: ['unknown'],
      options: { network_name: l.provider },
      tag: l.vlanId > 0 ? l.vlanId : null,
      external_ids: { ls: subnet, ...networks },
    },
    parent: { table: 'Logical_Switch', id: ids.switch(subnet), column: 'ports' },
  };
}

/** The name of the address set of node addresses a u2o subnet's pods reach by the physical gateway. */
export function u2oNodeSetName(subnet: string, family: 'ip4' | 'ip6'): string {
  return `${subnet.replaceAll('-', '.')}.u2o_exclude_ip.${family}`;
}

function u2oRows(router: string, subnet: string, u: NonNullable<SubnetState['u2o']>): DesiredRow[] {
  const rows: DesiredRow[] = [];
  const policy = (id: string, priority: number, match: string, nexthop?: string): DesiredRow => ({
    table: 'Logical_Router_Policy',
    id: `lrpolicy/u2o/${subnet}/${id}`,
    columns: {
      priority,
      match,
      action: nexthop ? 'reroute' : 'allow',
      nexthops: nexthop ? [nexthop] : [],
      external_ids: { subnet, isU2ORoutePolicy: 'true' },
    },
    parent: { table: 'Logical_Router', id: ids.router(router), column: 'policies' },
  });
  for (const cidr of u.cidrs) {
    const f = cidr.includes(':') ? 'ip6' : 'ip4';
    const gw = u.physicalGateways.find((g) => g.includes(':') === (f === 'ip6'));
    if (!gw) continue;
    if (u.defaultVpc) {
      // traffic to the subnet is routed (past the overlay pods' egress reroutes at 29000)
      rows.push(policy(`${f}/to`, 29400, `${f}.dst == ${cidr}`));
      const set = u2oNodeSetName(subnet, f);
      rows.push({
        table: 'Address_Set',
        id: `as/u2o/${subnet}/${f}`,
        columns: {
          name: set,
          addresses: u.nodeIps.filter((ip) => ip.includes(':') === (f === 'ip6')).sort(),
          external_ids: { subnet },
        },
      });
      rows.push(policy(`${f}/nodes`, 31000, `${f}.dst == $${set} && ${f}.src == ${cidr}`, gw));
    }
    rows.push(policy(`${f}/from`, 29000, `${f}.src == ${cidr}`, gw));
  }
  return rows;
}

const ipSrcField = (cidr: string) => (cidr.includes(':') ? 'ip6.src' : 'ip4.src');

/**
 * Kube-OVN's ACLs for a private subnet, on its switch, towards its ports: drop IP traffic into the subnet
 * (1000) unless it comes from the subnet itself or an allowed subnet (1001) or from the nodes (3000).
 * allow-related lets the replies of the subnet's own connections back in.
 */
function privateAcls(
  subnet: string,
  p: { cidrs: string[]; allowSubnets: string[]; joinCidrs: string[] },
): DesiredRow[] {
  const rows: DesiredRow[] = [];
  const acl = (id: string, priority: number, match: string, action: string): DesiredRow => ({
    table: 'ACL',
    id: `acl/subnet/${subnet}/${id}`,
    columns: { direction: 'to-lport', priority, match, action, external_ids: { subnet } },
    parent: { table: 'Logical_Switch', id: ids.switch(subnet), column: 'acls' },
  });
  for (const cidr of p.cidrs) {
    const v6 = cidr.includes(':');
    const family = v6 ? 'v6' : 'v4';
    const dst = `${ipMatchField(cidr)} == ${cidr}`;
    rows.push(acl(`drop/${family}`, 1000, dst, 'drop'));
    const sameFamily = (c: string) => c.includes(':') === v6;
    const allowed = [cidr, ...p.allowSubnets.filter(sameFamily)];
    const from = allowed.map((c) => `${ipSrcField(c)} == ${c}`).join(' || ');
    rows.push(acl(`allow/${family}`, 1001, `(${from}) && ${dst}`, 'allow-related'));
    const join = p.joinCidrs.filter(sameFamily);
    if (join.length > 0) {
      const nodes = join.map((c) => `${ipSrcField(c)} == ${c}`).join(' || ');
      rows.push(acl(`nodes/${family}`, 3000, `(${nodes}) && ${dst}`, 'allow-related'));
    }
  }
  return rows;
}

export interface PortState {
  /** LSP name: "<pod>.<ns>" for pods, "node-<node>" for nodes. */
  name: string;
  subnet: string;
  mac: string;
  /** The pod's or node's addresses in its subnet (one per family). */
  ips: string[];
  /** Anti-spoofing: on by default for pods (Kube-OVN leaves it off; we do better). */
  portSecurity: boolean;
  externalIds: Record<string, string>;
}

function portRow(p: PortState): DesiredRow {
  const address = [p.mac, ...p.ips].join(' ');
  return {
    table: 'Logical_Switch_Port',
    id: ids.lsp(p.name),
    columns: {
      name: p.name,
      addresses: [address],
      port_security: p.portSecurity ? [address] : [],
      external_ids: { ls: p.subnet, ...p.externalIds },
    },
    parent: { table: 'Logical_Switch', id: ids.switch(p.subnet), column: 'ports' },
  };
}

export interface PodPortState {
  namespace: string;
  pod: string;
  subnet: string;
  mac: string;
  ips: string[];
  portSecurity: boolean;
  /** The port's name when it is not "<pod>.<ns>" (a VM's "<vm>.<ns>"). */
  portName?: string;
  /** LSP options (a VM's requested-chassis and activation-strategy during live migration). */
  options?: Record<string, string>;
}

export function podPortName(namespace: string, pod: string): string {
  return `${pod}.${namespace}`;
}

export function podRows(p: PodPortState): DesiredRow[] {
  const row = portRow({
    name: p.portName ?? podPortName(p.namespace, p.pod),
    subnet: p.subnet,
    mac: p.mac,
    ips: p.ips,
    portSecurity: p.portSecurity,
    externalIds: { pod: `${p.namespace}/${p.pod}` },
  });
  row.columns.options = p.options ?? {};
  return [row];
}

export interface NodePortState {
  node: string;
  /** The join subnet's name. */
  joinSubnet: string;
  mac: string;
  /** The node's join addresses (one per family). */
  ips: string[];
  /** The cluster router, and the node's own addresses (InternalIP) that pods must reach through ovn0. */
  router?: string;
  nodeIps?: string[];
}

/**
 * The node's port on the join switch (ovn0 on the host binds to it), and Kube-OVN's priority-30000 policy
 * that reroutes pod traffic for the node's own address to the node's join address, so pods reach the host.
 */
export function nodeRows(n: NodePortState): DesiredRow[] {
  const rows = [
    portRow({
      name: `node-${n.node}`,
      subnet: n.joinSubnet,
      mac: n.mac,
      ips: n.ips,
      portSecurity: false,
      externalIds: { node: n.node },
    }),
  ];
  for (const nodeIp of n.nodeIps ?? []) {
    const v6 = nodeIp.includes(':');
    const via = n.ips.find((ip) => ip.includes(':') === v6);
    if (!via || !n.router) continue;
    rows.push({
      table: 'Logical_Router_Policy',
      id: `lrpolicy/node/${n.node}/${v6 ? 'v6' : 'v4'}`,
      columns: {
        priority: 30000,
        match: `${ipMatchField(nodeIp)} == ${nodeIp}`,
        action: 'reroute',
        nexthops: [via],
        external_ids: { node: n.node },
      },
      parent: { table: 'Logical_Router', id: ids.router(n.router), column: 'policies' },
    });
  }
  return rows;
}
