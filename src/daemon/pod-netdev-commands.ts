// What a pod interface is (the spec the daemon passes) and the `ip -batch` scripts that make it. Pure.
// Every value is checked before it goes into a script: a space or newline in a name or address would
// otherwise smuggle extra words or whole commands into the batch.
import { isIP } from 'node:net';
import { Address6 } from 'ip-address';
import { InvalidArgumentError } from './netdev-errors.ts';

export interface PodRoute {
  /** CIDR; 0.0.0.0/0 or ::/0 for a default route. */
  dst: string;
  /** Next hop; without one the route is on-link. */
  gw?: string;
}

export interface PodInterfaceSpec {
  /** Where the host end lives (the node's netns: a path, or an `ip netns` name); undefined: our own. */
  nodeNetns?: string;
  /** CNI_NETNS: a path such as /var/run/netns/x or /proc/<pid>/ns/net (a bare name means /run/netns/<name>). */
  podNetns: string;
  hostIf: string;
  podIf: string;
  mac: string;
  mtu: number;
  /** CIDR form, "10.16.0.5/16", "fd00:10:16::5/64"; one or two families. */
  addresses: string[];
  /** At most one per family; each becomes that family's default route. */
  gateways: string[];
  routes?: PodRoute[];
  /** The CNI attachment, recorded in the host end's ifalias so GC can tell whose it is. */
  owner?: { containerId: string; ifName: string };
}

export type Family = 4 | 6;

/** Stricter than the kernel (which takes anything but '/', ':' and spaces): quotes, '#' and '\' mean
 * something to `ip -batch`'s line parser. */
const IFNAME = /^[A-Za-z0-9_.@+=-]{1,15}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
/** One word in an `ip -batch` line: no space, quote, '#' (comment) or backslash. */
const BATCH_WORD = /^[^\s"'#\\]+$/;
const ALIAS_PREFIX = 'ovnk:';

export function familyOf(ip: string): Family {
  const f = isIP(ip);
  if (f === 0) throw new InvalidArgumentError(`invalid IP address ${JSON.stringify(ip)}`);
  return f as Family;
}

/** The address and prefix of a CIDR, checked. */
export function parseCidr(cidr: string): { ip: string; prefix: number; family: Family } {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  if (!m) throw new InvalidArgumentError(`invalid CIDR ${JSON.stringify(cidr)}`);
  const family = familyOf(m[1]!);
  const prefix = Number(m[2]);
  if (prefix > (family === 4 ? 32 : 128)) throw new InvalidArgumentError(`invalid prefix in ${cidr}`);
  return { ip: m[1]!, prefix, family };
}

/** One spelling per address, so what ip prints compares equal to what we were given. */
export function canonicalIp(ip: string): string {
  return familyOf(ip) === 6 ? new Address6(ip).correctForm() : ip;
}

export function checkIfName(what: string, name: string): void {
  if (!IFNAME.test(name) || name === '.' || name === '..')
    throw new InvalidArgumentError(`invalid ${what} interface name ${JSON.stringify(name)}`);
}

export function validatePodInterface(spec: PodInterfaceSpec): void {
  checkIfName('host', spec.hostIf);
  checkIfName('pod', spec.podIf);
  if (!MAC.test(spec.mac)) throw new InvalidArgumentError(`invalid MAC ${JSON.stringify(spec.mac)}`);
  if (!Number.isInteger(spec.mtu) || spec.mtu < 68 || spec.mtu > 65535)
    throw new InvalidArgumentError(`invalid MTU ${spec.mtu}`);
  for (const ns of [spec.podNetns, spec.nodeNetns])
    if (ns !== undefined && !BATCH_WORD.test(ns))
      throw new InvalidArgumentError(`invalid netns ${JSON.stringify(ns)}`);
  if (spec.addresses.length === 0) throw new InvalidArgumentError('no addresses');
  for (const a of spec.addresses) parseCidr(a);
  const gwFamilies = spec.gateways.map(familyOf);
  if (new Set(gwFamilies).size !== gwFamilies.length)
    throw new InvalidArgumentError(`more than one gateway of a family: ${spec.gateways.join(', ')}`);
  for (const r of spec.routes ?? []) {
    const { family } = parseCidr(r.dst);
    if (r.gw !== undefined && familyOf(r.gw) !== family)
      throw new InvalidArgumentError(`route ${r.dst} via ${r.gw} mixes families`);
  }
  if (spec.owner) ownerAlias(spec.owner);
}

/** The host end's ifalias: `ovnk:<containerId>:<ifName>` (no spaces, so it needs no quoting in a batch). */
export function ownerAlias(owner: { containerId: string; ifName: string }): string {
  const alias = `${ALIAS_PREFIX}${owner.containerId}:${owner.ifName}`;
  if (!BATCH_WORD.test(alias) || owner.containerId.includes(':') || alias.length > 255)
    throw new InvalidArgumentError(`invalid owner ${JSON.stringify(owner)}`);
  return alias;
}

export function parseOwnerAlias(
  alias: string | undefined,
): { containerId: string; ifName: string } | undefined {
  if (!alias?.startsWith(ALIAS_PREFIX)) return undefined;
  const rest = alias.slice(ALIAS_PREFIX.length);
  const i = rest.indexOf(':');
  if (i <= 0 || i === rest.length - 1) return undefined;
  return { containerId: rest.slice(0, i), ifName: rest.slice(i + 1) };
}

/**
 * Run in the node's netns: the veth pair, host end up, the pod end created straight in the pod's netns
 * under its final name with its MAC and MTU (one netlink request, so no half-moved peer can be left).
 * Names always follow an explicit `name`/`dev` in these scripts: ip reads a bare word that is a prefix of
 * one of its keywords ("h" for help, "mtu", "type"...) as that keyword.
 */
export function hostSideBatch(spec: PodInterfaceSpec, podNetnsPath: string): string {
  const lines = [
    `link add name ${spec.hostIf} mtu ${spec.mtu} up type veth peer name ${spec.podIf} address ${spec.mac} ` +
      `mtu ${spec.mtu} netns ${podNetnsPath}`,
  ];
  // the kernel ignores an alias given to `link add`; it has to be a separate set
  if (spec.owner) lines.push(`link set dev ${spec.hostIf} alias ${ownerAlias(spec.owner)}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Run in the pod's netns: addresses, up, default routes, extra routes, then a show whose JSON gives the
 * ifindex. IPv6 addresses skip DAD: IPAM hands out each address once, and DAD would leave the address
 * tentative (unusable) for a second or more after ADD returns.
 */
export function podSideBatch(spec: PodInterfaceSpec): string {
  const dev = spec.podIf;
  const lines = ['link set lo up'];
  for (const a of spec.addresses)
    lines.push(`addr add ${a} dev ${dev}${parseCidr(a).family === 6 ? ' nodad' : ''}`);
  lines.push(`link set dev ${dev} up`);
  for (const gw of spec.gateways) lines.push(`route replace default via ${gw} dev ${dev}`);
  for (const r of spec.routes ?? [])
    lines.push(
      r.gw === undefined
        ? `route replace ${r.dst} dev ${dev}`
        : `route replace ${r.dst} via ${r.gw} dev ${dev}`,
    );
  // `addr show` rather than `link show`: it prints the link too, and iproute2 keeps filter state between
  // batch lines, so an `addr show` after a `link show` in the same batch prints no addresses
  lines.push(`addr show dev ${dev}`);
  return `${lines.join('\n')}\n`;
}
