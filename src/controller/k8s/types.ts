// The shapes of the objects the controller reads and writes (only the fields it uses).
import type { KubernetesObject } from '@kubernetes/client-node';

export const KUBEOVN_GROUP = 'kubeovn.io';
export const KUBEOVN_VERSION = 'v1';

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastUpdateTime?: string;
}

export interface Subnet extends KubernetesObject {
  spec: {
    cidrBlock: string;
    gateway?: string;
    excludeIps?: string[];
    vpc?: string;
    protocol?: string;
    namespaces?: string[];
    default?: boolean;
    private?: boolean;
    allowSubnets?: string[];
    mtu?: number;
    provider?: string;
    /** false keeps the cluster load balancers (Services) off the subnet's switch. */
    enableLb?: boolean;
    /** An underlay subnet: the Vlan whose physical network its switch reaches through a localnet port. */
    vlan?: string;
    /** Underlay: the VPC router, not a physical router, is the pods' gateway. */
    logicalGateway?: boolean;
    /** Underlay: no gateway check before a pod's ADD returns. */
    disableGatewayCheck?: boolean;
    /** Underlay: joined to the VPC's overlay subnets through the VPC router, at an address of its own. */
    u2oInterconnection?: boolean;
    /** That address (chosen from the subnet when not given). */
    u2oInterconnectionIP?: string;
  };
  status?: Record<string, unknown> & { conditions?: Condition[] };
}

export interface IpCr extends KubernetesObject {
  spec: {
    podName: string;
    namespace: string;
    subnet: string;
    nodeName?: string;
    ipAddress: string;
    v4IpAddress?: string;
    v6IpAddress?: string;
    macAddress: string;
    attachSubnets?: string[];
    attachIps?: string[];
    attachMacs?: string[];
    containerID?: string;
    podType?: string;
  };
}

export interface IpPool extends KubernetesObject {
  spec: {
    subnet: string;
    ips: string[];
    namespaces?: string[];
  };
  status?: Record<string, unknown> & { conditions?: Condition[] };
}

export interface VpcStaticRoute {
  policy?: 'policySrc' | 'policyDst';
  cidr: string;
  nextHopIP: string;
}

export interface VpcPolicyRoute {
  priority: number;
  match: string;
  action: 'allow' | 'drop' | 'reroute';
  nextHopIP?: string;
}

export interface VpcPeering {
  remoteVpc: string;
  /** This side's address on the link between the two routers, with its prefix ("169.254.0.1/30"). */
  localConnectIP: string;
}

export interface Vpc extends KubernetesObject {
  spec: {
    defaultSubnet?: string;
    namespaces?: string[];
    staticRoutes?: VpcStaticRoute[];
    policyRoutes?: VpcPolicyRoute[];
    vpcPeerings?: VpcPeering[];
  };
  status?: Record<string, unknown> & { conditions?: Condition[] };
}

/** A physical network the nodes reach through a NIC (deploy/crds/kubeovn.io_provider-networks.yaml). */
export interface ProviderNetwork extends KubernetesObject {
  spec: {
    defaultInterface: string;
    customInterfaces?: { interface: string; nodes: string[] }[];
    nodeSelector?: {
      matchLabels?: Record<string, string>;
      matchExpressions?: {
        key: string;
        operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
        values?: string[];
      }[];
    };
    excludeNodes?: string[];
    exchangeLinkName?: boolean;
  };
  status?: Record<string, unknown> & {
    ready?: boolean;
    readyNodes?: string[];
    notReadyNodes?: string[];
    vlans?: string[];
    conditions?: (Condition & { node?: string })[];
  };
}

/** A VLAN of a ProviderNetwork (deploy/crds/kubeovn.io_vlans.yaml). */
export interface Vlan extends KubernetesObject {
  spec: {
    id?: number;
    provider?: string;
    /** Deprecated spellings of id and provider, still read. */
    vlanId?: number;
    providerInterfaceName?: string;
  };
  status?: Record<string, unknown> & { subnets?: string[]; conflict?: boolean; conditions?: Condition[] };
}
