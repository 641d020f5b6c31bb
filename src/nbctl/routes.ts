// lr-route-list [--route-table=T] ROUTER and lr-policy-list ROUTER (utilities/ovn-nbctl.c), in
// ovn-nbctl's order: routes by table, then longest prefix first (a dst-ip route before a src-ip one of
// the same length), then address, nexthop and output port; policies by priority, highest first, then
// match. Ties keep the uuid order, as glibc's stable qsort does with the IDL's sorted references.
import { compareText, padStart } from './c-text.ts';
import { smapOrder } from './hmap-order.ts';
import { compareIpv6, normalizePrefix, parseIpv4Cidr, parseIpv6Cidr } from './ip.ts';
import { mustFind } from './nb-lookup.ts';
import { deref, type NbSource, sortedStrings } from './source.ts';

export interface RouteEntry {
  uuid: string;
  route_table: string;
  /** The prefix as ovn-nbctl prints it: the network address, "/plen" unless a host route. */
  ip_prefix: string;
  /** The normalised nexthop, "discard", or "" when there is none. */
  nexthop: string;
  policy: 'dst-ip' | 'src-ip';
  output_port: string | null;
  /** external_ids:ic-learned-route is set (printed as "(learned)"). */
  learned: boolean;
  /** Another route has the same table, prefix and policy. */
  ecmp: boolean;
  ecmp_symmetric_reply: boolean;
  bfd: boolean;
}

export interface RouteList {
  ipv4: RouteEntry[];
  ipv6: RouteEntry[];
}

interface Sortable {
  route: RouteEntry;
  rawNexthop: string;
  priority: number;
  addr: number | Uint8Array;
}

/** __ipv4_route_cmp / __ipv6_route_cmp: what makes two routes ECMP siblings. */
function sameSlotCompare(a: Sortable, b: Sortable): number {
  const t = compareText(a.route.route_table, b.route.route_table);
  if (t) return t;
  if (a.priority !== b.priority) return a.priority > b.priority ? -1 : 1;
  if (typeof a.addr === 'number') return a.addr - (b.addr as number);
  return compareIpv6(a.addr, b.addr as Uint8Array);
}

/** route_cmp_details: nexthop, then output port (a route without one first). */
function detailsCompare(a: Sortable, b: Sortable): number {
  const n = compareText(a.rawNexthop, b.rawNexthop);
  if (n) return n;
  const [pa, pb] = [a.route.output_port, b.route.output_port];
  if (pa !== null && pb !== null) return compareText(pa, pb);
  if (pa === null && pb === null) return 0;
  return pa !== null ? 1 : -1;
}

export function lrRouteList(src: NbSource, routerId: string, routeTable?: string): RouteList {
  const lr = mustFind(src, 'router', routerId);
  const v4: Sortable[] = [];
  const v6: Sortable[] = [];
  for (const r of deref(src, 'Logical_Router_Static_Route', lr.static_routes)) {
    if (routeTable !== undefined && r.route_table !== routeTable) continue;
    const policy = r.policy ?? 'dst-ip';
    const nexthop = r.nexthop === 'discard' ? 'discard' : r.nexthop ? (normalizePrefix(r.nexthop) ?? '') : '';
    const route: RouteEntry = {
      uuid: r._uuid,
      route_table: r.route_table,
      ip_prefix: normalizePrefix(r.ip_prefix) ?? '',
      nexthop,
      policy,
      output_port: r.output_port,
      learned: r.external_ids['ic-learned-route'] !== undefined,
      ecmp: false,
      ecmp_symmetric_reply: (r.options.ecmp_symmetric_reply ?? '').toLowerCase() === 'true',
      bfd: r.bfd !== null,
    };
    const plenPriority = (plen: number) => (policy === 'dst-ip' ? 2 * plen + 1 : 2 * plen);
    const p4 = parseIpv4Cidr(r.ip_prefix);
    if (p4) {
      v4.push({ route, rawNexthop: r.nexthop, priority: plenPriority(p4.plen), addr: p4.addr });
      continue;
    }
    const p6 = parseIpv6Cidr(r.ip_prefix);
    // ovn-nbctl leaves out (with a warning) a route whose prefix is neither
    if (p6) v6.push({ route, rawNexthop: r.nexthop, priority: plenPriority(p6.plen), addr: p6.addr });
  }
  const order = (list: Sortable[]) => {
    list.sort((a, b) => sameSlotCompare(a, b) || detailsCompare(a, b));
    list.forEach((x, i) => {
      x.route.ecmp =
        (i + 1 < list.length && sameSlotCompare(x, list[i + 1]!) === 0) ||
        (i > 0 && sameSlotCompare(x, list[i - 1]!) === 0);
    });
    return list.map((x) => x.route);
  };
  return { ipv4: order(v4), ipv6: order(v6) };
}

function renderRoute(r: RouteEntry): string {
  let s = `${padStart(r.ip_prefix, 25)} ${padStart(r.nexthop, 25)} ${r.policy}`;
  if (r.output_port !== null) s += ` ${r.output_port}`;
  if (r.learned) s += ' (learned)';
  if (r.ecmp) s += ' ecmp';
  if (r.ecmp_symmetric_reply) s += ' ecmp-symmetric-reply';
  if (r.bfd) s += ' bfd';
  return `${s}\n`;
}

function renderFamily(routes: RouteEntry[]): string {
  let s = '';
  routes.forEach((r, i) => {
    if (i === 0 || r.route_table !== routes[i - 1]!.route_table) {
      s += `${i ? '\n' : ''}Route Table ${r.route_table || '<main>'}:\n`;
    }
    s += renderRoute(r);
  });
  return s;
}

export function renderRouteList(m: RouteList): string {
  let s = '';
  if (m.ipv4.length) s += `IPv4 Routes\n${renderFamily(m.ipv4)}`;
  if (m.ipv6.length) s += `${m.ipv4.length ? '\n' : ''}IPv6 Routes\n${renderFamily(m.ipv6)}`;
  return s;
}

export interface PolicyEntry {
  uuid: string;
  priority: number;
  match: string;
  action: string;
  /** Normalised, in the column's order ("" for one that does not parse). */
  nexthops: string[];
  options: Record<string, string>;
}

export function lrPolicyList(src: NbSource, routerId: string): PolicyEntry[] {
  const lr = mustFind(src, 'router', routerId);
  return deref(src, 'Logical_Router_Policy', lr.policies)
    .sort((a, b) => (a.priority !== b.priority ? b.priority - a.priority : compareText(a.match, b.match)))
    .map((p) => ({
      uuid: p._uuid,
      priority: p.priority,
      match: p.match,
      action: p.action,
      nexthops: sortedStrings(p.nexthops).map((n) => normalizePrefix(n) ?? ''),
      options: { ...p.options },
    }));
}

export function renderPolicyList(policies: PolicyEntry[]): string {
  if (policies.length === 0) return '';
  let s = 'Routing Policies\n';
  for (const p of policies) {
    s += `${padStart(String(p.priority), 10)} ${padStart(p.match, 50)} ${padStart(p.action, 15)}`;
    p.nexthops.forEach((n, i) => {
      s += i ? `, ${n}` : ` ${padStart(n, 25)}`;
    });
    const keys = Object.keys(p.options).sort(compareText);
    // ovn-nbctl walks the options' hash table, whose order follows from the keys
    if (keys.length)
      s += `${' '.repeat(15)}${smapOrder(keys)
        .map((k) => `${k}=${p.options[k]}`)
        .join(',')}`;
    s += '\n';
  }
  return s;
}
