// What the daemon does for each CNI command. ADD: wait for the controller's annotations, make the veth
// pair and configure the pod side, attach the host end to br-int with iface-id=<pod>.<ns>, wait for
// ovn-controller to install it, answer with the result. DEL undoes that and succeeds when nothing is left.
// CHECK compares; GC removes attachments the runtime no longer has. Work for one attachment is serialised.
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../controller/deps.ts';
import { Ann } from '../controller/k8s/annotations.ts';
import { KeyedLock } from '../controller/keyed-lock.ts';
import { VENDOR, VENDOR_KEY } from '../controller/nb/ownership.ts';
import { podPortName } from '../controller/nb/topology.ts';
import { announcePodAddresses } from './address-announce.ts';
import { type CniRequest, validAttachments } from './cni-request.ts';
import { DaemonCode, DaemonError } from './errors.ts';
import { checkGateways } from './gateway-check.ts';
import type { OvsPorts } from './ovs-ports.ts';
import { isAddressed, type PodAddress, podAddress } from './pod-address.ts';
import {
  checkPodInterface,
  createPodInterface,
  deletePodInterface,
  hostVethName,
  InterfaceExistsError,
  NetdevError,
} from './pod-netdev.ts';
import { PodWaitTimeout, type PodWatch } from './pod-watch.ts';
import { desiredQos, type PodQos } from './qos.ts';

/** How long a pod may be missing from the node's pod watch before the API is asked whether it exists. */
const ABSENT_GRACE_MS = 2_000;
/** external_ids keys on a pod's OVS Interface that tie it to its CNI attachment (for DEL and GC). */
const CONTAINER_KEY = 'cni_container_id';
const IFNAME_KEY = 'cni_ifname';

export interface PodNetworkOptions {
  /** Where the pods' host-side veth ends go (the node's ovs-vswitchd netns); undefined: our own. */
  nodeNetns?: string;
  ovs: OvsPorts;
  pods: PodWatch;
  /** The MTU of a subnet's pods (its spec.mtu, or the node default). */
  mtuOf: (subnet: string) => number;
  log: Logger;
  /** How long ADD waits for the controller's annotations. */
  addressTimeoutMs: number;
  /** How long ADD waits for ovn-controller's ovn-installed. */
  installTimeoutMs: number;
  /** Applies the pods' ingress_rate/egress_rate; without it they are not applied. */
  qos?: PodQos;
  /** An underlay subnet's needs for its pods (undefined for overlay subnets). */
  underlayOf?: (subnet: string) => UnderlayPlan | undefined;
  /** How long ADD waits for an underlay pod's gateway to answer. */
  gatewayCheckTimeoutMs?: number;
}

export interface UnderlayPlan {
  /** The default route's next hops instead of the subnet gateway (u2oInterconnection's address). */
  nextHops?: string[];
  /** ovn-controller's patch port to the provider bridge, which ADD waits for (the network is mapped). */
  patchPort?: string;
  /** How ADD makes sure the gateway answers before it returns: ARP (a physical one), ping; none. */
  check?: 'arp' | 'ping';
}

export interface CniResult {
  cniVersion: string;
  interfaces: { name: string; mac?: string; sandbox?: string }[];
  ips: { address: string; gateway?: string; interface?: number }[];
  routes: { dst: string; gw?: string }[];
  dns: Record<string, unknown>;
}

export class PodNetwork {
  /** One operation at a time per attachment ("<containerId>/<ifName>"). */
  private readonly locks = new KeyedLock();

  constructor(private readonly o: PodNetworkOptions) {}

  add(req: CniRequest): Promise<CniResult> {
    return this.locks.run(`${req.containerId}/${req.ifName}`, () => this.doAdd(req));
  }

  private async doAdd(req: CniRequest): Promise<CniResult> {
    const t0 = performance.now();
    const pod = await this.waitAddressed(req);
    const tAddr = performance.now();
    let addr: PodAddress;
    try {
      addr = podAddress(pod.metadata?.annotations ?? {}, providerOf(req));
    } catch (e) {
      throw new DaemonError(
        DaemonCode.AddressConflict,
        `pod ${req.podNamespace}/${req.podName}: ${(e as Error).message}`,
      );
    }
    const hostIf = hostVethName(req.containerId, req.ifName);
    const mtu = this.o.mtuOf(addr.subnet);
    const underlay = this.o.underlayOf?.(addr.subnet);
    const nextHops = routeVia(pod, req, addr, underlay);
    try {
      await createPodInterface({
        nodeNetns: this.o.nodeNetns,
        podNetns: req.netns,
        hostIf,
        podIf: req.ifName,
        mac: addr.mac,
        mtu,
        addresses: addr.addresses,
        gateways: nextHops,
        owner: { containerId: req.containerId, ifName: req.ifName },
        // announced once the port is on br-int, when the ARP can reach OVN
        announce: false,
        log: this.o.log,
      });
    } catch (e) {
      if (e instanceof InterfaceExistsError)
        throw new DaemonError(
          DaemonCode.InterfaceExists,
          `interface ${req.ifName} already exists in ${req.netns}`,
        );
      throw new DaemonError(
        DaemonCode.IoFailure,
        `configuring the pod interface failed: ${(e as Error).message}`,
      );
    }
    const tIf = performance.now();
    const lsp = portNameOf(pod, req);
    try {
      await this.o.ovs.ensurePort({
        name: hostIf,
        externalIds: {
          'iface-id': lsp,
          [VENDOR_KEY]: VENDOR,
          pod_name: req.podName,
          pod_namespace: req.podNamespace,
          pod_netns: req.netns,
          ip: addr.addresses.map((a) => a.split('/')[0]).join(','),
          [CONTAINER_KEY]: req.containerId,
          [IFNAME_KEY]: req.ifName,
        },
      });
    } catch (e) {
      await this.cleanup(hostIf, req);
      throw new DaemonError(
        DaemonCode.OvsFailure,
        `attaching ${hostIf} to br-int failed: ${(e as Error).message}`,
      );
    }
    if (this.o.qos) {
      // the watch's latest annotations: a change that came while the port did not exist yet counts
      const latest = this.o.pods.get(req.podNamespace, req.podName) ?? pod;
      try {
        await this.o.qos.apply(
          hostIf,
          desiredQos(latest.metadata?.annotations, providerOf(req)),
          `${req.podNamespace}/${req.podName}`,
        );
      } catch (e) {
        await this.cleanup(hostIf, req);
        throw new DaemonError(
          DaemonCode.IoFailure,
          `applying the pod's rate limits failed: ${(e as Error).message}`,
        );
      }
    }
    try {
      await this.o.ovs.waitInstalled(hostIf, this.o.installTimeoutMs);
    } catch (e) {
      await this.cleanup(hostIf, req);
      throw new DaemonError(DaemonCode.PortNotInstalled, (e as Error).message);
    }
    if (underlay) {
      try {
        if (underlay.patchPort) await this.o.ovs.waitInterface(underlay.patchPort, this.o.installTimeoutMs);
        if (underlay.check)
          await checkGateways(
            req.netns,
            req.ifName,
            nextHops.length > 0 ? nextHops : addr.gateways,
            underlay.check,
            this.o.gatewayCheckTimeoutMs ?? 15_000,
          );
      } catch (e) {
        await this.cleanup(hostIf, req);
        throw new DaemonError(
          DaemonCode.TryAgainLater,
          `underlay subnet ${addr.subnet}: ${(e as Error).message}`,
        );
      }
    }
    const tDone = performance.now();
    void announcePodAddresses({
      podNetns: req.netns,
      podIf: req.ifName,
      addresses: addr.addresses,
      log: this.o.log,
    });
    this.o.log.info(
      {
        pod: `${req.podNamespace}/${req.podName}`,
        container: req.containerId.slice(0, 12),
        ip: addr.addresses.join(','),
        wait_address_ms: Math.round(tAddr - t0),
        interface_ms: Math.round(tIf - tAddr),
        ovs_installed_ms: Math.round(tDone - tIf),
        total_ms: Math.round(tDone - t0),
      },
      'cni add',
    );
    return {
      cniVersion: req.cniVersion,
      interfaces: [{ name: hostIf }, { name: req.ifName, mac: addr.mac, sandbox: req.netns }],
      ips: addr.addresses.map((address, i) => ({ address, gateway: addr.gateways[i], interface: 1 })),
      routes: nextHops.map((gw) => ({
        dst: gw.includes(':') ? '::/0' : '0.0.0.0/0',
        gw,
      })),
      dns: {},
    };
  }

  private async waitAddressed(req: CniRequest): Promise<V1Pod> {
    const matches = (p: V1Pod) =>
      isAddressed(p.metadata?.annotations, providerOf(req)) &&
      (!req.podUid || p.metadata?.uid === req.podUid);
    const stop = new AbortController();
    try {
      const { podNamespace: ns, podName: name } = req;
      const addressed = this.o.pods.waitFor(ns, name, matches, this.o.addressTimeoutMs, stop.signal);
      return await Promise.race([addressed, this.absent(ns, name, stop.signal).then(() => addressed)]);
    } catch (e) {
      if (e instanceof PodWaitTimeout) throw new DaemonError(DaemonCode.TryAgainLater, e.message);
      throw e;
    } finally {
      stop.abort();
    }
  }

  /**
   * Rejects when, after a moment's grace for the watch, the pod is neither in it nor in the API on this node:
   * a runtime only asks for pods that exist, so one that does not (deleted meanwhile, or a wrong name) is not
   * coming, and waiting the whole address timeout for it would only hold the runtime up. Resolves (and the
   * wait goes on) when the pod is there or the API cannot be asked.
   */
  private async absent(namespace: string, name: string, signal: AbortSignal): Promise<void> {
    await sleep(ABSENT_GRACE_MS, undefined, { signal });
    if (this.o.pods.get(namespace, name)) return;
    const exists = await this.o.pods.existsOnNode(namespace, name).catch(() => true);
    if (!exists)
      throw new DaemonError(DaemonCode.TryAgainLater, `pod ${namespace}/${name} does not exist on this node`);
  }

  /** Best-effort undo of a failed ADD, so nothing half-made stays on the node. */
  private async cleanup(hostIf: string, req: CniRequest): Promise<void> {
    await this.o.qos?.release(hostIf).catch(() => undefined);
    await this.o.ovs.removePort(hostIf).catch(() => undefined);
    await deletePodInterface({
      nodeNetns: this.o.nodeNetns,
      podNetns: req.netns,
      hostIf,
      podIf: req.ifName,
    }).catch(() => undefined);
  }

  del(req: CniRequest): Promise<void> {
    return this.locks.run(`${req.containerId}/${req.ifName}`, async () => {
      const hostIf = hostVethName(req.containerId, req.ifName);
      const ports = new Set([hostIf]);
      for (const i of this.o.ovs.interfacesWith({
        [CONTAINER_KEY]: req.containerId,
        [IFNAME_KEY]: req.ifName,
      }))
        ports.add(i.name);
      for (const name of ports) {
        try {
          // its QoS row first: OVS keeps QoS rows nobody points to
          await this.o.qos?.release(name);
          await this.o.ovs.removePort(name);
        } catch (e) {
          throw new DaemonError(
            DaemonCode.OvsFailure,
            `removing port ${name} failed: ${(e as Error).message}`,
          );
        }
        await deletePodInterface({
          nodeNetns: this.o.nodeNetns,
          podNetns: req.netns || undefined,
          hostIf: name,
          podIf: req.ifName,
        });
      }
      this.o.log.info(
        { pod: `${req.podNamespace}/${req.podName}`, container: req.containerId.slice(0, 12) },
        'cni del',
      );
    });
  }

  check(req: CniRequest): Promise<void> {
    return this.locks.run(`${req.containerId}/${req.ifName}`, async () => {
      const pod = this.o.pods.get(req.podNamespace, req.podName);
      if (!pod || !isAddressed(pod.metadata?.annotations, providerOf(req)))
        throw new DaemonError(
          DaemonCode.UnknownContainer,
          `pod ${req.podNamespace}/${req.podName} has no address`,
        );
      const addr = podAddress(pod.metadata!.annotations!, providerOf(req));
      const hostIf = hostVethName(req.containerId, req.ifName);
      const problems: string[] = [];
      const iface = this.o.ovs.iface(hostIf);
      if (!iface) problems.push(`port ${hostIf} is not on br-int`);
      else {
        const lsp = portNameOf(pod, req);
        if (iface.external_ids['iface-id'] !== lsp)
          problems.push(`port ${hostIf} is bound to ${iface.external_ids['iface-id']}`);
        if (iface.external_ids['ovn-installed'] !== 'true')
          problems.push(`port ${hostIf} is not installed by ovn-controller`);
      }
      try {
        problems.push(
          ...(await checkPodInterface({
            nodeNetns: this.o.nodeNetns,
            podNetns: req.netns,
            hostIf,
            podIf: req.ifName,
            mac: addr.mac,
            mtu: this.o.mtuOf(addr.subnet),
            addresses: addr.addresses,
            gateways: routeVia(pod, req, addr, this.o.underlayOf?.(addr.subnet)),
          })),
        );
      } catch (e) {
        // e.g. a CNI_NETNS that is no path to a namespace: a CNI error, not an unexpected one (999)
        if (!(e instanceof NetdevError)) throw e;
        throw new DaemonError(DaemonCode.IoFailure, `checking the pod interface failed: ${e.message}`);
      }
      if (problems.length > 0) throw new DaemonError(DaemonCode.CheckFailed, problems.join('; '));
    });
  }

  /** Removes every pod attachment of ours the runtime no longer lists. */
  async gc(req: CniRequest): Promise<string[]> {
    const valid = validAttachments(req);
    const removed: string[] = [];
    for (const i of this.o.ovs.interfacesWith({ [VENDOR_KEY]: VENDOR })) {
      const containerId = i.external_ids[CONTAINER_KEY];
      const ifName = i.external_ids[IFNAME_KEY];
      if (!containerId || !ifName) continue; // not a pod port (ovn0)
      const key = `${containerId}/${ifName}`;
      if (valid.has(key) || this.locks.busy(key)) continue; // still wanted, or an ADD/DEL is under way
      await this.del({
        ...req,
        command: 'DEL',
        containerId,
        ifName,
        netns: '',
        podName: i.external_ids.pod_name ?? '',
        podNamespace: i.external_ids.pod_namespace ?? '',
      });
      removed.push(key);
    }
    if (removed.length > 0) this.o.log.info({ removed }, 'cni gc');
    return removed;
  }
}

/** The pod's logical switch port: "<pod>.<ns>", or "<vm>.<ns>" for a KubeVirt VM's launcher pod. */
function portNameOf(pod: V1Pod, req: CniRequest): string {
  const provider = providerOf(req);
  if (provider) return `${req.podName}.${req.podNamespace}.${provider}`;
  const vm = pod.metadata?.annotations?.[Ann.virtualMachine];
  return vm ? `${vm}.${req.podNamespace}` : podPortName(req.podNamespace, req.podName);
}

/**
 * The secondary network this call is for ("<nad>.<ns>.ovn" in the network config, as a Multus delegate
 * passes it), or undefined for the pod's first interface.
 */
function providerOf(req: CniRequest): string | undefined {
  const p = req.config.provider;
  return typeof p === 'string' && p !== '' && p !== 'ovn' ? p : undefined;
}

/** The gateways to route by default through this interface: the first interface's, or an attachment's that asks. */
/** The pod's default route next hops: the gateway, or an underlay subnet's u2o address. */
function routeVia(
  pod: V1Pod,
  req: CniRequest,
  addr: PodAddress,
  underlay: UnderlayPlan | undefined,
): string[] {
  const via = defaultRouteVia(pod, req, addr);
  return via.length > 0 && underlay?.nextHops ? underlay.nextHops : via;
}

function defaultRouteVia(pod: V1Pod, req: CniRequest, addr: PodAddress): string[] {
  const provider = providerOf(req);
  if (!provider) return addr.gateways;
  return pod.metadata?.annotations?.[`${provider}.kubernetes.io/default_route`] === 'true'
    ? addr.gateways
    : [];
}
