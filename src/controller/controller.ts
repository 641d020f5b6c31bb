// The controller's start order, the same on first start and on every restart (there is no separate
// cleanup path): connect to northbound and load its replica; fill the caches from Kubernetes; make sure the
// default VPC router and the default and join Subnets exist; reconcile every Subnet (IPAM learns them);
// rebuild every allocation from its records (IP CRs, then annotations of pods that lack one) BEFORE any new
// address is handed out; then start the work queues with every key Kubernetes or northbound knows of, so
// objects that vanished while the controller was down are released like any other change.
import {
  AppsV1Api,
  type CustomObjectsApi,
  DiscoveryV1Api,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  NetworkingV1Api,
  type V1EndpointSlice,
  type V1Namespace,
  type V1NetworkPolicy,
  type V1Node,
  type V1Pod,
  type V1Service,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { Ipam } from '../ipam/index.ts';
import type { Tables } from '../ovsdb/generated/ovn-nb.ts';
import { OvsdbClient } from '../ovsdb/index.ts';
import type { Config } from './config.ts';
import type { Deps, Logger } from './deps.ts';
import { EgressIndex, pairKey, reconcileEgress } from './egress.ts';
import { reconcileIpPool, writePoolStatus } from './ippools.ts';
import { Ann } from './k8s/annotations.ts';
import { ApiHealth } from './k8s/api-health.ts';
import { ResourceCache, type ResourceCacheOptions } from './k8s/informer.ts';
import { reuseConnections } from './k8s/keepalive.ts';
import {
  type IpCr,
  type IpPool,
  KUBEOVN_GROUP,
  KUBEOVN_VERSION,
  type ProviderNetwork,
  type Subnet,
  type Vlan,
  type Vpc,
} from './k8s/types.ts';
import { KeyedLock } from './keyed-lock.ts';
import { isConflict, isNotFound, Kube } from './kube.ts';
import { ControllerMetrics } from './metrics.ts';
import { reconcileNamespace } from './namespaces.ts';
import { owners, vpcRows } from './nb/topology.ts';
import { NbWriter } from './nb/writer.ts';
import { NetworkPolicies } from './network-policies.ts';
import { reconcileNode } from './nodes.ts';
import { podOwnerKey, reconcilePod } from './pods.ts';
import { reconcileProviderNetwork, reconcileVlan } from './provider-networks.ts';
import { WorkQueue } from './queue.ts';
import { reconcileServices, SERVICES_KEY, type ServiceCaches } from './services.ts';
import { reconcileStatefulSet } from './statefulsets.ts';
import { admitDeleting, reconcileSubnet, writeStatus } from './subnets.ts';
import type { Migration } from './vm-migration.ts';
import { reconcileVm } from './vms.ts';
import { DEFAULT_VPC, ensureDefaultVpc, reconcileVpc, routerOfVpc } from './vpcs.ts';

/** Subnet status is written this long after an address change, so that a burst of pods costs one patch. */
const STATUS_DELAY_MS = 500;
/** A subnet's egress on a node is re-planned this long after a pod change: a burst of pods costs one plan. */
const EGRESS_DELAY_MS = 1_000;

const quiet: Logger = { info() {}, warn() {}, error() {}, debug() {} };

export interface ControllerOptions {
  kc: KubeConfig;
  config: Config;
  log?: Logger;
  /** Where the controller's metrics go (a fresh registry when not given). */
  metrics?: ControllerMetrics;
  /**
   * The leadership term: once it aborts, nothing more is written. Northbound's connection closes (a
   * transaction in flight fails) and the Kubernetes clients refuse calls, then stop() winds down.
   */
  signal?: AbortSignal;
}

export class Controller {
  private readonly queues: WorkQueue[] = [];
  /** Services and EndpointSlices, watched only when load balancing is on. */
  private serviceCaches: ServiceCaches | undefined;
  /** NetworkPolicies; their cache is watched only when policies are on (off, their rows are removed). */
  private netpols: NetworkPolicies | undefined;

  private constructor(
    readonly deps: Deps,
    private readonly nbClient: OvsdbClient<Tables>,
  ) {}

  static async start(opts: ControllerOptions): Promise<Controller> {
    const log = opts.log ?? quiet;
    opts.signal?.throwIfAborted();
    const nbClient = await OvsdbClient.connect<Tables>({
      remotes: opts.config.nbRemotes,
      database: 'OVN_Northbound',
    });
    // what exists of the controller so far, so that an abort or a failure part-way stops its watches too
    const built: { controller?: Controller } = {};
    const fence = () => {
      nbClient.close();
      void built.controller?.stop();
    };
    opts.signal?.addEventListener('abort', fence, { once: true });
    try {
      opts.signal?.throwIfAborted();
      return await Controller.startWith(opts, log, nbClient, built);
    } catch (e) {
      opts.signal?.removeEventListener('abort', fence);
      await built.controller?.stop();
      nbClient.close();
      throw e;
    }
  }

  private static async startWith(
    opts: ControllerOptions,
    log: Logger,
    nbClient: OvsdbClient<Tables>,
    built: { controller?: Controller },
  ) {
    const { config } = opts;
    const kc = reuseConnections(opts.kc);
    const kube = new Kube(kc, opts.signal);
    const { core, custom } = kube;
    const apps = kc.makeApiClient(AppsV1Api);
    const kubevirtPath = (plural: string) => `/apis/kubevirt.io/v1/${plural}`;
    const listKubevirt = (plural: string) => async () =>
      (await custom.listClusterCustomObject({ group: 'kubevirt.io', version: 'v1', plural })) as {
        items: never[];
      };
    const metrics = opts.metrics ?? new ControllerMetrics();
    // one view of the API server for every watch; when one is back, work that failed meanwhile runs at once
    const health = new ApiHealth(log);
    const cache = <T extends KubernetesObject>(
      path: string,
      list: () => Promise<KubernetesListObject<T>>,
      onChange: (key: string) => void,
      cacheOpts: ResourceCacheOptions = {},
    ) => new ResourceCache<T>(kc, path, list, onChange, { ...cacheOpts, health });
    const nb = await NbWriter.create(nbClient, {
      onTransaction: (ms) => metrics.nbTransaction.observe(ms / 1000),
    });
    nbClient.on('connected', () => metrics.nbReconnects.inc());
    // queue hooks are bound once the queues exist; events before that are covered by the full enqueue
    const hooks: Record<
      'subnet' | 'pod' | 'node' | 'namespace' | 'ippool' | 'vpc' | 'sts' | 'vm' | 'vmim' | 'pn' | 'vlan',
      (key: string) => void
    > = {
      pn() {},
      vlan() {},
      sts() {},
      vm() {},
      vmim() {},
      vpc() {},
      ippool() {},
      subnet() {},
      pod() {},
      node() {},
      namespace() {},
    };
    const crPath = (plural: string) => `/apis/${KUBEOVN_GROUP}/${KUBEOVN_VERSION}/${plural}`;
    const listCr =
      <T>(plural: string) =>
      async () =>
        (await custom.listClusterCustomObject({
          group: KUBEOVN_GROUP,
          version: KUBEOVN_VERSION,
          plural,
        })) as {
          items: T[];
        };
    const deps: Deps = {
      config,
      kube,
      ipam: new Ipam(),
      nb,
      log,
      valid: new Map(),
      poolSubnet: new Map(),
      // the kubeovn.io objects' status is the controller's own output: a status write is not a change
      subnets: cache<Subnet>(crPath('subnets'), listCr<Subnet>('subnets'), (k) => hooks.subnet(k), {
        quietStatus: true,
      }),
      pods: cache<V1Pod>(
        '/api/v1/pods',
        () => core.listPodForAllNamespaces(),
        (k) => hooks.pod(k),
      ),
      nodes: cache<V1Node>(
        '/api/v1/nodes',
        () => core.listNode(),
        (k) => hooks.node(k),
      ),
      namespaces: cache<V1Namespace>(
        '/api/v1/namespaces',
        () => core.listNamespace(),
        (k) => hooks.namespace(k),
      ),
      ips: cache<IpCr>(crPath('ips'), listCr<IpCr>('ips'), () => undefined),
      ippools: cache<IpPool>(crPath('ippools'), listCr<IpPool>('ippools'), (k) => hooks.ippool(k), {
        quietStatus: true,
      }),
      vpcs: cache<Vpc>(crPath('vpcs'), listCr<Vpc>('vpcs'), (k) => hooks.vpc(k), {
        quietStatus: true,
      }),
      providerNetworks: cache<ProviderNetwork>(
        crPath('provider-networks'),
        listCr<ProviderNetwork>('provider-networks'),
        (k) => hooks.pn(k),
        { quietStatus: true },
      ),
      vlans: cache<Vlan>(crPath('vlans'), listCr<Vlan>('vlans'), (k) => hooks.vlan(k), { quietStatus: true }),
      statefulsets: cache<V1StatefulSet>(
        '/apis/apps/v1/statefulsets',
        () => apps.listStatefulSetForAllNamespaces(),
        (k) => hooks.sts(k),
      ),
      kubevirt: await servesKubevirt(custom),
      vms: cache<KubernetesObject>(kubevirtPath('virtualmachines'), listKubevirt('virtualmachines'), (k) =>
        hooks.vm(k),
      ),
      vmis: cache<KubernetesObject>(
        kubevirtPath('virtualmachineinstances'),
        listKubevirt('virtualmachineinstances'),
        (k) => hooks.vm(k),
      ),
      vmims: cache<Migration>(
        kubevirtPath('virtualmachineinstancemigrations'),
        listKubevirt('virtualmachineinstancemigrations'),
        (k) => hooks.vmim(k),
      ),
      locks: new KeyedLock(),
      metrics,
      podSeen: new Map(),
    };
    const c = new Controller(deps, nbClient);
    built.controller = c;
    let onServiceChange = () => {};
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    const serviceCaches: ServiceCaches | undefined = config.enableLb
      ? {
          services: cache<V1Service>(
            '/api/v1/services',
            () => core.listServiceForAllNamespaces(),
            () => onServiceChange(),
          ),
          slices: cache<V1EndpointSlice>(
            '/apis/discovery.k8s.io/v1/endpointslices',
            () => discovery.listEndpointSliceForAllNamespaces(),
            () => onServiceChange(),
          ),
        }
      : undefined;
    c.serviceCaches = serviceCaches;
    let onPolicyChange = (_key: string) => {};
    const networking = kc.makeApiClient(NetworkingV1Api);
    const netpols = new NetworkPolicies(
      deps,
      cache<V1NetworkPolicy>(
        '/apis/networking.k8s.io/v1/networkpolicies',
        () => networking.listNetworkPolicyForAllNamespaces(),
        (k) => onPolicyChange(k),
      ),
    );
    c.netpols = netpols;

    await Promise.all([
      deps.subnets.start(),
      deps.pods.start(),
      deps.nodes.start(),
      deps.namespaces.start(),
      deps.ips.start(),
      deps.ippools.start(),
      deps.vpcs.start(),
      deps.providerNetworks.start(),
      deps.vlans.start(),
      deps.statefulsets.start(),
      ...(deps.kubevirt ? [deps.vms.start(), deps.vmis.start(), deps.vmims.start()] : []),
      ...(serviceCaches ? [serviceCaches.services.start(), serviceCaches.slices.start()] : []),
      ...(config.enableNp ? [netpols.policies.start()] : []),
    ]);
    await ensureDefaultVpc(deps);
    // every VPC's router exists before its subnets hang their ports on it; a router that is there already is
    // left alone here (its routes and policies are the VPC queue's, which needs the subnets first)
    const vpcNames = new Set([DEFAULT_VPC, ...deps.vpcs.list().map((v) => v.metadata!.name!)]);
    for (const name of vpcNames) {
      const router = routerOfVpc(deps, name);
      if (nb.replica.byName('Logical_Router', router).length > 0) continue;
      const r = await nb.apply([{ owner: owners.vpc(name), desired: vpcRows({ name: router }) }]);
      if (r.failed.length > 0) throw r.failed[0]!.error;
    }
    await c.ensureDefaultSubnets(custom);

    // IPAM learns every subnet before any allocation is rebuilt or made
    for (const s of deps.subnets.list()) {
      if (s.metadata?.deletionTimestamp) {
        admitDeleting(deps, s); // removed by its queue once its pods are gone, after the restore below
        continue;
      }
      try {
        await reconcileSubnet(deps, s.metadata!.name!);
      } catch (e) {
        log.warn({ subnet: s.metadata?.name, err: String(e) }, 'subnet not ready at start; will retry');
      }
    }
    // pools partition their subnets before any allocation is rebuilt or made
    for (const p of deps.ippools.list()) {
      await reconcileIpPool(deps, p.metadata!.name!).catch((e) =>
        log.warn({ ippool: p.metadata?.name, err: String(e) }, 'ippool not ready at start; will retry'),
      );
    }
    await c.restoreAllocations();

    const workers = { workers: config.workers, maxAttempts: Number.POSITIVE_INFINITY, maxDelayMs: 30_000 };
    const onDropped = (key: string, err: Error) => log.error({ key, err: err.message }, 'reconcile gave up');
    const namespaceQ = new WorkQueue({
      metrics: metrics.queue('namespaces'),
      ...workers,
      onDropped,
      reconcile: (k) => reconcileNamespace(deps, k),
    });
    const vpcQ = new WorkQueue({
      metrics: metrics.queue('vpcs'),
      ...workers,
      workers: 1,
      onDropped,
      reconcile: async (k) => {
        const router = routerOfVpc(deps, k);
        const had = nb.replica.byName('Logical_Router', router).length > 0;
        const r = await reconcileVpc(deps, k);
        // a router that is new: the subnets that waited for it get their turn
        if (!had && nb.replica.byName('Logical_Router', router).length > 0)
          for (const sn of deps.subnets.list())
            if ((sn.spec?.vpc || DEFAULT_VPC) === k) subnetQ.add(sn.metadata!.name!);
        return r;
      },
    });
    /** Peerings and status tie VPCs together: any change re-plans them all (there are few). */
    const allVpcs = () => {
      vpcQ.add(DEFAULT_VPC);
      for (const v of deps.vpcs.list()) vpcQ.add(v.metadata!.name!);
    };
    const subnetQ = new WorkQueue({
      metrics: metrics.queue('subnets'),
      ...workers,
      workers: 1,
      onDropped,
      reconcile: async (k) => {
        const r = await reconcileSubnet(deps, k);
        // a subnet's namespace bindings, its pools and its VPC's list of subnets may have changed
        for (const ns of deps.namespaces.list()) namespaceQ.add(ns.metadata!.name!);
        for (const [pool, subnet] of deps.poolSubnet) if (subnet === k) ippoolQ.add(pool);
        allVpcs();
        // the load balancers hang on the default VPC's switches
        servicesQ.add(SERVICES_KEY);
        // a subnet's egress policies follow its CIDRs and gateway settings
        subnetEgress(k);
        // pods that asked for this subnet before it was valid (a custom VPC's subnet waits for its router)
        if (deps.valid.has(k))
          for (const p of deps.pods.list()) {
            const a = p.metadata?.annotations;
            if (a?.[Ann.logicalSwitch] === k && a[Ann.allocated] !== 'true')
              podQ.add(`${p.metadata!.namespace}/${p.metadata!.name}`);
          }
        return r;
      },
    });
    const ippoolQ = new WorkQueue({
      metrics: metrics.queue('ippools'),
      ...workers,
      workers: 1,
      onDropped,
      reconcile: async (k) => {
        const r = await reconcileIpPool(deps, k);
        for (const ns of deps.namespaces.list()) namespaceQ.add(ns.metadata!.name!);
        // pods that waited for this pool get their turn
        const bound = deps.ippools.get(k)?.spec.namespaces ?? [];
        for (const p of deps.pods.list()) {
          const a = p.metadata?.annotations ?? {};
          if (a[Ann.allocated] === 'true') continue;
          if (a[Ann.ipPool] === k || bound.includes(p.metadata!.namespace!))
            podQ.add(`${p.metadata!.namespace}/${p.metadata!.name}`);
        }
        return r;
      },
    });
    const podQ = new WorkQueue({
      metrics: metrics.queue('pods'),
      ...workers,
      onDropped,
      // a subnet's counters changed: its status is written a moment later, once for many pods
      reconcile: (k) => reconcilePod(deps, k, (subnet) => subnetStatusQ.addAfter(subnet, STATUS_DELAY_MS)),
    });
    const nodeQ = new WorkQueue({
      metrics: metrics.queue('nodes'),
      ...workers,
      onDropped,
      reconcile: async (k) => {
        const r = await reconcileNode(deps, k);
        // a node's join address counts in the join subnet's status
        subnetStatusQ.addAfter(config.joinSubnet.name, STATUS_DELAY_MS);
        return r;
      },
    });
    const vmQ = new WorkQueue({
      metrics: metrics.queue('vms'),
      ...workers,
      onDropped,
      reconcile: (k) => reconcileVm(deps, k, (subnet) => subnetStatusQ.addAfter(subnet, STATUS_DELAY_MS)),
    });
    const stsQ = new WorkQueue({
      metrics: metrics.queue('statefulsets'),
      ...workers,
      onDropped,
      reconcile: (k) =>
        reconcileStatefulSet(deps, k, (subnet) => subnetStatusQ.addAfter(subnet, STATUS_DELAY_MS)),
    });
    const subnetStatusQ = new WorkQueue({
      metrics: metrics.queue('subnet-status'),
      workers: 1,
      maxAttempts: 5,
      reconcile: async (name) => {
        const s = deps.subnets.get(name);
        if (s) await writeStatus(deps, s);
        for (const [pool, subnet] of deps.poolSubnet) {
          const p = deps.ippools.get(pool);
          if (subnet === name && p) await writePoolStatus(deps, p);
        }
      },
    });
    // one key: the load balancers are shared by every Service (with --enable-lb=false it removes them)
    const servicesQ = new WorkQueue({
      metrics: metrics.queue('services'),
      ...workers,
      workers: 1,
      onDropped,
      reconcile: () => reconcileServices(deps, serviceCaches),
    });
    c.queues.push(subnetQ, ippoolQ, podQ, nodeQ, vmQ, stsQ, subnetStatusQ, namespaceQ, vpcQ);
    // underlay: ProviderNetwork and Vlan status (few objects: any change looks at them all)
    const pnQ = new WorkQueue({
      metrics: metrics.queue('provider-networks'),
      ...workers,
      workers: 1,
      onDropped,
      reconcile: (k) => reconcileProviderNetwork(deps, k),
    });
    const vlanQ = new WorkQueue({
      metrics: metrics.queue('vlans'),
      ...workers,
      workers: 1,
      onDropped,
      reconcile: (k) => reconcileVlan(deps, k),
    });
    c.queues.push(pnQ, vlanQ);
    const allUnderlay = () => {
      for (const p of deps.providerNetworks.list()) pnQ.add(p.metadata!.name!);
      for (const v of deps.vlans.list()) vlanQ.add(v.metadata!.name!);
    };
    const underlaySubnets = () => {
      for (const s of deps.subnets.list()) if (s.spec.vlan) subnetQ.add(s.metadata!.name!);
    };
    c.queues.push(servicesQ);
    // a key per subnet (centralized egress, gateway status) and per subnet and node (distributed egress)
    const egressIndex = new EgressIndex();
    const egressQ = new WorkQueue({
      metrics: metrics.queue('egress'),
      ...workers,
      onDropped,
      reconcile: (k) => reconcileEgress(deps, k, egressIndex),
    });
    const subnetEgress = (subnet: string) => {
      egressQ.add(subnet);
      for (const n of deps.nodes.list()) egressQ.add(pairKey(subnet, n.metadata!.name!));
    };
    const nodeEgress = (node: string) => {
      for (const s of deps.subnets.list()) {
        egressQ.add(s.metadata!.name!);
        egressQ.add(pairKey(s.metadata!.name!, node));
      }
    };
    c.queues.push(egressQ);
    health.onRecovered(() => {
      for (const q of c.queues) q.retryFailedNow();
    });
    const netpolQ = new WorkQueue({
      metrics: metrics.queue('network-policies'),
      ...workers,
      onDropped,
      reconcile: (k) => netpols.reconcile(k),
    });
    c.queues.push(netpolQ);
    onPolicyChange = (k) => netpolQ.add(k);
    netpols.bind((k) => netpolQ.add(k));
    onServiceChange = () => servicesQ.add(SERVICES_KEY);
    hooks.namespace = (k) => {
      namespaceQ.add(k);
      netpols.namespaceChanged(k);
    };
    hooks.subnet = (k) => {
      subnetQ.add(k);
      // a Vlan lists its subnets
      for (const v of deps.vlans.list()) vlanQ.add(v.metadata!.name!);
    };
    hooks.pn = (k) => {
      pnQ.add(k);
      for (const v of deps.vlans.list()) vlanQ.add(v.metadata!.name!);
      underlaySubnets();
    };
    hooks.vlan = () => {
      allUnderlay();
      underlaySubnets();
    };
    hooks.pod = (k) => {
      podQ.add(k);
      netpols.podChanged(k);
      for (const s of egressIndex.podChanged(k, deps.pods.get(k))) egressQ.addAfter(s, EGRESS_DELAY_MS);
    };
    hooks.node = (k) => {
      nodeQ.add(k);
      nodeEgress(k);
      // a node's labels say whether its provider networks are ready; its addresses are the management
      // network underlay subnets must stay out of
      for (const p of deps.providerNetworks.list()) pnQ.add(p.metadata!.name!);
      underlaySubnets();
    };
    hooks.ippool = (k) => ippoolQ.add(k);
    hooks.sts = (k) => stsQ.add(k);
    hooks.vm = (k) => vmQ.add(k);
    // a migration moves a VM's port: its launcher pods are re-planned
    hooks.vmim = (k) => {
      const m = deps.vmims.get(k);
      const [ns] = k.split('/');
      const vm = m?.spec?.vmiName;
      for (const p of deps.pods.list(ns))
        if (vm && p.metadata?.annotations?.[Ann.virtualMachine] === vm) podQ.add(`${ns}/${p.metadata!.name}`);
    };
    hooks.vpc = (k) => {
      vpcQ.add(k);
      allVpcs();
    };

    for (const s of deps.subnets.list()) subnetQ.add(s.metadata!.name!);
    for (const p of deps.ippools.list()) ippoolQ.add(p.metadata!.name!);
    allUnderlay();
    allVpcs();
    for (const n of deps.nodes.list()) nodeQ.add(n.metadata!.name!);
    servicesQ.add(SERVICES_KEY);
    for (const p of deps.pods.list()) {
      const k = `${p.metadata!.namespace}/${p.metadata!.name}`;
      podQ.add(k);
      egressIndex.podChanged(k, p);
    }
    for (const s of deps.subnets.list()) subnetEgress(s.metadata!.name!);
    // egress rows of subnets and nodes that are gone
    for (const owner of nb.owners())
      if (owner.startsWith('egress/')) egressQ.add(owner.slice('egress/'.length));
    // owners northbound still has whose objects are gone: releasing them is an ordinary reconcile
    for (const np of netpols.policies.list()) netpolQ.add(`${np.metadata!.namespace}/${np.metadata!.name}`);
    for (const k of netpols.orphans(nb.owners())) netpolQ.add(k);
    for (const owner of nb.owners()) {
      const [kind, a, b] = owner.split('/');
      if (kind === 'pod' && a && b && !deps.pods.get(`${a}/${b}`)) podQ.add(`${a}/${b}`);
      if (kind === 'node' && a && !deps.nodes.get(a)) nodeQ.add(a);
      if (kind === 'subnet' && a && !deps.subnets.get(a)) subnetQ.add(a);
      if (kind === 'vpc' && a && !deps.vpcs.get(a)) vpcQ.add(a);
      if (kind === 'vm' && a && b) vmQ.add(`${a}/${b}`);
    }
    for (const ip of deps.ips.list()) {
      const { podName, namespace, podType } = ip.spec;
      if (podType === 'VirtualMachine') vmQ.add(`${namespace}/${podName}`);
      else if (podType === 'StatefulSet') stsQ.add(`${namespace}/${podName.replace(/-\d+$/, '')}`);
      else if (namespace && !deps.pods.get(`${namespace}/${podName}`)) podQ.add(`${namespace}/${podName}`);
    }
    // a term that ended while the queues were being made: start() stops them again
    opts.signal?.throwIfAborted();
    log.info({ subnets: deps.valid.size, allocations: deps.ipam.allocations().length }, 'controller started');
    return c;
  }

  /** The default and join Subnets are ordinary Subnet objects; they are created when missing. */
  private async ensureDefaultSubnets(custom: CustomObjectsApi): Promise<void> {
    const { defaultSubnet: ds, joinSubnet: js } = this.deps.config;
    const wanted: Subnet[] = [
      {
        apiVersion: 'kubeovn.io/v1',
        kind: 'Subnet',
        metadata: { name: ds.name },
        spec: {
          cidrBlock: ds.cidr,
          gateway: ds.gateway,
          excludeIps: ds.excludeIps,
          default: true,
          vpc: 'ovn-cluster',
          // Kube-OVN's default subnet reaches the outside world through its nodes' SNAT
          natOutgoing: true,
        } as Subnet['spec'],
      },
      {
        apiVersion: 'kubeovn.io/v1',
        kind: 'Subnet',
        metadata: { name: js.name },
        spec: { cidrBlock: js.cidr, gateway: js.gateway, vpc: 'ovn-cluster' },
      },
    ];
    for (const s of wanted) {
      if (this.deps.subnets.get(s.metadata!.name!)) continue;
      const spec = Object.fromEntries(Object.entries(s.spec).filter(([, v]) => v !== undefined));
      try {
        await custom.createClusterCustomObject({
          group: KUBEOVN_GROUP,
          version: KUBEOVN_VERSION,
          plural: 'subnets',
          body: { ...s, spec },
        });
      } catch (e) {
        if (!isConflict(e)) throw e;
      }
    }
    // wait for the cache to see them
    for (let i = 0; i < 100 && wanted.some((s) => !this.deps.subnets.get(s.metadata!.name!)); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * Rebuilds IPAM from every record of an allocation: IP CRs first (written before anything else), then the
   * annotations of pods without an IP CR. Conflicting records are logged and not taken, never merged.
   */
  private async restoreAllocations(): Promise<void> {
    const d = this.deps;
    const records = [];
    const seen = new Set<string>();
    for (const ip of d.ips.list()) {
      if (!d.valid.has(ip.spec.subnet)) continue;
      records.push({
        subnet: ip.spec.subnet,
        owner: ip.metadata!.name!,
        ips: ip.spec.ipAddress,
        mac: ip.spec.macAddress,
      });
      seen.add(ip.metadata!.name!);
    }
    for (const p of d.pods.list()) {
      const a = p.metadata?.annotations ?? {};
      const owner = podOwnerKey(p.metadata!.namespace!, p.metadata!.name!);
      const subnet = a[Ann.logicalSwitch];
      if (a[Ann.allocated] !== 'true' || seen.has(owner) || !subnet || !d.valid.has(subnet)) continue;
      records.push({ subnet, owner, ips: a[Ann.ipAddress] ?? '', mac: a[Ann.macAddress] });
    }
    const report = d.ipam.restore(records);
    for (const r of report.rejected) {
      d.log.warn({ owner: r.record.owner, err: r.error.message }, 'allocation record rejected at restore');
    }
    d.log.info({ restored: report.restored, rejected: report.rejected.length }, 'allocations restored');
  }

  /** Resolves when every queue is empty and idle (for tests and benchmarks). */
  async idle(): Promise<void> {
    for (let i = 0; i < 3; i++) for (const q of this.queues) await q.idle();
  }

  /**
   * Stops the queues (waiting for reconciles in flight), the watches and northbound. Safe to call again,
   * and while start() is still under way (each call stops what exists by then).
   */
  async stop(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.shutdown()));
    const d = this.deps;
    await Promise.all([
      d.subnets.stop(),
      d.pods.stop(),
      d.nodes.stop(),
      d.namespaces.stop(),
      d.ips.stop(),
      d.ippools.stop(),
      d.vpcs.stop(),
      d.providerNetworks.stop(),
      d.vlans.stop(),
      d.statefulsets.stop(),
      d.vms.stop(),
      d.vmis.stop(),
      d.vmims.stop(),
      this.serviceCaches?.services.stop(),
      this.serviceCaches?.slices.stop(),
      this.netpols?.stop(),
    ]);
    this.nbClient.close();
  }
}

/** Whether KubeVirt's API is served (its CRDs installed); without it VM-owned pods are ordinary pods. */
async function servesKubevirt(custom: CustomObjectsApi): Promise<boolean> {
  try {
    await custom.listClusterCustomObject({
      group: 'kubevirt.io',
      version: 'v1',
      plural: 'virtualmachines',
      limit: 1,
    });
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

/** IPAM usage per subnet as gauges, computed when metrics are scraped. */
export function updateIpamGauges(d: Deps): void {
  d.metrics.ipamAddresses.reset();
  for (const subnet of d.valid.keys()) {
    const st = d.ipam.status(subnet) as unknown as Record<string, number>;
    for (const family of ['v4', 'v6'] as const) {
      const used = st[`${family}usingIPs`] ?? 0;
      const available = st[`${family}availableIPs`] ?? 0;
      if (used + available === 0) continue;
      d.metrics.ipamAddresses.set({ subnet, family, state: 'used' }, used);
      d.metrics.ipamAddresses.set({ subnet, family, state: 'available' }, available);
    }
  }
}
