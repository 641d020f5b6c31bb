// IP parsing and printing the way ovn-nbctl does it: ip_parse_cidr / ipv6_parse_cidr (lib/packets.c),
// normalize_prefix_str (the network address, "/plen" unless a host route), glibc's inet_ntop for IPv6,
// and inet_parse_active (lib/socket-util.c) for load balancer VIPs.

export interface Ipv4Cidr {
  /** The address as parsed (host bits kept), as an unsigned 32-bit number. */
  addr: number;
  plen: number;
}

export interface Ipv6Cidr {
  /** The address as parsed, 16 bytes. */
  addr: Uint8Array;
  plen: number;
}

// ovs_scan's %hhu accepts 1-3 decimal digits per octet (leading zeros included)
const OCTET = '(\\d{1,3})';
const V4_CIDR_RE = new RegExp(
  `^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}(?:/(?:(\\d+)|${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}))?$`,
);

function octets(parts: (string | undefined)[]): number | undefined {
  let n = 0;
  for (const p of parts) {
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

/** A CIDR mask's prefix length, or undefined if the mask is not contiguous ones then zeros. */
function maskToPlen(mask: number): number | undefined {
  const inv = ~mask >>> 0;
  if ((inv & (inv + 1)) !== 0) return undefined;
  return 32 - Math.log2(inv + 1);
}

/** ip_parse_cidr(): "a.b.c.d", "a.b.c.d/plen" or "a.b.c.d/m.m.m.m" with a CIDR mask. */
export function parseIpv4Cidr(s: string): Ipv4Cidr | undefined {
  const m = V4_CIDR_RE.exec(s);
  if (!m) return undefined;
  const addr = octets(m.slice(1, 5));
  if (addr === undefined) return undefined;
  if (m[5] !== undefined) {
    const plen = Number(m[5]);
    return plen <= 32 ? { addr, plen } : undefined;
  }
  if (m[6] !== undefined) {
    const mask = octets(m.slice(6, 10));
    const plen = mask === undefined ? undefined : maskToPlen(mask);
    return plen === undefined ? undefined : { addr, plen };
  }
  return { addr, plen: 32 };
}

/** glibc inet_pton(AF_INET): exactly four decimal octets, no leading zeros. */
export function parseIpv4(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

export function formatIpv4(addr: number): string {
  return [addr >>> 24, (addr >>> 16) & 255, (addr >>> 8) & 255, addr & 255].join('.');
}

function v4Mask(plen: number): number {
  return plen === 0 ? 0 : (0xffffffff << (32 - plen)) >>> 0;
}

/** glibc inet_pton(AF_INET6), including a trailing dotted quad ("::ffff:10.0.0.1"). */
export function parseIpv6(s: string): Uint8Array | undefined {
  let text = s;
  let v4: number | undefined;
  if (s.includes('.')) {
    const i = s.lastIndexOf(':');
    if (i < 0) return undefined;
    v4 = parseIpv4(s.slice(i + 1));
    if (v4 === undefined) return undefined;
    // keep a "::" that compresses the words just before the quad; drop a plain separator
    text = s.slice(0, i + 1);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const words = v4 === undefined ? 8 : 6;
  const groupsOf = (g: string): number[] | undefined => {
    if (g === '') return [];
    const vals: number[] = [];
    for (const p of g.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
      vals.push(Number.parseInt(p, 16));
    }
    return vals;
  };
  let groups: number[] | undefined;
  const dbl = text.indexOf('::');
  if (dbl >= 0) {
    if (text.indexOf('::', dbl + 1) >= 0) return undefined;
    const left = groupsOf(text.slice(0, dbl));
    const right = groupsOf(text.slice(dbl + 2));
    if (!left || !right || left.length + right.length >= words) return undefined;
    groups = [...left, ...new Array<number>(words - left.length - right.length).fill(0), ...right];
  } else {
    groups = groupsOf(text);
    if (!groups || groups.length !== words) return undefined;
  }
  const out = new Uint8Array(16);
  groups.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 255;
  });
  if (v4 !== undefined) {
    out[12] = v4 >>> 24;
    out[13] = (v4 >>> 16) & 255;
    out[14] = (v4 >>> 8) & 255;
    out[15] = v4 & 255;
  }
  return out;
}

/** glibc inet_ntop(AF_INET6): the longest run (first on a tie) of two or more zero words as "::". */
export function formatIpv6(a: Uint8Array): string {
  const w = Array.from({ length: 8 }, (_, i) => (a[2 * i]! << 8) | a[2 * i + 1]!);
  let best = { base: -1, len: 0 };
  let cur = { base: -1, len: 0 };
  for (let i = 0; i < 8; i++) {
    if (w[i] === 0) {
      cur = cur.base === -1 ? { base: i, len: 1 } : { base: cur.base, len: cur.len + 1 };
    } else if (cur.base !== -1) {
      if (best.base === -1 || cur.len > best.len) best = cur;
      cur = { base: -1, len: 0 };
    }
  }
  if (cur.base !== -1 && (best.base === -1 || cur.len > best.len)) best = cur;
  if (best.base !== -1 && best.len < 2) best = { base: -1, len: 0 };
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (best.base !== -1 && i >= best.base && i < best.base + best.len) {
      if (i === best.base) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    // an IPv4-compatible or -mapped address ends in a dotted quad
    if (i === 6 && best.base === 0 && (best.len === 6 || (best.len === 5 && w[5] === 0xffff))) {
      out += `${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
      break;
    }
    out += w[i]!.toString(16);
  }
  if (best.base !== -1 && best.base + best.len === 8) out += ':';
  return out;
}

function v6MaskPlen(mask: Uint8Array): number | undefined {
  let plen = 0;
  let seenZero = false;
  for (const byte of mask) {
    for (let bit = 7; bit >= 0; bit--) {
      if ((byte >> bit) & 1) {
        if (seenZero) return undefined;
        plen++;
      } else seenZero = true;
    }
  }
  return plen;
}

/** ipv6_parse_cidr(): "addr", "addr/plen" or "addr/mask" with a CIDR mask. */
export function parseIpv6Cidr(s: string): Ipv6Cidr | undefined {
  const m = /^\s*([0-9a-fA-F:.]{1,46})(?:\/(.*))?$/.exec(s);
  if (!m) return undefined;
  const addr = parseIpv6(m[1]!);
  if (!addr) return undefined;
  if (m[2] === undefined) return { addr, plen: 128 };
  if (/^[+-]?\d+$/.test(m[2])) {
    const plen = Number(m[2]);
    return plen >= 0 && plen <= 128 ? { addr, plen } : undefined;
  }
  const mask = /^[0-9a-fA-F:.]{1,46}$/.test(m[2]) ? parseIpv6(m[2]) : undefined;
  const plen = mask ? v6MaskPlen(mask) : undefined;
  return plen === undefined ? undefined : { addr, plen };
}

function maskIpv6(a: Uint8Array, plen: number): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const bits = Math.max(0, Math.min(8, plen - 8 * i));
    out[i] = a[i]! & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

/** normalize_prefix_str(): the network address, with "/plen" unless it is a host route; undefined if unparsable. */
export function normalizePrefix(s: string): string | undefined {
  const v4 = parseIpv4Cidr(s);
  if (v4) {
    const net = formatIpv4((v4.addr & v4Mask(v4.plen)) >>> 0);
    return v4.plen === 32 ? net : `${net}/${v4.plen}`;
  }
  const v6 = parseIpv6Cidr(s);
  if (v6) {
    const net = formatIpv6(maskIpv6(v6.addr, v6.plen));
    return v6.plen === 128 ? net : `${net}/${v6.plen}`;
  }
  return undefined;
}

/** memcmp of two IPv6 addresses. */
export function compareIpv6(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/**
 * inet_parse_active(vip, 0) without name resolution: "ip", "ip:port", "[ipv6]" or "[ipv6]:port" (a bare
 * IPv6 address has more than one colon and no port). Returns the port (0 when absent), or undefined
 * when the VIP is not an address ovn-nbctl accepts.
 */
export function parseVipPort(vip: string): number | undefined {
  let host: string;
  let port: string | undefined;
  let colons = 0;
  let colon = -1;
  let inBrackets = false;
  for (let i = 0; i < vip.length; i++) {
    const c = vip[i];
    if (c === '[') inBrackets = true;
    else if (c === ']') inBrackets = false;
    else if (c === ':' && !inBrackets) {
      colons++;
      colon = i;
    }
  }
  const unbracket = (x: string) => (x.startsWith('[') && x.endsWith(']') ? x.slice(1, -1) : x);
  if (colons > 1) host = vip;
  else if (colon >= 0) {
    host = unbracket(vip.slice(0, colon));
    port = unbracket(vip.slice(colon + 1));
  } else host = unbracket(vip);
  let portNumber = 0;
  if (port) {
    if (!/^\s*[+-]?\d+$/.test(port)) return undefined;
    portNumber = Number(port);
    if (portNumber < 0 || portNumber > 65535) return undefined;
  }
  if (host.includes(':')) {
    const [addr, scope] = host.split('%', 2) as [string, string | undefined];
    if (!addr || !parseIpv6(addr)) return undefined;
    // a scope is an interface index or name; only numeric ones can be checked without the host's interfaces
    if (scope && !/^\d+$/.test(scope)) return undefined;
    return portNumber;
  }
  return parseIpv4(host) === undefined ? undefined : portNumber;
}
