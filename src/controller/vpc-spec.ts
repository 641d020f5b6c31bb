// A Vpc's desired routing, decided from the Vpc, its peers and the valid subnets: its static routes and
// policies as written, its peering ports, and (beyond Kube-OVN) routes to a peer's subnets once both sides
// declare the peering. Pure: objects in, a plan and the problems found out.
import { isIP } from 'node:net';
import { Address4, Address6 } from 'ip-address';
import type { Vpc } from './k8s/types.ts';
import type { PolicySpec, RouteSpec } from './nb/vpc-rows.ts';
import type { FormattedSubnet } from './subnet-spec.ts';

export interface PeeringPlan {
  remote: string;
  localConnectIP: string;
  /** Both sides declare it. */
  established: boolean;
}

export interface VpcPlan {
  routes: RouteSpec[];
  policies: PolicySpec[];
  peerings: PeeringPlan[];
  /** Problems that stop the Vpc from being applied at all (reason, message). */
  invalid?: { reason: string; message: string };
  /** Problems with one peering that leave the rest applied. */
  warnings: { reason: string; message: string }[];
}

interface Net {
  family: 4 | 6;
  start: bigint;
  end: bigint;
}

function parseNet(cidr: string): Net | undefined {
  try {
    if (cidr.includes(':')) {
      const a = new Address6(cidr);
      return { family: 6, start: a.startAddress().bigInt(), end: a.endAddress().bigInt() };
    }
    const a = new Address4(cidr);
    if (!cidr.includes('/')) return undefined;
    return { family: 4, start: a.startAddress().bigInt(), end: a.endAddress().bigInt() };
  } catch {
    return undefined;
  }
}

function ipValue(ip: string): { family: 4 | 6; v: bigint } | undefined {
  const f = isIP(ip);
  if (f === 4) return { family: 4, v: new Address4(ip).bigInt() };
  if (f === 6) return { family: 6, v: new Address6(ip).bigInt() };
  return undefined;
}

const contains = (n: Net, ip: { family: 4 | 6; v: bigint }) =>
  n.family === ip.family && ip.v >= n.start && ip.v <= n.end;
const overlaps = (a: Net, b: Net) => a.family === b.family && a.start <= b.end && b.start <= a.end;

/** The VPC's subnets' CIDRs (both families), from the valid subnets. */
export function vpcCidrs(vpc: string, subnets: Iterable<FormattedSubnet>): string[] {
  const out: string[] = [];
  for (const s of subnets) if (s.vpc === vpc) out.push(...s.cidrBlock.split(','));
  return out.sort();
}

export function planVpc(
  vpc: Vpc,
  all: ReadonlyMap<string, Vpc>,
  subnets: Iterable<FormattedSubnet>,
): VpcPlan {
  const name = vpc.metadata!.name!;
  const spec = vpc.spec ?? {};
  const subnetList = [...subnets];
  const plan: VpcPlan = { routes: [], policies: [], peerings: [], warnings: [] };
  const fail = (reason: string, message: string): VpcPlan => ({ ...plan, invalid: { reason, message } });

  // networks a next hop may sit in: the VPC's subnets and its peering links
  const local = vpcCidrs(name, subnetList)
    .map(parseNet)
    .filter((n): n is Net => !!n);
  const links: Net[] = [];
  for (const [i, p] of (spec.vpcPeerings ?? []).entries()) {
    const net = parseNet(p.localConnectIP ?? '');
    if (!p.remoteVpc || !net)
      return fail('InvalidPeering', `vpcPeerings[${i}]: remoteVpc and localConnectIP (a CIDR) are required`);
    if (p.remoteVpc === name)
      return fail('InvalidPeering', `vpcPeerings[${i}]: a VPC cannot peer with itself`);
    links.push(net);
  }
  const reachable = (hop: string) => {
    const ip = ipValue(hop);
    return !!ip && [...local, ...links].some((n) => contains(n, ip));
  };

  for (const [i, r] of (spec.staticRoutes ?? []).entries()) {
    if (!parseNet(r.cidr ?? '') && isIP(r.cidr ?? '') === 0)
      return fail('InvalidStaticRoute', `staticRoutes[${i}]: cidr "${r.cidr}" is not a CIDR`);
    if (!reachable(r.nextHopIP ?? ''))
      return fail(
        'InvalidStaticRoute',
        `staticRoutes[${i}]: next hop ${r.nextHopIP} is outside every subnet and peering link of VPC ${name}`,
      );
    plan.routes.push({
      policy: r.policy === 'policySrc' ? 'src-ip' : 'dst-ip',
      prefix: r.cidr,
      nexthop: r.nextHopIP,
      origin: 'user',
    });
  }
  for (const [i, p] of (spec.policyRoutes ?? []).entries()) {
    if (!Number.isInteger(p.priority) || p.priority < 0 || p.priority > 32767)
      return fail('InvalidPolicyRoute', `policyRoutes[${i}]: priority must be 0..32767`);
    if (!p.match) return fail('InvalidPolicyRoute', `policyRoutes[${i}]: match is required`);
    if (!['allow', 'drop', 'reroute'].includes(p.action))
      return fail('InvalidPolicyRoute', `policyRoutes[${i}]: action must be allow, drop or reroute`);
    if (p.action === 'reroute' && !reachable(p.nextHopIP ?? ''))
      return fail(
        'InvalidPolicyRoute',
        `policyRoutes[${i}]: reroute needs a next hop inside the VPC, not "${p.nextHopIP ?? ''}"`,
      );
    plan.policies.push({
      priority: p.priority,
      match: p.match,
      action: p.action,
      nexthops: p.action === 'reroute' ? [p.nextHopIP!] : [],
    });
  }

  const userPrefixes = new Set(plan.routes.filter((r) => r.policy === 'dst-ip').map((r) => r.prefix));
  for (const p of spec.vpcPeerings ?? []) {
    const remote = all.get(p.remoteVpc);
    const back = remote?.spec?.vpcPeerings?.find((x) => x.remoteVpc === name);
    plan.peerings.push({ remote: p.remoteVpc, localConnectIP: p.localConnectIP, established: !!back });
    if (!remote) {
      plan.warnings.push({ reason: 'PeerNotFound', message: `peer VPC ${p.remoteVpc} does not exist` });
      continue;
    }
    if (!back) {
      plan.warnings.push({
        reason: 'PeeringPending',
        message: `VPC ${p.remoteVpc} does not declare the peering yet`,
      });
      continue;
    }
    const hop = back.localConnectIP.split('/')[0]!;
    const remoteCidrs = vpcCidrs(p.remoteVpc, subnetList);
    for (const cidr of remoteCidrs) {
      const net = parseNet(cidr);
      if (!net) continue;
      if (local.some((l) => overlaps(l, net))) {
        plan.warnings.push({
          reason: 'PeeringOverlap',
          message: `subnet ${cidr} of VPC ${p.remoteVpc} overlaps a subnet of VPC ${name}: not routed`,
        });
        continue;
      }
      if (userPrefixes.has(cidr)) continue; // the user's own route wins
      if (isIP(hop) !== (cidr.includes(':') ? 6 : 4)) continue; // no link address of that family
      plan.routes.push({ policy: 'dst-ip', prefix: cidr, nexthop: hop, origin: `peering/${p.remoteVpc}` });
    }
  }
  return plan;
}
