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
};

const ids = {
  router: (name: string) => `lr/${name}`,
  switch: (name: string) => `ls/${name}`,
  lsp: (name: string) => `lsp/${name}`,
  lrp: (name: string) => `lrp/${name}`,
};

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

export interface SubnetState {
  name: string;
  /** The router of the subnet's VPC. */
  router: string;
  /** Gateway addresses with prefix length, e.g. ["10.16.0.1/16"] or a v4 and a v6 one. */
  gatewayCidrs: string[];
}

/** A subnet's logical switch and its router port pair, as Kube-OVN names them. */
export function subnetRows(s: SubnetState): DesiredRow[] {
  const lrp = `${s.router}-${s.name}`;
  const lsp = `${s.name}-${s.router}`;
  return [
    { table: 'Logical_Switch', id: ids.switch(s.name), columns: { name: s.name, external_ids: {} } },
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
}

export function podPortName(namespace: string, pod: string): string {
  return `${pod}.${namespace}`;
}

export function podRows(p: PodPortState): DesiredRow[] {
  return [
    portRow({
      name: podPortName(p.namespace, p.pod),
      subnet: p.subnet,
      mac: p.mac,
      ips: p.ips,
      portSecurity: p.portSecurity,
      externalIds: { pod: `${p.namespace}/${p.pod}` },
    }),
  ];
}

export interface NodePortState {
  node: string;
  /** The join subnet's name. */
  joinSubnet: string;
  mac: string;
  ips: string[];
}

/** The node's port on the join switch (ovn0 on the host binds to it). */
export function nodeRows(n: NodePortState): DesiredRow[] {
  return [
    portRow({
      name: `node-${n.node}`,
      subnet: n.joinSubnet,
      mac: n.mac,
      ips: n.ips,
      portSecurity: false,
      externalIds: { node: n.node },
    }),
  ];
}
