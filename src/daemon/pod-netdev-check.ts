// CNI CHECK for the kernel side: compares a pod interface with what createPodInterface would have made
// and lists every difference. Looking is done in parallel child processes; the comparison is pure.
import { type IpLink, type IpRoute, isUp, parseIpJsonLines } from './ip-json.ts';
import { showLink } from './ip-links.ts';
import { CommandFailedError } from './netdev-errors.ts';
import { netnsExists, runInNetns } from './netns-exec.ts';
import {
  canonicalIp,
  type Family,
  familyOf,
  type PodInterfaceSpec,
  parseCidr,
  validatePodInterface,
} from './pod-netdev-commands.ts';

/** What is there, as read from the node and pod netns. */
export interface ObservedPodInterface {
  /** Host end in the node netns; undefined when missing. */
  host?: IpLink;
  podNetnsExists: boolean;
  /** Every link of the pod netns, with addresses (`ip -j -d addr show`). */
  podLinks: IpLink[];
  routes: Record<Family, IpRoute[]>;
  /** tx-checksumming of podIf; undefined when it could not be read. */
  txChecksumming?: boolean;
}

/** Problems, one sentence each; empty when all is as the spec says. */
export async function checkPodInterface(spec: PodInterfaceSpec): Promise<string[]> {
  validatePodInterface(spec);
  if (spec.nodeNetns !== undefined && !netnsExists(spec.nodeNetns))
    return [`node netns ${spec.nodeNetns} does not exist`];
  return podInterfaceProblems(spec, await observe(spec));
}

async function observe(spec: PodInterfaceSpec): Promise<ObservedPodInterface> {
  const hostP = showLink(spec.nodeNetns, spec.hostIf);
  if (!netnsExists(spec.podNetns))
    return { host: await hostP, podNetnsExists: false, podLinks: [], routes: { 4: [], 6: [] } };
  const wantsV6 = [
    ...spec.addresses.map((a) => parseCidr(a).family),
    ...spec.gateways.map(familyOf),
  ].includes(6);
  const ns = spec.podNetns;
  const [host, shown, routes6, tx] = await Promise.all([
    hostP,
    // one process for addresses and IPv4 routes; a batch cannot switch family per line, so IPv6 routes
    // need a second one
    runInNetns(ns, 'ip', ['-j', '-d', '-batch', '-'], { input: 'addr show\nroute show table main\n' }),
    wantsV6 ? runInNetns(ns, 'ip', ['-j', '-6', 'route', 'show', 'table', 'main']) : Promise.resolve('[]'),
    txChecksumming(ns, spec.podIf),
  ]);
  const [links = [], routes4 = []] = parseIpJsonLines(shown);
  const [r6 = []] = parseIpJsonLines(routes6);
  return {
    host,
    podNetnsExists: true,
    podLinks: links as IpLink[],
    routes: { 4: routes4 as IpRoute[], 6: r6 as IpRoute[] },
    txChecksumming: tx,
  };
}

async function txChecksumming(netns: string, dev: string): Promise<boolean | undefined> {
  try {
    const [features] = JSON.parse(await runInNetns(netns, 'ethtool', ['--json', '-k', dev])) as {
      'tx-checksumming'?: { active?: boolean };
    }[];
    return features?.['tx-checksumming']?.active;
  } catch (e) {
    if (e instanceof CommandFailedError) return undefined; // no such device: reported as missing anyway
    throw e;
  }
}

/** `ip route` prints "default" and host routes without a prefix length; spell both as full CIDRs. */
function routeDst(dst: string, family: Family): string {
  if (dst === 'default') return family === 4 ? '0.0.0.0/0' : '::/0';
  const { ip, prefix } = dst.includes('/') ? parseCidr(dst) : { ip: dst, prefix: family === 4 ? 32 : 128 };
  return `${canonicalIp(ip)}/${prefix}`;
}

export function podInterfaceProblems(spec: PodInterfaceSpec, seen: ObservedPodInterface): string[] {
  const problems: string[] = [];
  const { host } = seen;
  const hostIf = spec.hostIf;
  const podIf = spec.podIf;
  if (!host) problems.push(`host end ${hostIf} is missing`);
  else {
    if (host.linkinfo?.info_kind !== 'veth') problems.push(`host end ${hostIf} is not a veth`);
    if (!isUp(host)) problems.push(`host end ${hostIf} is down`);
    if (host.mtu !== spec.mtu) problems.push(`host end ${hostIf} has MTU ${host.mtu}, want ${spec.mtu}`);
  }
  if (!seen.podNetnsExists) {
    problems.push(`pod netns ${spec.podNetns} does not exist`);
    return problems;
  }
  const lo = seen.podLinks.find((l) => l.ifname === 'lo');
  if (lo && !isUp(lo)) problems.push('lo is down in the pod netns');
  const pod = seen.podLinks.find((l) => l.ifname === podIf);
  if (!pod) {
    problems.push(`${podIf} is missing in the pod netns`);
    return problems;
  }
  if (pod.linkinfo?.info_kind !== 'veth') problems.push(`${podIf} is not a veth`);
  // a veth shows its peer's ifindex as link_index; both must point at each other
  else if (host && (host.link_index !== pod.ifindex || pod.link_index !== host.ifindex))
    problems.push(`${podIf} is not the peer of ${hostIf}`);
  if (!isUp(pod)) problems.push(`${podIf} is down`);
  if (pod.address?.toLowerCase() !== spec.mac.toLowerCase())
    problems.push(`${podIf} has MAC ${pod.address}, want ${spec.mac.toLowerCase()}`);
  if (pod.mtu !== spec.mtu) problems.push(`${podIf} has MTU ${pod.mtu}, want ${spec.mtu}`);

  const have = new Map(
    (pod.addr_info ?? [])
      .filter((a) => a.scope !== 'link' && a.scope !== 'host')
      .map((a) => [`${canonicalIp(a.local)}/${a.prefixlen}`, a]),
  );
  const want = new Set(spec.addresses.map((a) => `${canonicalIp(parseCidr(a).ip)}/${parseCidr(a).prefix}`));
  for (const a of want) {
    const info = have.get(a);
    if (!info) problems.push(`${podIf} lacks address ${a}`);
    else if (info.tentative || info.dadfailed) problems.push(`${podIf} address ${a} is not usable (DAD)`);
  }
  for (const a of have.keys()) if (!want.has(a)) problems.push(`${podIf} has unexpected address ${a}`);

  const wantRoutes = [
    ...spec.gateways.map((gw) => ({ dst: familyOf(gw) === 4 ? '0.0.0.0/0' : '::/0', gw })),
    ...(spec.routes ?? []),
  ];
  for (const r of wantRoutes) {
    const family = parseCidr(r.dst).family;
    const dst = routeDst(r.dst, family);
    const gw = r.gw === undefined ? undefined : canonicalIp(r.gw);
    const found = seen.routes[family].find(
      (x) =>
        routeDst(x.dst, family) === dst &&
        x.dev === podIf &&
        (x.gateway === undefined ? undefined : canonicalIp(x.gateway)) === gw,
    );
    if (!found) problems.push(`no route ${dst}${gw ? ` via ${gw}` : ''} dev ${podIf}`);
  }

  if (seen.txChecksumming === true) problems.push(`${podIf} has tx checksum offload on`);
  return problems;
}
