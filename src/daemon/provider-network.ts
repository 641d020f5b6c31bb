// The node's side of underlay networks, level-triggered: for every ProviderNetwork that applies to this node,
// an OVS bridge br-<provider> with the node's NIC as a trunk port; the NIC's addresses and routes moved onto
// the bridge (so the node keeps them while OVS owns the NIC) and its MAC given to the bridge; the network
// mapped to the bridge for ovn-controller. A network that no longer applies (deleted, or the node excluded)
// gets its addresses back on the NIC and its bridge removed. The node's labels
// <pn>.provider-network.kubernetes.io/ready|interface|mtu|exclude say how it went, and the annotation
// <pn>.provider-network.kubernetes.io/err_mesg why not; the controller turns them into the ProviderNetwork's
// status. A node without the NIC is not ready on that network; the others go on.
import type { V1Node } from '@kubernetes/client-node';
import type { Logger } from '../controller/deps.ts';
import type { ProviderNetwork, Vlan } from '../controller/k8s/types.ts';
import { stableMac } from '../controller/nb/topology.ts';
import {
  appliesTo,
  bridgeOf,
  nicOf,
  type PnKey,
  pnErrorAnnotation,
  pnLabel,
  providerNameProblem,
  vlanConflicts,
  vlanIdOf,
  vlanProviderOf,
} from '../controller/underlay.ts';
import { runInNetns } from './netns-exec.ts';
import {
  ADDRS_KEY,
  ensureProviderBridge,
  NIC_KEY,
  providerBridges,
  ROUTES_KEY,
  removeProviderBridge,
  setOvnMappings,
} from './ovs-bridges.ts';
import type { OvsPorts } from './ovs-ports.ts';

export interface WantedNetwork {
  provider: string;
  nic: string;
  bridge: string;
  /** 0 (untagged) and the ids of the provider's Vlans that do not conflict. */
  trunks: number[];
}

/** The networks that apply to the node, and those whose name cannot be a bridge (with why). */
export function wantedNetworks(
  node: V1Node,
  pns: readonly ProviderNetwork[],
  vlans: readonly Vlan[],
): { wanted: WantedNetwork[]; excluded: string[]; invalid: Map<string, string> } {
  const view = { name: node.metadata!.name!, labels: node.metadata?.labels ?? {} };
  const conflicts = vlanConflicts(vlans);
  const wanted: WantedNetwork[] = [];
  const excluded: string[] = [];
  const invalid = new Map<string, string>();
  for (const pn of pns) {
    const name = pn.metadata!.name!;
    const problem = providerNameProblem(name);
    if (problem) {
      invalid.set(name, problem);
      continue;
    }
    if (!appliesTo(pn, view)) {
      excluded.push(name);
      continue;
    }
    const ids = vlans
      .filter((v) => vlanProviderOf(v) === name && !conflicts.has(v.metadata!.name!))
      .map(vlanIdOf);
    wanted.push({ provider: name, nic: nicOf(pn, view.name), bridge: bridgeOf(name), trunks: [0, ...ids] });
  }
  return { wanted, excluded, invalid };
}

interface LinkInfo {
  address: string;
  mtu: number;
  addr_info?: { family: string; local: string; prefixlen: number; scope: string }[];
}

interface RouteInfo {
  dst: string;
  gateway?: string;
  protocol?: string;
  scope?: string;
  metric?: number;
}

/** The global IPv4 and IPv6 addresses of a device, "a.b.c.d/len". */
function globalAddresses(l: LinkInfo): string[] {
  return (l.addr_info ?? [])
    .filter((a) => a.scope === 'global' && (a.family === 'inet' || a.family === 'inet6'))
    .map((a) => `${a.local}/${a.prefixlen}`);
}

/** What a provider bridge's row records of its NIC's addresses and routes. */
function recorded(ids: Record<string, string> | undefined): { addresses: string[]; routes: string[] } {
  const addresses = (ids?.[ADDRS_KEY] ?? '').split(',').filter(Boolean);
  let routes: string[] = [];
  try {
    const parsed = JSON.parse(ids?.[ROUTES_KEY] ?? '[]') as unknown;
    if (Array.isArray(parsed)) routes = parsed.filter((r): r is string => typeof r === 'string');
  } catch {
    // a hand-edited value: the routes are then what the devices have
  }
  return { addresses, routes };
}

/** What the node reports about one network: its labels and the error annotation (null: remove). */
export type Report = Record<string, string | null>;

export class ProviderNetworks {
  constructor(
    private readonly o: {
      nodeName: string;
      ovs: OvsPorts;
      log: Logger;
      nodeNetns?: string;
      /** Writes labels and annotations onto the node (merge patch; null removes). */
      patchNode(
        labels: Record<string, string | null>,
        annotations: Record<string, string | null>,
      ): Promise<void>;
    },
  ) {}

  private ip(args: string[], input?: string): Promise<string> {
    return runInNetns(this.o.nodeNetns, 'ip', args, { input, timeoutMs: 10_000 });
  }

  private async link(dev: string): Promise<LinkInfo | undefined> {
    try {
      return (JSON.parse((await this.ip(['-j', 'addr', 'show', 'dev', dev])) || '[]') as LinkInfo[])[0];
    } catch {
      return undefined;
    }
  }

  private async routes(dev: string): Promise<RouteInfo[]> {
    return JSON.parse((await this.ip(['-j', 'route', 'show', 'dev', dev])) || '[]') as RouteInfo[];
  }

  /**
   * Brings the node to what the networks ask for; returns the MTU of each network that is ready (what
   * its underlay pods get). One network's failure is reported and does not stop the others.
   */
  async reconcile(
    node: V1Node,
    pns: readonly ProviderNetwork[],
    vlans: readonly Vlan[],
  ): Promise<Map<string, number>> {
    const { wanted, excluded, invalid } = wantedNetworks(node, pns, vlans);
    const ready = new Map<string, number>();
    const labels: Record<string, string | null> = {};
    const annotations: Record<string, string | null> = {};
    const report = (pn: string, values: Partial<Record<PnKey, string | null>>, error: string | null) => {
      for (const key of ['ready', 'interface', 'mtu', 'exclude'] as const)
        labels[pnLabel(pn, key)] = values[key] ?? null;
      annotations[pnErrorAnnotation(pn)] = error;
    };
    const wantedNames = new Set(wanted.map((w) => w.provider));
    // networks that went away or no longer apply: the NIC gets its addresses back
    for (const [provider, br] of providerBridges(this.o.ovs)) {
      if (wantedNames.has(provider)) continue;
      try {
        await this.release(br.name, br.external_ids);
        await setOvnMappings(this.o.ovs, [], [provider]);
        this.o.log.info({ provider, bridge: br.name }, 'provider network removed from the node');
      } catch (e) {
        this.o.log.warn(
          { provider, err: (e as Error).message },
          'provider network removal failed; will retry',
        );
      }
    }
    for (const w of wanted) {
      try {
        const mtu = await this.attach(w);
        await setOvnMappings(
          this.o.ovs,
          [
            {
              provider: w.provider,
              bridge: w.bridge,
              chassisMac: stableMac(`${this.o.nodeName}/${w.provider}`),
            },
          ],
          [],
        );
        ready.set(w.provider, mtu);
        report(w.provider, { ready: 'true', interface: w.nic, mtu: String(mtu) }, null);
      } catch (e) {
        const why = (e as Error).message;
        this.o.log.warn({ provider: w.provider, nic: w.nic, err: why }, 'provider network not set up');
        report(w.provider, {}, why);
      }
    }
    for (const pn of excluded) report(pn, { exclude: 'true' }, null);
    for (const [pn, why] of invalid) report(pn, {}, why);
    // labels of networks that are gone altogether
    const known = new Set(pns.map((p) => p.metadata!.name!));
    for (const key of Object.keys(node.metadata?.labels ?? {})) {
      const m = /^(.+)\.provider-network\.kubernetes\.io\/(ready|interface|mtu|exclude)$/.exec(key);
      if (m && !known.has(m[1]!)) labels[key] = null;
    }
    for (const key of Object.keys(node.metadata?.annotations ?? {})) {
      const m = /^(.+)\.provider-network\.kubernetes\.io\/err_mesg$/.exec(key);
      if (m && !known.has(m[1]!)) annotations[key] = null;
    }
    const curLabels = node.metadata?.labels ?? {};
    const curAnn = node.metadata?.annotations ?? {};
    const changedLabels = Object.fromEntries(
      Object.entries(labels).filter(([k, v]) => (v === null ? k in curLabels : curLabels[k] !== v)),
    );
    const changedAnn = Object.fromEntries(
      Object.entries(annotations).filter(([k, v]) => (v === null ? k in curAnn : curAnn[k] !== v)),
    );
    if (Object.keys(changedLabels).length + Object.keys(changedAnn).length > 0)
      await this.o.patchNode(changedLabels, changedAnn);
    return ready;
  }

  /** The bridge with the NIC on it and the NIC's addresses and routes moved over; returns the MTU. */
  private async attach(w: WantedNetwork): Promise<number> {
    const nic = await this.link(w.nic);
    if (!nic) throw new Error(`nic ${w.nic} does not exist on node ${this.o.nodeName}`);
    // what the bridge already holds for the NIC, and what the NIC has (anew, or added since)
    const held = recorded(providerBridges(this.o.ovs).get(w.provider)?.external_ids);
    const addresses = [...new Set([...held.addresses, ...globalAddresses(nic)])];
    const routes = [...new Set([...held.routes, ...(await this.ownRoutes(w.nic))])];
    await ensureProviderBridge(this.o.ovs, {
      provider: w.provider,
      bridge: w.bridge,
      nic: w.nic,
      mac: nic.address,
      mtu: nic.mtu,
      trunks: w.trunks,
      addresses,
      routes,
    });
    await this.waitDevice(w.bridge);
    await this.place(addresses, routes, w.bridge, w.nic);
    return nic.mtu;
  }

  /** The NIC's addresses and routes back from the bridge, then the bridge deleted. */
  private async release(bridge: string, ids: Record<string, string>): Promise<void> {
    const nic = ids[NIC_KEY];
    if (nic && (await this.link(nic))) {
      const held = recorded(ids);
      const br = await this.link(bridge);
      const addresses = [...new Set([...held.addresses, ...(br ? globalAddresses(br) : [])])];
      const routes = [...new Set([...held.routes, ...(br ? await this.ownRoutes(bridge) : [])])];
      await this.place(addresses, routes, nic, br ? bridge : undefined);
    }
    await removeProviderBridge(this.o.ovs, bridge);
  }

  /** Routes on a device that are not the kernel's own (those follow the addresses by themselves). */
  private async ownRoutes(dev: string): Promise<string[]> {
    return (await this.routes(dev))
      .filter((r) => r.protocol !== 'kernel')
      .map((r) => `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}`);
  }

  /**
   * Puts addresses and routes on `to` (both set up) and takes the addresses off `from`. They go onto the new
   * device before they leave the old one, so the node is never without them.
   */
  private async place(addresses: string[], routes: string[], to: string, from?: string): Promise<void> {
    const batch = [`link set ${to} up`];
    for (const a of addresses) batch.push(`addr replace ${a} dev ${to}`);
    if (from) {
      const have = await this.link(from);
      const there = new Set(have ? globalAddresses(have) : []);
      for (const a of addresses) if (there.has(a)) batch.push(`addr del ${a} dev ${from}`);
      batch.push(`link set ${from} up`);
    }
    for (const r of routes) batch.push(`route replace ${r} dev ${to}`);
    await this.ip(['-batch', '-'], `${batch.join('\n')}\n`);
  }

  /** OVS makes an internal port's device after the transaction. */
  private async waitDevice(dev: string): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if (await this.link(dev)) return;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`device ${dev} did not appear`);
  }
}
