// acl-list [--type=switch|port-group] ENTITY, and lb-list [LB], ls-lb-list SWITCH, lr-lb-list ROUTER
// (utilities/ovn-nbctl.c), in ovn-nbctl's order.
import type { LoadBalancer } from '../ovsdb/generated/ovn-nb.ts';
import { byteLength, compareText, padEnd, padStart } from './c-text.ts';
import { ViewError } from './errors.ts';
import { hashString, hmapOrder } from './hmap-order.ts';
import { parseVipPort } from './ip.ts';
import { lookup, mustFind } from './nb-lookup.ts';
import { deref, type NbSource } from './source.ts';

/** smap_get_bool(map, key, false). */
const flag = (map: Record<string, string>, key: string) => (map[key] ?? '').toLowerCase() === 'true';

export interface AclEntry {
  uuid: string;
  direction: 'from-lport' | 'to-lport';
  priority: number;
  match: string;
  action: string;
  log: boolean;
  name: string | null;
  severity: string | null;
  meter: string | null;
  label: number;
  /** options:apply-after-lb. */
  after_lb: boolean;
}

/** acl_cmd_get_pg_or_ls(): a port group or a switch, by --type or by whichever exists. */
function aclOwner(src: NbSource, id: string, type?: string): { acls: string[] } {
  if (type === undefined) {
    const pg = lookup(src, 'portGroup', id, false);
    const ls = lookup(src, 'switch', id, false);
    if (pg && ls) {
      throw new ViewError(
        'AMBIGUOUS',
        `Same name '${id}' exists in both port-groups and logical switches. Specify --type=port-group or switch, or use a UUID.`,
      );
    }
    const owner = pg ?? ls;
    if (!owner) throw new ViewError('NOT_FOUND', `'${id}' is not found for port-group or switch.`);
    return owner;
  }
  if (type === 'port-group') return mustFind(src, 'portGroup', id);
  if (type === 'switch') return mustFind(src, 'switch', id);
  throw new ViewError('BAD_ARGS', `Invalid value '${type}' for option --type`);
}

/** acl_cmp: from-lport first, then before-lb first, priority (highest first), match. */
function aclCompare(a: AclEntry, b: AclEntry): number {
  if (a.direction !== b.direction) return a.direction === 'from-lport' ? -1 : 1;
  if (a.after_lb !== b.after_lb) return a.after_lb ? 1 : -1;
  if (a.priority !== b.priority) return a.priority > b.priority ? -1 : 1;
  return compareText(a.match, b.match);
}

export function aclList(src: NbSource, id: string, type?: string): AclEntry[] {
  const owner = aclOwner(src, id, type);
  return deref(src, 'ACL', owner.acls)
    .map((a) => ({
      uuid: a._uuid,
      direction: a.direction,
      priority: a.priority,
      match: a.match,
      action: a.action,
      log: a.log,
      name: a.name,
      severity: a.severity,
      meter: a.meter,
      label: a.label,
      after_lb: flag(a.options, 'apply-after-lb'),
    }))
    .sort(aclCompare);
}

export function renderAclList(acls: AclEntry[]): string {
  let s = '';
  for (const a of acls) {
    s += `${padStart(a.direction, 10)} ${padStart(String(a.priority), 5)} (${a.match}) ${a.action}`;
    if (a.log) {
      const parts: string[] = [];
      if (a.name !== null) parts.push(`name=${a.name}`);
      if (a.severity !== null) parts.push(`severity=${a.severity}`);
      if (a.meter !== null) parts.push(`meter="${a.meter}"`);
      s += ` log(${parts.join(',')})`;
    }
    if (a.label) s += ` label=${a.label}`;
    if (a.after_lb) s += ' [after-lb]';
    s += '\n';
  }
  return s;
}

export interface LbVip {
  vip: string;
  backends: string;
  /** The protocol column as printed ("" for a VIP without a port), or null if ovn-nbctl leaves the VIP out. */
  protocol: string | null;
}

export interface LbEntry {
  uuid: string;
  name: string;
  vips: LbVip[];
}

export interface LbList {
  /** The widest VIP among the load balancers considered; the VIP column is 4 wider. */
  vip_width: number;
  load_balancers: LbEntry[];
}

function lbEntry(lb: Readonly<LoadBalancer>): LbEntry {
  const template = flag(lb.options, 'template');
  const vips = Object.keys(lb.vips)
    .sort(compareText)
    .map((vip): LbVip => {
      let protocol: string | null;
      if (template) protocol = lb.protocol;
      else {
        const port = parseVipPort(vip);
        // glibc prints a NULL %s as "(null)"
        protocol = port === undefined ? null : port ? (lb.protocol ?? '(null)') : '';
      }
      return { vip, backends: lb.vips[vip]!, protocol };
    });
  return { uuid: lb._uuid, name: lb.name, vips };
}

/** The smap key lb_info_add_smap() files a load balancer under: its name as "%-20.16s". */
const lbKey = (e: LbEntry) => padEnd(e.name, 20, 16);

/**
 * The load balancers in ovn-nbctl's order (smap_sort by key). Equal keys keep the smap's order when the
 * insertion order is known; otherwise they go by uuid.
 */
function lbListOf(lbs: Readonly<LoadBalancer>[], insertionKnown: boolean): LbList {
  let vipWidth = 0;
  for (const lb of lbs)
    for (const vip of Object.keys(lb.vips)) vipWidth = Math.max(vipWidth, byteLength(vip));
  // a load balancer without VIPs is left out (smap_sort of an empty map is NULL)
  let entries = lbs.filter((lb) => Object.keys(lb.vips).length > 0).map(lbEntry);
  if (!insertionKnown) entries.sort((a, b) => compareText(a.uuid, b.uuid));
  else if (new Set(entries.map(lbKey)).size !== entries.length) {
    entries = hmapOrder(entries, (e) => hashString(lbKey(e)));
  }
  entries.sort((a, b) => compareText(lbKey(a), lbKey(b)));
  return { vip_width: vipWidth, load_balancers: entries };
}

/** lb-list [NAME]: every load balancer, or those with that name (no error when there is none). */
export function lbList(src: NbSource, name?: string): LbList {
  const lbs = [...src.rows('Load_Balancer')].filter((lb) => name === undefined || lb.name === name);
  return lbListOf(lbs, false);
}

/** The load balancers of a switch or router: its own, then its groups', in uuid order. */
function attachedLbs(
  src: NbSource,
  owner: { load_balancer: string[]; load_balancer_group: string[] },
): Readonly<LoadBalancer>[] {
  const lbs = deref(src, 'Load_Balancer', owner.load_balancer);
  for (const g of deref(src, 'Load_Balancer_Group', owner.load_balancer_group)) {
    lbs.push(...deref(src, 'Load_Balancer', g.load_balancer));
  }
  return lbs;
}

export function lsLbList(src: NbSource, switchId: string): LbList {
  return lbListOf(attachedLbs(src, mustFind(src, 'switch', switchId)), true);
}

export function lrLbList(src: NbSource, routerId: string): LbList {
  return lbListOf(attachedLbs(src, mustFind(src, 'router', routerId)), true);
}

export function renderLbList(m: LbList): string {
  if (m.load_balancers.length === 0) return '';
  const w = m.vip_width;
  let s = `${padEnd('UUID', 40, 36)}${padEnd('LB', 20, 16)}${padEnd('PROTO', 11, 7)}${padEnd('VIP', w + 4, w)}IPs\n`;
  for (const lb of m.load_balancers) {
    let block = '';
    lb.vips.forEach((v, i) => {
      if (v.protocol === null) return;
      const cols = `${padEnd(v.protocol, 11, 7)}${padEnd(v.vip, w + 4, w)}${v.backends}`;
      // the first line is the first VIP's, even when that VIP was left out
      block += i === 0 ? `${lb.uuid}    ${padEnd(lb.name, 20, 16)}${cols}` : `\n${' '.repeat(60)}${cols}`;
    });
    s += `${block}\n`;
  }
  return s;
}
