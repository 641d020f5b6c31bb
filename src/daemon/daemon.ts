// The node daemon: serves the CNI plugin, keeps ovn0 (the node's way into the overlay) configured and the
// Node's NetworkUnavailable condition true to what it measures. Its state lives in OVS and the kernel, so a
// restart picks up where the last process left off and running pods are never touched.
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Node,
} from '@kubernetes/client-node';
import type { Logger } from '../controller/deps.ts';
import { ApiHealth } from '../controller/k8s/api-health.ts';
import { ResourceCache } from '../controller/k8s/informer.ts';
import {
  KUBEOVN_GROUP,
  KUBEOVN_VERSION,
  type ProviderNetwork,
  type Subnet,
  type Vlan,
} from '../controller/k8s/types.ts';
import { vlanProviderOf } from '../controller/underlay.ts';
import { startDebugServer } from '../debug/server.ts';
import { vsctlRouter } from '../nbctl/http.ts';
import { startCniServer } from './cni-server.ts';
import { Coalesced } from './coalesced.ts';
import type { DaemonConfig } from './config.ts';
import { desiredGateway, Gateway } from './gateway.ts';
import { DaemonMetrics } from './metrics.ts';
import { desiredNat, Nat } from './nat.ts';
import { OvsPorts } from './ovs-ports.ts';
import { PodNetwork } from './pod-network.ts';
import { PodWatch } from './pod-watch.ts';
import { ProviderNetworks } from './provider-network.ts';
import { PodQos } from './qos.ts';

const quiet: Logger = { info() {}, warn() {}, error() {}, debug() {} };
/** The gateway is re-checked this often even without events (a safety net; events do the real work). */
const GATEWAY_RESYNC_MS = 30_000;
/** How often a pod's rate limits are tried again after a failure (1, 2, 4 s later). */
const QOS_RETRIES = 3;

export class Daemon {
  private closers: (() => Promise<void> | void)[] = [];
  /** Where the debug endpoint listens (its bound address, e.g. with the port chosen for :0). */
  debugAddress = '';
  private gatewayTimer: NodeJS.Timeout | undefined;
  private lastCondition: boolean | undefined;
  private stopping = false;
  /** Pods' egress: forwarding and masquerading in the node's kernel (src/daemon/nat.ts). */
  readonly nat: Nat;
  /** Underlay networks on this node (src/daemon/provider-network.ts), and the MTU of each that is ready. */
  private underlay: ProviderNetworks | undefined;
  private underlayMtu = new Map<string, number>();
  private readonly underlaySync = new Coalesced(() => this.reconcileUnderlay());
  private readonly gatewaySync = new Coalesced(() => this.reconcileGateway());
  private underlayTimer: NodeJS.Timeout | undefined;
  private providerNetworks!: ResourceCache<ProviderNetwork>;
  private vlans!: ResourceCache<Vlan>;

  private constructor(
    readonly config: DaemonConfig,
    readonly ovs: OvsPorts,
    readonly pods: PodWatch,
    private readonly nodes: ResourceCache<V1Node>,
    private readonly subnets: ResourceCache<Subnet>,
    readonly gateway: Gateway,
    private readonly core: CoreV1Api,
    private readonly log: Logger,
  ) {
    this.nat = new Nat({ nodeNetns: config.nodeNetns, log });
  }

  static async start(opts: {
    kc: KubeConfig;
    config: DaemonConfig;
    log?: Logger;
    logLevel?: { get(): string; set(level: string): void };
  }): Promise<Daemon> {
    const { kc, config } = opts;
    const metrics = new DaemonMetrics();
    const log = opts.log ?? quiet;
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const ovs = await OvsPorts.connect({ remote: config.ovsRemote });
    // one view of the API server for every watch: an outage is logged once, and when it ends the Node's
    // condition (whose write may have failed meanwhile) is brought up to date at once
    const health = new ApiHealth(log);
    health.onRecovered(() => d.syncGateway());
    const d = new Daemon(
      config,
      ovs,
      new PodWatch(kc, config.nodeName, health),
      new ResourceCache<V1Node>(
        kc,
        '/api/v1/nodes',
        () => core.listNode({ fieldSelector: `metadata.name=${config.nodeName}` }),
        () => {
          d.syncGateway();
          // a nodeSelector may now select the node, or no longer
          d.syncUnderlay();
        },
        { fieldSelector: `metadata.name=${config.nodeName}`, health },
      ),
      new ResourceCache<Subnet>(
        kc,
        `/apis/${KUBEOVN_GROUP}/${KUBEOVN_VERSION}/subnets`,
        async () =>
          (await custom.listClusterCustomObject({
            group: KUBEOVN_GROUP,
            version: KUBEOVN_VERSION,
            plural: 'subnets',
          })) as { items: Subnet[] },
        () => d.syncGateway(),
        { health },
      ),
      new Gateway({ nodeName: config.nodeName, ovs, log, nodeNetns: config.nodeNetns }),
      core,
      log,
    );
    d.closers.push(() => ovs.close());
    const crList = (plural: string) => async () =>
      (await custom.listClusterCustomObject({ group: KUBEOVN_GROUP, version: KUBEOVN_VERSION, plural })) as {
        items: never[];
      };
    d.providerNetworks = new ResourceCache<ProviderNetwork>(
      kc,
      `/apis/${KUBEOVN_GROUP}/${KUBEOVN_VERSION}/provider-networks`,
      crList('provider-networks'),
      () => d.syncUnderlay(),
      { health },
    );
    d.vlans = new ResourceCache<Vlan>(
      kc,
      `/apis/${KUBEOVN_GROUP}/${KUBEOVN_VERSION}/vlans`,
      crList('vlans'),
      () => d.syncUnderlay(),
      { health },
    );
    d.underlay = new ProviderNetworks({
      nodeName: config.nodeName,
      ovs,
      log,
      nodeNetns: config.nodeNetns,
      patchNode: async (labels, annotations) => {
        await core.patchNode(
          { name: config.nodeName, body: { metadata: { labels, annotations } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      },
    });
    try {
      await Promise.all([
        d.pods.start(),
        d.nodes.start(),
        d.subnets.start(),
        d.providerNetworks.start(),
        d.vlans.start(),
      ]);
      d.closers.push(
        () => d.pods.stop(),
        () => d.nodes.stop(),
        () => d.subnets.stop(),
        () => d.providerNetworks.stop(),
        () => d.vlans.stop(),
      );
      // underlay bridges before any pod is wired: an underlay pod needs its network's mapping
      d.syncUnderlay();
      await d.underlaySettled();
      // an ovs-vswitchd restart makes a provider bridge's device anew, without the NIC's addresses
      d.closers.push(
        ovs.replica.onTableChange('Interface', (c) => {
          const name = (c.row ?? c.old)?.name ?? '';
          if (name.startsWith('br-') && name !== ovs.bridge) d.syncUnderlay();
        }),
      );
      d.underlayTimer = setInterval(() => d.syncUnderlay(), GATEWAY_RESYNC_MS);
      d.underlayTimer.unref();
      const qos = new PodQos({ ovs, log });
      const syncQos = (namespace: string, name: string, attempt = 0) => {
        const pod = d.pods.get(namespace, name);
        if (!pod) return; // deleted: its DEL removes what was applied
        qos.syncPod(namespace, name, pod.metadata?.annotations).catch((e: unknown) => {
          log.warn({ pod: `${namespace}/${name}`, err: (e as Error).message }, 'rate limits not applied');
          // a few retries for passing trouble; the pod's next change tries again anyway
          if (attempt < QOS_RETRIES)
            setTimeout(() => syncQos(namespace, name, attempt + 1), 1_000 * 2 ** attempt).unref();
        });
      };
      d.closers.push(
        d.pods.onChange((key) => {
          const [namespace = '', name = ''] = key.split('/');
          syncQos(namespace, name);
        }),
      );
      // changes made while no daemon ran
      for (const p of d.pods.list()) syncQos(p.metadata?.namespace ?? '', p.metadata?.name ?? '');
      const network = new PodNetwork({
        nodeNetns: config.nodeNetns,
        ovs,
        pods: d.pods,
        mtuOf: (subnet) => d.mtuOf(subnet),
        underlayOf: (subnet) => d.underlayOf(subnet),
        gatewayCheckTimeoutMs: config.gatewayCheckTimeoutMs,
        log,
        addressTimeoutMs: config.addressTimeoutMs,
        installTimeoutMs: config.installTimeoutMs,
        qos,
      });
      const server = await startCniServer({
        socketPath: config.socketPath,
        metrics,
        network,
        notReadyReason: () => d.notReadyReason(),
        log,
      });
      d.closers.push(() => server.close());
      const debug = await startDebugServer({
        bind: config.debugAddr,
        token: config.debugToken,
        registry: metrics.registry,
        health: () => {
          const why = d.notReadyReason();
          return { live: true, ready: !why, reason: why };
        },
        routers: [vsctlRouter(ovs.replica)],
        logLevel: opts.logLevel,
      });
      d.closers.push(() => debug.close());
      d.debugAddress = debug.address;
      if (config.gateway) {
        // ovs-vswitchd restarts recreate ovn0 without its addresses: its Interface row changes then
        const off = ovs.replica.onTableChange('Interface', (c) => {
          if ((c.row ?? c.old)?.name === 'ovn0') d.syncGateway();
        });
        d.closers.push(off);
        d.gatewayTimer = setInterval(() => d.syncGateway(), GATEWAY_RESYNC_MS);
        d.gatewayTimer.unref();
        d.syncGateway();
      }
      log.info({ node: config.nodeName, socket: config.socketPath, debug: debug.address }, 'daemon started');
      return d;
    } catch (e) {
      await d.stop();
      throw e;
    }
  }

  /**
   * A subnet's pod MTU: its spec.mtu; for an underlay subnet whose gateway is physical, the provider NIC's
   * (no geneve header to make room for); else the node's.
   */
  mtuOf(subnet: string): number {
    const s = this.subnets.get(subnet);
    if (s?.spec.mtu) return s.spec.mtu;
    if (s?.spec.vlan && !s.spec.logicalGateway && !s.spec.u2oInterconnection) {
      const vlan = this.vlans.get(s.spec.vlan);
      const mtu = vlan ? this.underlayMtu.get(vlanProviderOf(vlan)) : undefined;
      if (mtu) return mtu;
    }
    return this.config.mtu;
  }

  /** What an underlay subnet's pods need before their ADD returns (pod-network.ts); undefined: overlay. */
  underlayOf(subnet: string) {
    const s = this.subnets.get(subnet);
    if (!s?.spec.vlan) return undefined;
    const u2o = String(s.status?.u2oInterconnectionIP ?? '');
    const logical = !!s.spec.logicalGateway;
    return {
      nextHops: s.spec.u2oInterconnection && u2o ? u2o.split(',') : undefined,
      // ovn-controller makes it once the network is mapped to a bridge here: until then nothing gets out
      patchPort: logical ? undefined : `patch-localnet.${subnet}-to-br-int`,
      check: s.spec.disableGatewayCheck ? undefined : logical ? ('ping' as const) : ('arp' as const),
    };
  }

  /** Brings the node's underlay networks up to date (coalesced: see coalesced.ts). */
  syncUnderlay(): void {
    if (this.stopping || !this.underlay) return;
    this.underlaySync.trigger();
  }

  private async reconcileUnderlay(): Promise<void> {
    const node = this.nodes.get(this.config.nodeName);
    if (!node || !this.underlay) return;
    try {
      this.underlayMtu = await this.underlay.reconcile(node, this.providerNetworks.list(), this.vlans.list());
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'underlay reconcile failed; will retry');
      setTimeout(() => this.syncUnderlay(), 1_000).unref();
    }
  }

  underlaySettled(): Promise<void> {
    return this.underlaySync.settled();
  }

  /** Undefined when the node can serve ADDs, else why not (CNI STATUS). */
  notReadyReason(): string | undefined {
    if (!this.ovs.connected) return 'not connected to the Open_vSwitch database';
    if (!this.ovs.hasBridge()) return `bridge ${this.ovs.bridge} does not exist`;
    if (this.config.gateway && !this.gateway.ready) return this.gateway.reason;
    return undefined;
  }

  /** Brings NAT, ovn0 and the Node's condition up to date (coalesced: see coalesced.ts). */
  syncGateway(): void {
    if (!this.config.gateway || this.stopping) return;
    this.gatewaySync.trigger();
  }

  private async reconcileGateway(): Promise<void> {
    if (this.config.natOutgoing) {
      try {
        await this.nat.reconcile(desiredNat(this.subnets.list(), this.config.joinSubnet));
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'nat reconcile failed; will retry');
        setTimeout(() => this.syncGateway(), 1_000).unref();
      }
    }
    try {
      const want = desiredGateway(
        this.nodes.get(this.config.nodeName),
        this.subnets.list(),
        this.config.joinSubnet,
        this.config.mtu,
      );
      const ok = await this.gateway.reconcile(want);
      if (want) await this.setNetworkCondition(ok);
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'gateway reconcile failed; will retry');
      setTimeout(() => this.syncGateway(), 1_000).unref();
    }
  }

  /** Resolves when the gateway reconcile under way (if any) is done (for tests). */
  gatewaySettled(): Promise<void> {
    return this.gatewaySync.settled();
  }

  /** The Node's NetworkUnavailable condition, written only when it changes. */
  private async setNetworkCondition(reachable: boolean): Promise<void> {
    if (this.lastCondition === reachable) return;
    const now = new Date().toISOString();
    await this.core.patchNodeStatus(
      {
        name: this.config.nodeName,
        body: {
          status: {
            conditions: [
              {
                type: 'NetworkUnavailable',
                status: reachable ? 'False' : 'True',
                reason: reachable ? 'RouteCreated' : 'GatewayUnreachable',
                message: this.gateway.reason,
                lastTransitionTime: now,
                lastHeartbeatTime: now,
              },
            ],
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    this.lastCondition = reachable;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.gatewayTimer) clearInterval(this.gatewayTimer);
    if (this.underlayTimer) clearInterval(this.underlayTimer);
    await this.gatewaySync.close();
    await this.underlaySync.close();
    for (const close of this.closers.reverse()) await Promise.resolve(close()).catch(() => undefined);
    this.closers = [];
    // after the caches stopped and the last reconcile settled: nothing puts the table back
    if (this.config.cleanup) {
      await this.nat
        .remove()
        .then(() => this.log.info({}, 'nat rules removed (cleanup)'))
        .catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'nat cleanup failed'));
    }
  }
}
