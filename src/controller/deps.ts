// What every reconciler works with: the caches it reads, the IPAM and northbound writer it changes, the
// Kubernetes writer and the configuration.
import type { KubernetesObject, V1Namespace, V1Node, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { Ipam } from '../ipam/index.ts';
import type { Config } from './config.ts';
import type { ResourceCache } from './k8s/informer.ts';
import type { IpCr, IpPool, ProviderNetwork, Subnet, Vlan, Vpc } from './k8s/types.ts';
import type { KeyedLock } from './keyed-lock.ts';
import type { Kube } from './kube.ts';
import type { ControllerMetrics } from './metrics.ts';
import type { NbWriter } from './nb/writer.ts';
import type { FormattedSubnet } from './subnet-spec.ts';
import type { Migration } from './vm-migration.ts';

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface Deps {
  config: Config;
  kube: Kube;
  ipam: Ipam;
  nb: NbWriter;
  log: Logger;
  subnets: ResourceCache<Subnet>;
  pods: ResourceCache<V1Pod>;
  nodes: ResourceCache<V1Node>;
  namespaces: ResourceCache<V1Namespace>;
  ips: ResourceCache<IpCr>;
  ippools: ResourceCache<IpPool>;
  vpcs: ResourceCache<Vpc>;
  providerNetworks: ResourceCache<ProviderNetwork>;
  vlans: ResourceCache<Vlan>;
  statefulsets: ResourceCache<V1StatefulSet>;
  /** Whether the cluster serves KubeVirt's API (checked at start); without it the caches below stay empty. */
  kubevirt: boolean;
  vms: ResourceCache<KubernetesObject>;
  vmis: ResourceCache<KubernetesObject>;
  vmims: ResourceCache<Migration>;
  /** Per-address serialisation (a VM's launcher pods). */
  locks: KeyedLock;
  metrics: ControllerMetrics;
  /** When the controller first saw each pod it has not finished addressing (for the latency histograms). */
  podSeen: Map<string, number>;
  /** Subnets that passed validation and are in IPAM, by name. */
  valid: Map<string, FormattedSubnet>;
  /** IPPools admitted into IPAM, with the subnet each was set in. */
  poolSubnet: Map<string, string>;
}
