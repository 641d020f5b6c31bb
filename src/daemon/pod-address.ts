// What the controller's annotations say a pod's interface must carry. Pure, so the rules (dual stack, which
// annotations mean "ready") are tested without a cluster.
import { isIP } from 'node:net';
import { Ann } from '../controller/k8s/annotations.ts';

export interface PodAddress {
  mac: string;
  /** Per family, "10.16.0.5/16" style. */
  addresses: string[];
  /** Per family, the subnet's gateway. */
  gateways: string[];
  subnet: string;
}

/**
 * True once the controller has finished with the pod: the address is allocated and recorded and its
 * logical port exists (Kube-OVN's "routed"), so traffic can flow as soon as the interface is up.
 */
export function isAddressed(annotations: Record<string, string> | undefined, provider?: string): boolean {
  const a = annotations ?? {};
  const k = keys(provider);
  return a[k.allocated] === 'true' && a[k.routed] === 'true' && !!a[k.ipAddress] && !!a[k.macAddress];
}

/**
 * The annotation keys of the pod's first interface (ovn.kubernetes.io/...), or of a secondary network's
 * (<provider>.kubernetes.io/..., provider "<nad>.<ns>.ovn").
 */
export function keys(provider?: string): typeof Ann {
  if (!provider || provider === 'ovn') return Ann;
  return Object.fromEntries(
    Object.entries(Ann).map(([k, v]) => [
      k,
      v.replace(/^ovn\.kubernetes\.io\//, `${provider}.kubernetes.io/`),
    ]),
  ) as typeof Ann;
}

const split = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

/** The interface config from the annotations, or an Error naming what is malformed. */
export function podAddress(annotations: Record<string, string>, provider?: string): PodAddress {
  const k = keys(provider);
  const ips = split(annotations[k.ipAddress]);
  const cidrs = split(annotations[k.cidr]);
  const gateways = split(annotations[k.gateway]);
  const mac = annotations[k.macAddress] ?? '';
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) throw new Error(`malformed mac_address "${mac}"`);
  const addresses = ips.map((ip) => {
    const family = isIP(ip);
    if (family === 0) throw new Error(`malformed ip_address "${ip}"`);
    const cidr = cidrs.find((c) => isIP(c.split('/')[0] ?? '') === family);
    const prefix = cidr?.split('/')[1];
    if (!prefix) throw new Error(`no ${family === 6 ? 'IPv6' : 'IPv4'} cidr for ${ip}`);
    return `${ip}/${prefix}`;
  });
  const gws = ips.map((ip) => {
    const gw = gateways.find((g) => isIP(g) === isIP(ip));
    if (!gw) throw new Error(`no gateway for ${ip}`);
    return gw;
  });
  return { mac: mac.toLowerCase(), addresses, gateways: gws, subnet: annotations[k.logicalSwitch] ?? '' };
}
