// The daemon's settings: flags win over environment variables, which win over defaults. Names follow
// Kube-OVN's cni-server where it has the same setting.
import { parseArgs } from 'node:util';

export interface DaemonConfig {
  nodeName: string;
  /**
   * The network namespace of the node's ovs-vswitchd, when it is not the daemon's own (the lab's simulated
   * nodes): pod veths and ovn0 live there. A name in /run/netns or a path.
   */
  nodeNetns?: string;
  /** The node's Open_vSwitch database. */
  ovsRemote: string;
  /** Where the CNI plugin finds us (server_socket in the network config). */
  socketPath: string;
  /** Pod MTU when the subnet sets none (Kube-OVN: 1400, room for geneve on a 1500 underlay). */
  mtu: number;
  /** The join subnet's name, whose routes ovn0 does not need. */
  joinSubnet: string;
  /** Set up ovn0 (host connectivity). */
  gateway: boolean;
  /** Forward pods' egress and masquerade natOutgoing subnets' (needs the gateway). */
  natOutgoing: boolean;
  /** Uninstall: on stop (SIGTERM), remove what the daemon put in the node's kernel (its nftables table). */
  cleanup: boolean;
  addressTimeoutMs: number;
  installTimeoutMs: number;
  /**
   * How long ADD waits for an underlay pod's gateway to answer (ARP for a physical gateway) before failing
   * with "try again later"; the subnet's disableGatewayCheck skips the check.
   */
  gatewayCheckTimeoutMs: number;
  /** The debug endpoint (health, metrics, ovs-vsctl views): "127.0.0.1:10665" or "unix:/path". */
  debugAddr: string;
  debugToken?: string;
}

export const DAEMON_DEFAULTS: Omit<DaemonConfig, 'nodeName' | 'nodeNetns' | 'debugToken'> = {
  ovsRemote: 'unix:/run/openvswitch/db.sock',
  socketPath: '/run/ovnk/daemon.sock',
  mtu: 1400,
  joinSubnet: 'join',
  gateway: true,
  natOutgoing: true,
  cleanup: false,
  addressTimeoutMs: 30_000,
  installTimeoutMs: 30_000,
  gatewayCheckTimeoutMs: 15_000,
  debugAddr: '127.0.0.1:10665',
};

export function loadDaemonConfig(argv: string[], env: NodeJS.ProcessEnv): DaemonConfig {
  const { values } = parseArgs({
    args: argv,
    strict: false,
    options: {
      'node-name': { type: 'string' },
      'node-netns': { type: 'string' },
      'ovs-socket': { type: 'string' },
      'bind-socket': { type: 'string' },
      mtu: { type: 'string' },
      'node-switch': { type: 'string' },
      'enable-gateway': { type: 'string' },
      'enable-nat-outgoing': { type: 'string' },
      cleanup: { type: 'boolean' },
      'address-timeout-ms': { type: 'string' },
      'install-timeout-ms': { type: 'string' },
      'gateway-check-timeout-ms': { type: 'string' },
      'debug-addr': { type: 'string' },
    },
  });
  const pick = (flag: string, envName: string): string | undefined => {
    const v = values[flag];
    return typeof v === 'string' ? v : env[envName];
  };
  const d = DAEMON_DEFAULTS;
  const nodeName = pick('node-name', 'NODE_NAME') ?? env.KUBE_NODE_NAME;
  if (!nodeName) throw new Error('the node name is required (--node-name or NODE_NAME)');
  const num = (v: string | undefined, fallback: number, what: string) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${what} must be a positive integer, not "${v}"`);
    return n;
  };
  const ovs = pick('ovs-socket', 'OVS_DB_SOCKET');
  return {
    nodeName,
    nodeNetns: pick('node-netns', 'NODE_NETNS') || undefined,
    ovsRemote: ovs ? (ovs.includes(':') ? ovs : `unix:${ovs}`) : d.ovsRemote,
    socketPath: pick('bind-socket', 'CNI_SOCKET') ?? d.socketPath,
    mtu: num(pick('mtu', 'MTU'), d.mtu, 'mtu'),
    joinSubnet: pick('node-switch', 'NODE_SWITCH') ?? d.joinSubnet,
    gateway: (pick('enable-gateway', 'ENABLE_GATEWAY') ?? 'true') !== 'false',
    natOutgoing: (pick('enable-nat-outgoing', 'ENABLE_NAT_OUTGOING') ?? 'true') !== 'false',
    cleanup: values.cleanup === true || env.OVNK_CLEANUP === 'true',
    addressTimeoutMs: num(
      pick('address-timeout-ms', 'ADDRESS_TIMEOUT_MS'),
      d.addressTimeoutMs,
      'address-timeout-ms',
    ),
    installTimeoutMs: num(
      pick('install-timeout-ms', 'INSTALL_TIMEOUT_MS'),
      d.installTimeoutMs,
      'install-timeout-ms',
    ),
    gatewayCheckTimeoutMs: num(
      pick('gateway-check-timeout-ms', 'GATEWAY_CHECK_TIMEOUT_MS'),
      d.gatewayCheckTimeoutMs,
      'gateway-check-timeout-ms',
    ),
    debugAddr: pick('debug-addr', 'DEBUG_ADDR') ?? d.debugAddr,
    debugToken: env.OVNK_DEBUG_TOKEN || undefined,
  };
}
