// The controller's settings, with Kube-OVN's defaults; each can be set by flag or environment variable.
import { parseArgs } from 'node:util';

export interface Config {
  /** The default VPC's logical router. */
  clusterRouter: string;
  defaultSubnet: { name: string; cidr: string; gateway?: string; excludeIps: string[] };
  joinSubnet: { name: string; cidr: string; gateway?: string };
  /** Anti-spoofing on pod ports unless a pod opts out with ovn.kubernetes.io/port_security: "false". */
  portSecurityByDefault: boolean;
  nbRemotes: string;
  /**
   * Concurrent reconciles per queue. Kube-OVN defaults to 3; ours default higher because a reconcile
   * mostly waits on the API server and northbound, and one key is never worked by two workers at once.
   */
  workers: number;
  /** Services as OVN load balancers (Kube-OVN's enable-lb); off: kube-proxy on the nodes does the job. */
  enableLb: boolean;
  /** NetworkPolicies as OVN ACLs (Kube-OVN's enable-np); off: no policy is enforced and their rows go. */
  enableNp: boolean;
}

export const DEFAULTS: Config = {
  clusterRouter: 'ovn-cluster',
  defaultSubnet: { name: 'ovn-default', cidr: '10.16.0.0/16', excludeIps: [] },
  joinSubnet: { name: 'join', cidr: '100.64.0.0/16' },
  portSecurityByDefault: true,
  nbRemotes: 'tcp:127.0.0.1:6641',
  workers: 16,
  enableLb: true,
  enableNp: true,
};

/** Flags (--default-cidr=...) win over environment variables (DEFAULT_CIDR=...), which win over defaults. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  const { values } = parseArgs({
    args: argv,
    strict: false,
    options: {
      'cluster-router': { type: 'string' },
      'default-ls': { type: 'string' },
      'default-cidr': { type: 'string' },
      'default-gateway': { type: 'string' },
      'default-exclude-ips': { type: 'string' },
      'node-switch': { type: 'string' },
      'node-switch-cidr': { type: 'string' },
      'node-switch-gateway': { type: 'string' },
      'ovn-nb-addr': { type: 'string' },
      'worker-num': { type: 'string' },
      'port-security-default': { type: 'string' },
      'enable-lb': { type: 'string' },
      'enable-np': { type: 'string' },
    },
  });
  const pick = (flag: string, envName: string): string | undefined => {
    const v = values[flag];
    return typeof v === 'string' ? v : env[envName];
  };
  const d = DEFAULTS;
  return {
    clusterRouter: pick('cluster-router', 'CLUSTER_ROUTER') ?? d.clusterRouter,
    defaultSubnet: {
      name: pick('default-ls', 'DEFAULT_LS') ?? d.defaultSubnet.name,
      cidr: pick('default-cidr', 'DEFAULT_CIDR') ?? d.defaultSubnet.cidr,
      gateway: pick('default-gateway', 'DEFAULT_GATEWAY'),
      excludeIps: (pick('default-exclude-ips', 'DEFAULT_EXCLUDE_IPS') ?? '').split(',').filter(Boolean),
    },
    joinSubnet: {
      name: pick('node-switch', 'NODE_SWITCH') ?? d.joinSubnet.name,
      cidr: pick('node-switch-cidr', 'NODE_SWITCH_CIDR') ?? d.joinSubnet.cidr,
      gateway: pick('node-switch-gateway', 'NODE_SWITCH_GATEWAY'),
    },
    portSecurityByDefault: (pick('port-security-default', 'PORT_SECURITY_DEFAULT') ?? 'true') !== 'false',
    nbRemotes: pick('ovn-nb-addr', 'OVN_NB_DB') ?? d.nbRemotes,
    workers: Number(pick('worker-num', 'WORKER_NUM') ?? d.workers),
    enableLb: (pick('enable-lb', 'ENABLE_LB') ?? String(d.enableLb)) !== 'false',
    enableNp: (pick('enable-np', 'ENABLE_NP') ?? String(d.enableNp)) !== 'false',
  };
}
