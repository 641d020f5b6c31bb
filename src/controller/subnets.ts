// Subnet reconcile: a valid Subnet becomes an IPAM subnet, a logical switch and its router port pair, and
// a status with conditions and address counters; an invalid one gets Validated=False and an Event, and
// nothing of it reaches northbound. A finalizer keeps a subnet whose addresses are still held.
import type { Deps } from './deps.ts';
import { condition } from './k8s/status.ts';
import type { Condition, Subnet } from './k8s/types.ts';
import { isConflict } from './kube.ts';
import { defaultRouteRows, owners, subnetRows } from './nb/topology.ts';
import {
  type FormattedSubnet,
  formatSubnet,
  overlapping,
  requireGateway,
  SubnetInvalid,
} from './subnet-spec.ts';
import { checkUnderlay, nodeAddresses, releaseU2o, u2oAddress, u2oOwner } from './underlay-subnet.ts';
import { patchKubeovnStatus } from './unsupported-fields.ts';
import { DEFAULT_VPC, routerOfVpc } from './vpcs.ts';

export type Outcome = { requeueAfterMs: number } | undefined;

/** Every status write also names the spec's fields that have no effect here (unsupported-fields.ts). */
const patchSubnetStatus = (d: Deps, s: Subnet, fields: Record<string, unknown>, conditions: Condition[]) =>
  patchKubeovnStatus(d.kube, 'subnets', s, fields, conditions);

/** The router a subnet's switch hangs off: the default VPC's, or the custom VPC's of the same name. */
export function routerOf(d: Deps, f: FormattedSubnet): string {
  return routerOfVpc(d, f.vpc);
}

export async function reconcileSubnet(d: Deps, name: string): Promise<Outcome> {
  const s = d.subnets.get(name);
  if (!s || s.metadata?.deletionTimestamp) return removeSubnet(d, name, s);

  let f: FormattedSubnet;
  try {
    f = formatSubnet(s, 'ovn-cluster');
    requireGateway(f);
    if (f.vpc !== DEFAULT_VPC && !d.vpcs.get(f.vpc))
      throw new SubnetInvalid('VpcNotFound', `VPC ${f.vpc} does not exist`);
    const clash = overlapping(f, [...d.valid.values()]);
    if (clash)
      throw new SubnetInvalid(
        'CIDROverlap',
        `${f.cidrBlock} overlaps subnet ${clash.name} (${clash.cidrBlock})`,
      );
    if (s.spec.vlan) f.underlay = checkUnderlay(d, s, f);
  } catch (e) {
    if (!(e instanceof SubnetInvalid)) throw e;
    const before = s.status?.conditions?.find((c) => c.type === 'Validated');
    await patchSubnetStatus(d, s, {}, [
      condition('Validated', false, e.reason, e.message),
      condition('Ready', false, e.reason, e.message),
    ]);
    // one Event per new verdict, not one per reconcile
    if (before?.status !== 'False' || before.message !== e.message)
      await d.kube.event(s, 'Warning', e.reason, e.message);
    d.log.warn({ subnet: name, reason: e.reason, err: e.message }, 'subnet rejected');
    return undefined;
  }

  await d.kube.setFinalizer(s, true);
  admit(d, s, f);
  let u2oIps: string[] | undefined;
  try {
    u2oIps = await u2oAddress(d, s, f);
  } catch (e) {
    if (!(e instanceof SubnetInvalid)) throw e;
    await patchSubnetStatus(d, s, {}, [
      condition('Validated', false, e.reason, e.message),
      condition('Ready', false, e.reason, e.message),
    ]);
    await d.kube.event(s, 'Warning', e.reason, e.message);
    return undefined;
  }
  if (f.underlay && u2oIps) f.underlay.u2oIps = u2oIps;
  const router = routerOf(d, f);
  const inDefaultVpc = f.vpc === 'ovn-cluster';
  // the router's port on the switch: the gateway, the u2o address, or none (a physical gateway)
  const routerCidrs = !f.underlay
    ? f.gatewayCidrs
    : u2oIps
      ? u2oIps.map(
          (ip) => `${ip}/${f.gatewayCidrs.find((g) => g.includes(':') === ip.includes(':'))?.split('/')[1]}`,
        )
      : s.spec.logicalGateway
        ? f.gatewayCidrs
        : [];
  const isJoin = name === d.config.joinSubnet.name;
  // a private subnet's ACLs let the nodes in: they need the join subnet's CIDR
  if (s.spec.private && !isJoin && !d.valid.has(d.config.joinSubnet.name)) return { requeueAfterMs: 500 };
  const desired = subnetRows({
    name,
    router,
    gatewayCidrs: routerCidrs,
    localnet: f.underlay ? { provider: f.underlay.provider, vlanId: f.underlay.vlanId } : undefined,
    u2o: u2oIps
      ? {
          cidrs: f.cidrBlock.split(','),
          physicalGateways: f.gateway.split(','),
          nodeIps: nodeAddresses(d),
          defaultVpc: inDefaultVpc,
        }
      : undefined,
    // in the default VPC, pod-bound traffic is routed normally and never caught by node reroutes
    cidrs: inDefaultVpc ? f.cidrBlock.split(',') : [],
    private:
      s.spec.private && !isJoin
        ? {
            cidrs: f.cidrBlock.split(','),
            allowSubnets: s.spec.allowSubnets ?? [],
            joinCidrs: d.valid.get(d.config.joinSubnet.name)?.cidrBlock.split(',') ?? [],
          }
        : undefined,
  });
  // the default VPC sends what no other route takes to the join gateway, as Kube-OVN does
  if (isJoin && inDefaultVpc) desired.push(...defaultRouteRows(router, f.gateway.split(',')));
  const r = await d.nb.apply([{ owner: owners.subnet(name), desired }]);
  if (r.failed.length > 0) {
    // e.g. the VPC's router is not there yet, or a name is another object's: said in the status, retried
    const err = r.failed[0]!.error;
    const reason = err.code === 'NB_PARENT_MISSING' ? 'VpcNotReady' : 'NameConflict';
    const before = s.status?.conditions?.find((c) => c.type === 'Ready');
    await patchSubnetStatus(d, s, {}, [
      condition('Validated', true, 'ValidatedSuccessfully'),
      condition('Ready', false, reason, err.message),
    ]);
    if (before?.status !== 'False' || before.message !== err.message)
      await d.kube.event(s, 'Warning', reason, err.message);
    throw err;
  }

  // write back the formatted spec, as Kube-OVN does, only when it differs (no generation churn), and only
  // over the version it was formatted from: an edit made meanwhile must not be reverted (the fuzzer saw a
  // gateway moved out of the CIDR put back, and the subnet stay valid). Its own update re-queues the key.
  const spec = s.spec;
  if (
    spec.cidrBlock !== f.cidrBlock ||
    spec.gateway !== f.gateway ||
    spec.protocol !== f.protocol ||
    spec.vpc !== f.vpc
  ) {
    try {
      await d.kube.patchSubnet(name, {
        metadata: { resourceVersion: s.metadata?.resourceVersion },
        spec: {
          cidrBlock: f.cidrBlock,
          gateway: f.gateway,
          protocol: f.protocol,
          vpc: f.vpc,
          excludeIps: f.excludeIps,
        },
      });
    } catch (e) {
      if (!isConflict(e)) throw e;
      return { requeueAfterMs: 100 };
    }
  }
  await writeStatus(d, s);
  return undefined;
}

/** Kube-OVN's u2o status fields: the address, its MAC (the router port's) and the VPC router. */
function u2oStatus(d: Deps, name: string): Record<string, unknown> {
  const f = d.valid.get(name);
  const ips = f?.underlay?.u2oIps;
  return {
    u2oInterconnectionIP: ips?.join(',') ?? '',
    u2oInterconnectionVPC: ips && f ? routerOf(d, f) : '',
  };
}

/** Makes a formatted subnet known to IPAM (and so to pods). */
function admit(d: Deps, s: Subnet, f: FormattedSubnet): void {
  const change = d.ipam.setSubnet({
    name: f.name,
    cidrBlock: f.cidrBlock,
    gateway: f.gateway,
    excludeIps: s.spec.excludeIps,
  });
  for (const c of change.conflicts) {
    d.log.warn(
      { subnet: f.name, owner: c.owner, ip: c.ip, err: c.error.message },
      'held address no longer valid',
    );
  }
  d.valid.set(f.name, f);
}

/**
 * At start, a Subnet that is being deleted is still made known to IPAM, without touching northbound, so
 * that the allocations of its remaining pods are restored and its finalizer waits for them.
 */
export function admitDeleting(d: Deps, s: Subnet): void {
  try {
    admit(d, s, formatSubnet(s, 'ovn-cluster'));
  } catch (e) {
    if (!(e instanceof SubnetInvalid)) throw e; // an invalid subnet never held addresses
  }
}

/** Status counters from IPAM and the Validated/Ready conditions. */
export async function writeStatus(d: Deps, s: Subnet): Promise<void> {
  const name = s.metadata!.name!;
  if (!d.valid.has(name)) return;
  await patchSubnetStatus(d, s, { ...d.ipam.status(name), ...u2oStatus(d, name) }, [
    condition('Validated', true, 'ValidatedSuccessfully'),
    condition('Ready', true, 'Init'),
  ]);
}

async function removeSubnet(d: Deps, name: string, s: Subnet | undefined): Promise<Outcome> {
  // the u2o address is the subnet's own: it never holds the finalizer
  const f = d.valid.get(name);
  if (f) await releaseU2o(d, name, u2oOwner(f.vpc, name));
  if (d.valid.has(name) && d.ipam.allocations(name).length > 0) {
    // pods still hold addresses in it: the finalizer keeps the Subnet until they are released
    return { requeueAfterMs: 2_000 };
  }
  await d.nb.apply([{ owner: owners.subnet(name), desired: [] }]);
  if (d.valid.delete(name)) d.ipam.removeSubnet(name);
  if (s) await d.kube.setFinalizer(s, false);
  return undefined;
}
