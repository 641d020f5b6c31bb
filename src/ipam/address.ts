// IP address parsing and formatting. Addresses are bigint values (IPv4 in 0..2^32-1, IPv6 in
// 0..2^128-1) tagged with their family.
//
// ip-address validates and parses anything that is not in canonical form, and every CIDR; netmask does
// the IPv4 CIDR arithmetic. Both cost 2-6 µs a call, far too much for allocation, restore and status
// paths that run 100k times, so canonical dotted quads and plain hex IPv6 (no embedded IPv4, no zone)
// are parsed and formatted here directly; the unit tests check these fast paths against ip-address.
import { Address4, Address6 } from 'ip-address';
import { Netmask } from 'netmask';
import { FamilyMismatchError, InvalidCidrError, InvalidIpError } from './errors.ts';

export type Family = 4 | 6;

export interface Ip {
  readonly family: Family;
  readonly value: bigint;
}

export interface Cidr {
  readonly family: Family;
  /** Network address (host bits cleared). */
  readonly network: bigint;
  readonly prefix: number;
  /** Number of addresses, 2^(bits - prefix). */
  readonly size: bigint;
  /** Last address of the CIDR (broadcast for IPv4). */
  readonly end: bigint;
  /** First and last address handed out: network+1 .. last-1, both for /31 (/127), the one for /32 (/128). */
  readonly first: bigint;
  readonly last: bigint;
}

export const familyBits = (family: Family): number => (family === 4 ? 32 : 128);

/** Canonical dotted quad to a number, or -1 when it is not one (leading zeros, spaces, > 255...). */
function fastV4(s: string): number {
  const n = s.length;
  if (n < 7 || n > 15) return -1;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1; // leading zero
      octet = octet * 10 + (c - 48);
      if (octet > 255) return -1;
      digits++;
    } else {
      return -1;
    }
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + octet;
}

/** Value of a hex digit's char code, or -1. */
export function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

const groupsToBigInt = (g: number[]): bigint =>
  (BigInt(g[0]! * 65536 + g[1]!) << 96n) |
  (BigInt(g[2]! * 65536 + g[3]!) << 64n) |
  (BigInt(g[4]! * 65536 + g[5]!) << 32n) |
  BigInt(g[6]! * 65536 + g[7]!);

/** Hex-group IPv6 ("fd00::1", "FD00:0:0:0:0:0:0:1") to a bigint, or undefined for anything else. */
function fastV6(s: string): bigint | undefined {
  const n = s.length;
  if (n < 2 || n > 39) return undefined;
  const head: number[] = [];
  const tail: number[] = [];
  let groups = head;
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return undefined;
    groups = tail;
    i = 2;
  }
  while (i < n) {
    let v = 0;
    let d = 0;
    for (; i < n && d < 5; i++, d++) {
      const x = hexDigit(s.charCodeAt(i));
      if (x < 0) break;
      v = v * 16 + x;
    }
    if (d === 0 || d > 4) return undefined;
    groups.push(v);
    if (i === n) break;
    if (s.charCodeAt(i) !== 58) return undefined;
    i++;
    if (i === n) return undefined;
    if (s.charCodeAt(i) === 58) {
      if (groups === tail) return undefined;
      groups = tail;
      i++;
    }
  }
  const compressed = groups === tail;
  if (compressed ? head.length + tail.length > 7 : head.length !== 8) return undefined;
  const all = compressed
    ? [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail]
    : head;
  return groupsToBigInt(all);
}

/** Parses an IPv4 or IPv6 address. Rejects zones, prefixes, brackets and anything ip-address rejects. */
export function parseIp(text: unknown, field: string): Ip {
  if (typeof text !== 'string' || text === '') throw new InvalidIpError(field, text, 'not an IP address');
  const v4 = fastV4(text);
  if (v4 >= 0) return { family: 4, value: BigInt(v4) };
  if (text.includes(':')) {
    const v6 = fastV6(text);
    if (v6 !== undefined) return { family: 6, value: v6 };
    if (text.includes('%')) throw new InvalidIpError(field, text, 'IPv6 zones are not allowed');
    if (/[/[\]\s]/.test(text)) throw new InvalidIpError(field, text, 'not an IP address');
    try {
      return { family: 6, value: new Address6(text).bigInt() };
    } catch (e) {
      throw new InvalidIpError(field, text, (e as Error).message);
    }
  }
  try {
    new Address4(text);
  } catch (e) {
    throw new InvalidIpError(field, text, (e as Error).message);
  }
  throw new InvalidIpError(field, text, 'not an IP address');
}

/** Parses an address that must be of `family`. */
export function parseIpOf(text: unknown, family: Family, field: string): bigint {
  const ip = parseIp(text, field);
  if (ip.family !== family) throw new FamilyMismatchError(field, text, `expected an IPv${family} address`);
  return ip.value;
}

const OCTET = Array.from({ length: 256 }, (_, i) => String(i));
const DOT_OCTET = OCTET.map((o) => `.${o}`);

/** The /24 prefix formatted last ("a.b.c"), and its value (value >>> 8), or -1. */
let prefixKey = -1;
let prefixText = '';

/**
 * Dotted quad of a 32-bit number (table lookups and +: twice as fast as a template here). The "a.b.c"
 * of the last call is kept: allocations come in address order, so most calls need one concatenation.
 */
export function formatV4(value: number): string {
  const key = value >>> 8;
  if (key !== prefixKey) {
    prefixText = OCTET[value >>> 24]! + DOT_OCTET[(value >>> 16) & 255]! + DOT_OCTET[key & 255]!;
    prefixKey = key;
  }
  return prefixText + DOT_OCTET[value & 255]!;
}

/** RFC 5952 text: lower case, no leading zeros, the longest run (>= 2) of zero groups as "::". */
export function formatV6(value: bigint): string {
  const g = new Array<number>(8);
  for (let w = 0; w < 4; w++) {
    const word = Number((value >> BigInt(96 - 32 * w)) & 0xffffffffn);
    g[2 * w] = Math.floor(word / 65536);
    g[2 * w + 1] = word & 0xffff;
  }
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) =>
    g
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(':');
  if (bestAt < 0) return hex(0, 8);
  return `${hex(0, bestAt)}::${hex(bestAt + bestLen, 8)}`;
}

export function formatIp(family: Family, value: bigint): string {
  return family === 4 ? formatV4(Number(value)) : formatV6(value);
}

/** Parses "a.b.c.d/n" or "x::/n" (host bits allowed, normalised away). */
export function parseCidr(text: unknown, field: string): Cidr {
  if (typeof text !== 'string') throw new InvalidCidrError(field, text, 'not a CIDR');
  const slash = text.indexOf('/');
  const prefixText = text.slice(slash + 1);
  if (slash < 0 || !/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) {
    throw new InvalidCidrError(field, text, 'expected address/prefix');
  }
  let ip: Ip;
  try {
    ip = parseIp(text.slice(0, slash), field);
  } catch (e) {
    throw new InvalidCidrError(field, text, (e as Error).message);
  }
  const prefix = Number(prefixText);
  const bits = familyBits(ip.family);
  if (prefix > bits) throw new InvalidCidrError(field, text, `prefix longer than ${bits}`);
  const size = 1n << BigInt(bits - prefix);
  let network: bigint;
  let first: bigint;
  let last: bigint;
  if (ip.family === 4) {
    const mask = new Netmask(`${formatIp(4, ip.value)}/${prefix}`);
    network = BigInt(mask.netLong);
    first = network + (prefix >= 31 ? 0n : 1n);
    last = network + size - (prefix >= 31 ? 1n : 2n);
  } else {
    const range = new Address6(`${formatV6(ip.value)}/${prefix}`);
    network = range.startAddress().bigInt();
    first = network + (prefix >= 127 ? 0n : 1n);
    last = range.endAddress().bigInt() - (prefix >= 127 ? 0n : 1n);
  }
  return { family: ip.family, network, prefix, size, end: network + size - 1n, first, last };
}

export const formatCidr = (c: Cidr): string => `${formatIp(c.family, c.network)}/${c.prefix}`;

export const cidrContains = (c: Cidr, value: bigint): boolean =>
  value >= c.network && value < c.network + c.size;
