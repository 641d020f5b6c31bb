// Subnet and pool specs (Kube-OVN field names and formats) validated into per-family layouts:
// normalised CIDR, gateway, excluded ranges and the usable ranges left for allocation.
import { type Cidr, cidrContains, type Family, formatCidr, formatIp, parseCidr, parseIp } from './address.ts';
import {
  FamilyMismatchError,
  InvalidArgumentError,
  InvalidCidrError,
  InvalidGatewayError,
  InvalidRangeError,
} from './errors.ts';
import { normalize, type Range, subtract } from './intervals.ts';

export interface SubnetSpec {
  /** Subnet name (the Subnet CR's metadata.name). */
  name: string;
  /** "v4cidr", "v6cidr" or "v4cidr,v6cidr". */
  cidrBlock: string;
  /** "v4gw", "v6gw" or "v4gw,v6gw"; a family left out gets its first usable address. */
  gateway?: string;
  /** Addresses "a" and ranges "a..b" never handed out. */
  excludeIps?: readonly string[];
  /** The gateway router port's MAC; generated when absent. */
  gatewayMac?: string;
}

export interface FamilyLayout {
  readonly cidr: Cidr;
  /** Undefined for a /32 (/128) host subnet with no gateway given. */
  readonly gateway: bigint | undefined;
  /** excludeIps of this family, merged. */
  readonly excluded: readonly Range[];
  /** first..last minus excluded minus gateway. */
  readonly usable: readonly Range[];
}

export type Protocol = 'IPv4' | 'IPv6' | 'Dual';

export interface SubnetLayout {
  readonly name: string;
  readonly protocol: Protocol;
  readonly v4: FamilyLayout | undefined;
  readonly v6: FamilyLayout | undefined;
  /** Normalised spec strings, as Kube-OVN's formatSubnet writes them back. */
  readonly cidrBlock: string;
  readonly gateway: string;
  /** The entries given plus the gateway (when not already covered), sorted. */
  readonly excludeIps: readonly string[];
}

interface Entry {
  readonly family: Family;
  readonly range: Range;
  readonly text: string;
}

const RANGE_SEP = '..';

function parseEntry(text: unknown, field: string, allowCidr: boolean): Entry {
  if (typeof text !== 'string' || text === '')
    throw new InvalidRangeError(field, text, 'expected "a" or "a..b"');
  if (text.includes(RANGE_SEP)) {
    const parts = text.split(RANGE_SEP);
    if (parts.length !== 2) throw new InvalidRangeError(field, text, 'expected "a..b"');
    const lo = parseIp(parts[0], field);
    const hi = parseIp(parts[1], field);
    if (lo.family !== hi.family)
      throw new FamilyMismatchError(field, text, 'range ends of different families');
    if (lo.value > hi.value) throw new InvalidRangeError(field, text, 'reversed range: start is after end');
    return { family: lo.family, range: { lo: lo.value, hi: hi.value }, text };
  }
  if (text.includes('/')) {
    if (!allowCidr) throw new InvalidRangeError(field, text, 'CIDRs are not allowed here, use "a..b"');
    const c = parseCidr(text, field);
    return { family: c.family, range: { lo: c.network, hi: c.end }, text };
  }
  const ip = parseIp(text, field);
  return { family: ip.family, range: { lo: ip.value, hi: ip.value }, text };
}

/** Parses a list of "a", "a..b" (and "x/n" when allowCidr) that must lie inside the subnet's CIDRs. */
function parseEntries(
  list: unknown,
  field: string,
  subnet: string,
  cidrs: ReadonlyMap<Family, Cidr>,
  allowCidr: boolean,
): Entry[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new InvalidArgumentError(field, list, 'expected an array of strings');
  return list.map((text, i) => {
    const f = `${field}[${i}]`;
    const e = parseEntry(text, f, allowCidr);
    const c = cidrs.get(e.family);
    if (c === undefined)
      throw new FamilyMismatchError(f, text, `subnet ${subnet} has no IPv${e.family} CIDR`);
    if (!cidrContains(c, e.range.lo) || !cidrContains(c, e.range.hi)) {
      throw new InvalidRangeError(f, text, `not inside ${formatCidr(c)}`);
    }
    return e;
  });
}

const rangesOf = (entries: readonly Entry[], family: Family): Range[] =>
  normalize(entries.filter((e) => e.family === family).map((e) => e.range));

function parseCidrBlock(spec: SubnetSpec): Map<Family, Cidr> {
  if (typeof spec.cidrBlock !== 'string' || spec.cidrBlock === '') {
    throw new InvalidCidrError('cidrBlock', spec.cidrBlock, 'expected "v4cidr", "v6cidr" or "v4cidr,v6cidr"');
  }
  const cidrs = new Map<Family, Cidr>();
  const parts = spec.cidrBlock.split(',');
  if (parts.length > 2)
    throw new InvalidCidrError('cidrBlock', spec.cidrBlock, 'at most one CIDR per family');
  for (const part of parts) {
    const c = parseCidr(part, 'cidrBlock');
    if (cidrs.has(c.family))
      throw new InvalidCidrError('cidrBlock', spec.cidrBlock, `two IPv${c.family} CIDRs`);
    cidrs.set(c.family, c);
  }
  return cidrs;
}

function parseGateways(spec: SubnetSpec, cidrs: Map<Family, Cidr>): Map<Family, bigint> {
  const gateways = new Map<Family, bigint>();
  if (spec.gateway === undefined || spec.gateway === '') return gateways;
  if (typeof spec.gateway !== 'string')
    throw new InvalidGatewayError('gateway', spec.gateway, 'expected a string');
  for (const part of spec.gateway.split(',')) {
    let ip: ReturnType<typeof parseIp>;
    try {
      ip = parseIp(part, 'gateway');
    } catch (e) {
      throw new InvalidGatewayError('gateway', spec.gateway, (e as Error).message);
    }
    const c = cidrs.get(ip.family);
    if (c === undefined)
      throw new FamilyMismatchError('gateway', spec.gateway, `no IPv${ip.family} CIDR for ${part}`);
    if (gateways.has(ip.family))
      throw new InvalidGatewayError('gateway', spec.gateway, `two IPv${ip.family} gateways`);
    if (!cidrContains(c, ip.value))
      throw new InvalidGatewayError('gateway', spec.gateway, `${part} is outside ${formatCidr(c)}`);
    if (ip.value < c.first || ip.value > c.last) {
      throw new InvalidGatewayError('gateway', spec.gateway, `${part} is the network or broadcast address`);
    }
    gateways.set(ip.family, ip.value);
  }
  return gateways;
}

function familyLayout(c: Cidr, gateway: bigint | undefined, excluded: Range[]): FamilyLayout {
  const gw: bigint | undefined = gateway ?? (c.first === c.last ? undefined : c.first);
  const cut = gw === undefined ? excluded : normalize([...excluded, { lo: gw, hi: gw }]);
  return { cidr: c, gateway: gw, excluded, usable: subtract([{ lo: c.first, hi: c.last }], cut) };
}

const formatEntry = (family: Family, r: Range): string =>
  r.lo === r.hi ? formatIp(family, r.lo) : `${formatIp(family, r.lo)}${RANGE_SEP}${formatIp(family, r.hi)}`;

/** Validates a subnet spec. Throws an IpamError naming the field and value on bad input. */
export function parseSubnetSpec(spec: SubnetSpec): SubnetLayout {
  if (typeof spec !== 'object' || spec === null)
    throw new InvalidArgumentError('spec', spec, 'expected an object');
  if (typeof spec.name !== 'string' || spec.name === '') {
    throw new InvalidArgumentError('name', spec.name, 'expected a non-empty string');
  }
  const cidrs = parseCidrBlock(spec);
  const gateways = parseGateways(spec, cidrs);
  const entries = parseEntries(spec.excludeIps, 'excludeIps', spec.name, cidrs, false);
  const layoutOf = (family: Family): FamilyLayout | undefined => {
    const c = cidrs.get(family);
    return c && familyLayout(c, gateways.get(family), rangesOf(entries, family));
  };
  const v4 = layoutOf(4);
  const v6 = layoutOf(6);
  const excludeIps: { family: Family; range: Range }[] = entries.map((e) => ({
    family: e.family,
    range: e.range,
  }));
  for (const fam of [v4, v6]) {
    const gw = fam?.gateway;
    if (fam === undefined || gw === undefined) continue;
    if (!entries.some((e) => e.family === fam.cidr.family && e.range.lo <= gw && gw <= e.range.hi)) {
      excludeIps.push({ family: fam.cidr.family, range: { lo: gw, hi: gw } });
    }
  }
  excludeIps.sort(
    (a, b) => a.family - b.family || (a.range.lo < b.range.lo ? -1 : a.range.lo > b.range.lo ? 1 : 0),
  );
  const present = [v4, v6].filter((f): f is FamilyLayout => f !== undefined);
  return {
    name: spec.name,
    protocol: v4 && v6 ? 'Dual' : v4 ? 'IPv4' : 'IPv6',
    v4,
    v6,
    cidrBlock: present.map((f) => formatCidr(f.cidr)).join(','),
    gateway: present
      .filter((f) => f.gateway !== undefined)
      .map((f) => formatIp(f.cidr.family, f.gateway!))
      .join(','),
    excludeIps: [...new Set(excludeIps.map((e) => formatEntry(e.family, e.range)))],
  };
}

/** A pool's addresses per family, validated against the subnet (IPs, CIDRs and "a..b" ranges). */
export interface PoolRanges {
  readonly v4: readonly Range[];
  readonly v6: readonly Range[];
}

export function parsePoolIps(ips: unknown, layout: SubnetLayout): PoolRanges {
  if (!Array.isArray(ips) || ips.length === 0) {
    throw new InvalidArgumentError('ips', ips, 'expected a non-empty array of IPs, CIDRs or "a..b" ranges');
  }
  const cidrs = new Map<Family, Cidr>();
  for (const fam of [layout.v4, layout.v6]) if (fam !== undefined) cidrs.set(fam.cidr.family, fam.cidr);
  const entries = parseEntries(ips, 'ips', layout.name, cidrs, true);
  return { v4: rangesOf(entries, 4), v6: rangesOf(entries, 6) };
}
