// `ovn-nbctl show [SWITCH|ROUTER]` (print_ls / print_lr in utilities/ovn-nbctl.c).
// Within a switch or router everything is in ovn-nbctl's own order (ports, NATs and gateway chassis
// by uuid). Across switches and routers ovn-nbctl follows its IDL's hash table, which
// depends on how the rows reached it; here switches and routers are sorted by name, then uuid.
import type { Tables } from '../ovsdb/generated/ovn-nb.ts';
import { compareText } from './c-text.ts';
import { lookup } from './nb-lookup.ts';
import { deref, type NbSource, type RowOf, sortedStrings } from './source.ts';

export interface ShowSwitchPort {
  uuid: string;
  name: string;
  /** external_ids:neutron:port_name, printed as "(aka ...)". */
  alias: string | null;
  type: string;
  parent_name: string | null;
  tag: number | null;
  addresses: string[];
  router_port: string | null;
}

export interface ShowSwitch {
  uuid: string;
  name: string;
  alias: string | null;
  ports: ShowSwitchPort[];
}

export interface ShowRouterPort {
  uuid: string;
  name: string;
  mac: string;
  networks: string[];
  route_table: string | null;
  /**
   * In ovn-nbctl's order, which is the uuid order: it sorts them by priority and name, but `show` never
   * loads those two columns, so every key it compares is 0 and "".
   */
  gateway_chassis: { chassis_name: string; priority: number }[];
}

export interface ShowNat {
  uuid: string;
  external_ip: string;
  external_port_range: string;
  logical_ip: string;
  type: string;
}

export interface ShowRouter {
  uuid: string;
  name: string;
  alias: string | null;
  ports: ShowRouterPort[];
  nat: ShowNat[];
}

export interface ShowModel {
  switches: ShowSwitch[];
  routers: ShowRouter[];
}

function alias(externalIds: Record<string, string>, key: string): string | null {
  const a = externalIds[key];
  return a ? a : null;
}

const byNameThenUuid = (a: { name: string; _uuid: string }, b: { name: string; _uuid: string }) =>
  compareText(a.name, b.name) || compareText(a._uuid, b._uuid);

function showSwitch(src: NbSource, ls: RowOf<Tables, 'Logical_Switch'>): ShowSwitch {
  return {
    uuid: ls._uuid,
    name: ls.name,
    alias: alias(ls.external_ids, 'neutron:network_name'),
    ports: deref(src, 'Logical_Switch_Port', ls.ports).map((p) => ({
      uuid: p._uuid,
      name: p.name,
      alias: alias(p.external_ids, 'neutron:port_name'),
      type: p.type,
      parent_name: p.parent_name,
      tag: p.tag,
      addresses: sortedStrings(p.addresses),
      router_port: p.options['router-port'] ?? null,
    })),
  };
}

function showRouter(src: NbSource, lr: RowOf<Tables, 'Logical_Router'>): ShowRouter {
  return {
    uuid: lr._uuid,
    name: lr.name,
    alias: alias(lr.external_ids, 'neutron:router_name'),
    ports: deref(src, 'Logical_Router_Port', lr.ports).map((p) => ({
      uuid: p._uuid,
      name: p.name,
      mac: p.mac,
      networks: sortedStrings(p.networks),
      route_table: p.options.route_table ?? null,
      gateway_chassis: deref(src, 'Gateway_Chassis', p.gateway_chassis).map((g) => ({
        chassis_name: g.chassis_name,
        priority: g.priority,
      })),
    })),
    nat: deref(src, 'NAT', lr.nat).map((n) => ({
      uuid: n._uuid,
      external_ip: n.external_ip,
      external_port_range: n.external_port_range,
      logical_ip: n.logical_ip,
      type: n.type,
    })),
  };
}

/** Everything, or the switch and/or router named id (nothing, without error, when neither exists). */
export function showModel(src: NbSource, id?: string): ShowModel {
  if (id !== undefined) {
    const ls = lookup(src, 'switch', id, false);
    const lr = lookup(src, 'router', id, false);
    return {
      switches: ls ? [showSwitch(src, ls)] : [],
      routers: lr ? [showRouter(src, lr)] : [],
    };
  }
  return {
    switches: [...src.rows('Logical_Switch')].sort(byNameThenUuid).map((ls) => showSwitch(src, ls)),
    routers: [...src.rows('Logical_Router')].sort(byNameThenUuid).map((lr) => showRouter(src, lr)),
  };
}

const quotedList = (xs: string[]) => `[${xs.map((x) => `"${x}"`).join(', ')}]`;

export function renderSwitch(ls: ShowSwitch): string {
  let s = `switch ${ls.uuid} (${ls.name})${ls.alias ? ` (aka ${ls.alias})` : ''}\n`;
  for (const p of ls.ports) {
    s += `    port ${p.name}${p.alias ? ` (aka ${p.alias})` : ''}\n`;
    if (p.type) s += `        type: ${p.type}\n`;
    if (p.parent_name !== null) s += `        parent: ${p.parent_name}\n`;
    if (p.tag !== null) s += `        tag: ${p.tag}\n`;
    // a lone "router" address is left out as clutter
    if (p.addresses.length > 0 && !(p.addresses.length === 1 && p.addresses[0] === 'router')) {
      s += `        addresses: ${quotedList(p.addresses)}\n`;
    }
    if (p.router_port !== null) s += `        router-port: ${p.router_port}\n`;
  }
  return s;
}

export function renderRouter(lr: ShowRouter): string {
  let s = `router ${lr.uuid} (${lr.name})${lr.alias ? ` (aka ${lr.alias})` : ''}\n`;
  for (const p of lr.ports) {
    s += `    port ${p.name}\n`;
    s += `        mac: "${p.mac}"\n`;
    if (p.networks.length > 0) s += `        networks: ${quotedList(p.networks)}\n`;
    if (p.route_table !== null) s += `        route-table: ${p.route_table}\n`;
    if (p.gateway_chassis.length > 0)
      s += `        gateway chassis: [${p.gateway_chassis.map((g) => g.chassis_name).join(' ')}]\n`;
  }
  for (const n of lr.nat) {
    s += `    nat ${n.uuid}\n`;
    s += `        external ip: "${n.external_ip}"\n`;
    if (n.external_port_range) s += `        external port(s): "${n.external_port_range}"\n`;
    s += `        logical ip: "${n.logical_ip}"\n`;
    s += `        type: "${n.type}"\n`;
  }
  return s;
}

export function renderShow(m: ShowModel): string {
  return m.switches.map(renderSwitch).join('') + m.routers.map(renderRouter).join('');
}
