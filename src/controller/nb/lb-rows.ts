// What northbound should hold for the cluster's Services, with Kube-OVN's names: one load balancer per
// protocol (cluster-tcp-loadbalancer, ...) and one per protocol for sessionAffinity ClientIP
// (cluster-tcp-session-loadbalancer, ...), each with a VIP "<clusterIP>:<port>" -> "<ep>:<targetPort>,..."
// per Service port, attached to the given switches. Backends are the ready endpoints of the Service's
// EndpointSlices. A Service port without a ready endpoint gets no VIP (Kube-OVN's choice): its traffic is
// not balanced and goes unanswered. Pure: Services and slices in, desired rows out.
import type { V1EndpointSlice, V1Service, V1ServicePort } from '@kubernetes/client-node';
import type { DesiredRow } from './plan.ts';

/** The one owner of every load balancer row: the rows are shared by all Services. */
export const LB_OWNER = 'lb/cluster';

/** The label an EndpointSlice names its Service with. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** Kubernetes' default sessionAffinityConfig.clientIP.timeoutSeconds (3 hours). */
export const DEFAULT_AFFINITY_TIMEOUT_S = 10_800;

export const LB_PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;
export type LbProtocol = (typeof LB_PROTOCOLS)[number];

export function lbName(protocol: LbProtocol, session: boolean): string {
  return session ? `cluster-${protocol}-session-loadbalancer` : `cluster-${protocol}-loadbalancer`;
}

export interface LbInput {
  services: readonly V1Service[];
  /** Every EndpointSlice; each is matched to its Service by namespace and the service-name label. */
  slices: readonly V1EndpointSlice[];
  /** The logical switches every load balancer is attached to (the default VPC's subnets and join). */
  switches: readonly string[];
}

/** "ip:port", with IPv6 addresses bracketed as OVN wants them. */
function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function protocolOf(p: { protocol?: string }): LbProtocol {
  return (p.protocol ?? 'TCP').toLowerCase() as LbProtocol;
}

/** The ready backends "ip:port" of one Service port, over all the Service's slices of one address family. */
function backendsOf(port: V1ServicePort, slices: readonly V1EndpointSlice[], v6: boolean): string[] {
  const out = new Set<string>();
  for (const slice of slices) {
    if (slice.addressType !== (v6 ? 'IPv6' : 'IPv4')) continue;
    // the slice carries the resolved target port under the Service port's name ("" when unnamed)
    const sp = (slice.ports ?? []).find(
      (p) => (p.name ?? '') === (port.name ?? '') && protocolOf(p) === protocolOf(port),
    );
    const target = sp?.port ?? (typeof port.targetPort === 'number' ? port.targetPort : undefined);
    if (target === undefined) continue;
    for (const ep of slice.endpoints ?? []) {
      // an unknown readiness counts as ready, as the EndpointSlice API asks of consumers
      if (ep.conditions?.ready === false) continue;
      for (const address of ep.addresses) out.add(hostPort(address, target));
    }
  }
  return [...out].sort();
}

/** The Service's cluster IPs, none for a headless or ExternalName Service. */
function clusterIpsOf(svc: V1Service): string[] {
  const spec = svc.spec ?? {};
  if (spec.type === 'ExternalName') return [];
  const ips = spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  return ips.filter((ip) => ip !== 'None' && ip !== '');
}

function affinityTimeout(svc: V1Service): number {
  return svc.spec?.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_S;
}

/**
 * The six load balancers, always present (as Kube-OVN creates them at start), with every Service's VIPs.
 * affinity_timeout is per load balancer in OVN, not per VIP: with ClientIP Services of different timeouts,
 * the session load balancer takes the longest (a client is never moved earlier than its Service asked).
 */
export function lbRows(input: LbInput): DesiredRow[] {
  const bySvc = new Map<string, V1EndpointSlice[]>();
  for (const slice of input.slices) {
    const svc = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!svc) continue;
    const key = `${slice.metadata?.namespace}/${svc}`;
    bySvc.set(key, [...(bySvc.get(key) ?? []), slice]);
  }
  const vips = new Map<string, Record<string, string>>();
  const timeouts = new Map<LbProtocol, number>();
  for (const p of LB_PROTOCOLS) for (const s of [false, true]) vips.set(lbName(p, s), {});
  const services = [...input.services].sort((a, b) =>
    `${a.metadata?.namespace}/${a.metadata?.name}` < `${b.metadata?.namespace}/${b.metadata?.name}` ? -1 : 1,
  );
  for (const svc of services) {
    const slices = bySvc.get(`${svc.metadata?.namespace}/${svc.metadata?.name}`) ?? [];
    const session = svc.spec?.sessionAffinity === 'ClientIP';
    for (const port of svc.spec?.ports ?? []) {
      const protocol = protocolOf(port);
      if (!LB_PROTOCOLS.includes(protocol)) continue;
      let used = false;
      for (const ip of clusterIpsOf(svc)) {
        const backends = backendsOf(port, slices, ip.includes(':'));
        if (backends.length === 0) continue;
        vips.get(lbName(protocol, session))![hostPort(ip, port.port)] = backends.join(',');
        used = true;
      }
      if (session && used)
        timeouts.set(protocol, Math.max(timeouts.get(protocol) ?? 0, affinityTimeout(svc)));
    }
  }
  const switches = [...new Set(input.switches)].sort();
  return LB_PROTOCOLS.flatMap((protocol) =>
    [false, true].map((session): DesiredRow => {
      const name = lbName(protocol, session);
      return {
        table: 'Load_Balancer',
        id: `lb/${name}`,
        columns: {
          name,
          protocol,
          vips: vips.get(name)!,
          options: session
            ? { affinity_timeout: String(timeouts.get(protocol) ?? DEFAULT_AFFINITY_TIMEOUT_S) }
            : {},
          external_ids: {},
        },
        attachedTo: {
          table: 'Logical_Switch',
          column: 'load_balancer',
          ids: switches.map((s) => `ls/${s}`),
        },
      };
    }),
  );
}
