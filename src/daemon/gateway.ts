// The node's gateway into the overlay, as Kube-OVN makes it: an internal port ovn0 on br-int bound to the
// node's join-switch port node-<node>, carrying the node's join address and MAC from its annotations, with a
// route to every subnet of the default VPC via the join gateway. Level-triggered: reconcile() brings the
// port, the device and the routes to what they should be, whenever the node, a subnet or OVS changes
// (an ovs-vswitchd restart recreates the device without its addresses).
import type { V1Node } from '@kubernetes/client-node';
import type { Logger } from '../controller/deps.ts';
import { Ann } from '../controller/k8s/annotations.ts';
import type { Subnet } from '../controller/k8s/types.ts';
import { VENDOR, VENDOR_KEY } from '../controller/nb/ownership.ts';
import { runInNetns } from './netns-exec.ts';
import type { OvsPorts } from './ovs-ports.ts';

export const GATEWAY_IF = 'ovn0';

/** Kube-OVN's default service-cluster-ip-range: the node reaches Services through ovn0 (the join switch's load balancers). */
export const DEFAULT_SERVICE_CIDRS: readonly string[] = ['10.96.0.0/12'];

export interface GatewayState {
  mac: string;
  /** "100.64.0.2/16" */
  address: string;
  joinGateway: string;
  /** CIDRs of the default VPC's subnets and the service CIDRs, routed via the join gateway. */
  routes: string[];
  mtu: number;
}

/** What ovn0 should be, from the node's annotations and the Subnets; undefined until the node is annotated. */
export function desiredGateway(
  node: V1Node | undefined,
  subnets: readonly Subnet[],
  joinSubnet: string,
  mtu: number,
  serviceCidrs: readonly string[] = DEFAULT_SERVICE_CIDRS,
): GatewayState | undefined {
  const a = node?.metadata?.annotations ?? {};
  const [ipList, mac, cidrs, gws] = [a[Ann.ipAddress], a[Ann.macAddress], a[Ann.cidr], a[Ann.gateway]];
  if (a[Ann.allocated] !== 'true' || !ipList || !mac || !cidrs || !gws) return undefined;
  // the IPv4 part of a dual-stack join subnet (IPv6 host routes follow the same shape; v4 is what the lab runs)
  const ip = ipList.split(',')[0]!;
  const prefix = cidrs.split(',')[0]!.split('/')[1];
  const routes = subnets
    .filter((s) => s.metadata?.name !== joinSubnet && (s.spec?.vpc ?? 'ovn-cluster') === 'ovn-cluster')
    .filter(
      (s) =>
        !s.metadata?.deletionTimestamp &&
        s.status?.conditions?.some((c) => c.type === 'Validated' && c.status === 'True'),
    )
    // an underlay subnet behind a physical gateway is reached through the physical network, not OVN
    .filter((s) => !s.spec.vlan || s.spec.logicalGateway || s.spec.u2oInterconnection)
    .flatMap((s) => s.spec.cidrBlock.split(','))
    .concat(serviceCidrs)
    .filter((c) => !c.includes(':'))
    .sort();
  return {
    mac: mac.toLowerCase(),
    address: `${ip}/${prefix}`,
    joinGateway: gws.split(',')[0]!,
    routes,
    mtu,
  };
}

export class Gateway {
  private readyState = false;
  private lastReason = 'not configured yet';

  constructor(private readonly o: { nodeName: string; ovs: OvsPorts; log: Logger; nodeNetns?: string }) {}

  /** `ip` in the node's network namespace (where ovs-vswitchd made ovn0). */
  private ip(args: string[], input?: string): Promise<string> {
    return runInNetns(this.o.nodeNetns, 'ip', args, { input, timeoutMs: 10_000 });
  }

  get ready(): boolean {
    return this.readyState;
  }

  get reason(): string {
    return this.lastReason;
  }

  /** Brings ovn0 to the desired state; returns whether the join gateway answered. */
  async reconcile(want: GatewayState | undefined): Promise<boolean> {
    if (!want) {
      this.readyState = false;
      this.lastReason = 'the node has no join address from the controller yet';
      return false;
    }
    await this.o.ovs.ensurePort({
      name: GATEWAY_IF,
      type: 'internal',
      externalIds: { 'iface-id': `node-${this.o.nodeName}`, [VENDOR_KEY]: VENDOR },
      mtuRequest: want.mtu,
    });
    await this.waitDevice();
    const current = JSON.parse((await this.ip(['-j', 'addr', 'show', 'dev', GATEWAY_IF])) || '[]') as {
      address?: string;
      mtu?: number;
      operstate?: string;
      addr_info?: { family: string; local: string; prefixlen: number }[];
    }[];
    const link = current[0];
    const batch: string[] = [];
    if (link?.address !== want.mac || link?.mtu !== want.mtu)
      batch.push(`link set ${GATEWAY_IF} address ${want.mac} mtu ${want.mtu}`);
    batch.push(`link set ${GATEWAY_IF} up`);
    const have = (link?.addr_info ?? [])
      .filter((x) => x.family === 'inet')
      .map((x) => `${x.local}/${x.prefixlen}`);
    for (const old of have) if (old !== want.address) batch.push(`addr del ${old} dev ${GATEWAY_IF}`);
    if (!have.includes(want.address)) batch.push(`addr replace ${want.address} dev ${GATEWAY_IF}`);
    const routes = JSON.parse((await this.ip(['-j', 'route', 'show', 'dev', GATEWAY_IF])) || '[]') as {
      dst: string;
      gateway?: string;
    }[];
    const via = new Set(routes.filter((r) => r.gateway === want.joinGateway).map((r) => r.dst));
    for (const r of routes) {
      if (r.gateway && !want.routes.includes(r.dst))
        batch.push(`route del ${r.dst} via ${r.gateway} dev ${GATEWAY_IF}`);
    }
    for (const cidr of want.routes) {
      if (!via.has(cidr)) batch.push(`route replace ${cidr} via ${want.joinGateway} dev ${GATEWAY_IF}`);
    }
    await this.ip(['-batch', '-'], `${batch.join('\n')}\n`);
    const ok = await this.reachable(want.joinGateway);
    if (ok !== this.readyState) this.o.log.info({ gateway: want.joinGateway, reachable: ok }, 'ovn0 gateway');
    this.readyState = ok;
    this.lastReason = ok
      ? 'ovn0 reaches the join gateway'
      : `ovn0 cannot reach the join gateway ${want.joinGateway}`;
    return ok;
  }

  /** OVS creates the internal port's device asynchronously after the transaction. */
  private async waitDevice(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if (
        await this.ip(['link', 'show', 'dev', GATEWAY_IF]).then(
          () => true,
          () => false,
        )
      )
        return;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`device ${GATEWAY_IF} did not appear`);
  }

  private async reachable(gw: string): Promise<boolean> {
    for (let i = 0; i < 5; i++) {
      const ok = await runInNetns(this.o.nodeNetns, 'ping', ['-c', '1', '-W', '1', '-q', gw]).then(
        () => true,
        () => false,
      );
      if (ok) return true;
    }
    return false;
  }

  /** Removes ovn0 (uninstall). */
  async remove(): Promise<void> {
    await this.o.ovs.removePort(GATEWAY_IF);
    this.readyState = false;
  }
}
