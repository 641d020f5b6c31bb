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
