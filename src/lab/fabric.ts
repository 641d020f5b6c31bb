// The lab's physical L2 for underlay networks: a VLAN-aware switch in a namespace of its own. Each node's
// second NIC (eth1) is a trunk port of it; each host (a namespace standing for a server, router or VM on
// the physical network) is an access port of one VLAN. The switch is OVS on the userspace datapath,
// because this kernel has neither bridge VLAN filtering nor 802.1Q devices: an OVS port's `tag` is the
// only VLAN-honouring switch there is. Apart from the management underlay (eth0, geneve).
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Daemon, livePid, run, startDaemon } from './proc.ts';

/** An address on a node's eth1 before any ProviderNetwork takes it: 192.168.100.<k>/24, untagged. */
export const NODE_FABRIC_NET = '192.168.100';

export interface FabricHost {
  name: string;
  netns: string;
  /** 0: untagged. */
  vlan: number;
  /** Its address with prefix, e.g. 172.16.3.10/24. */
  cidr: string;
  gateway?: string;
  router: boolean;
}

export class Fabric {
  readonly ovsdb: Daemon;
  readonly vswitchd: Daemon;

  constructor(
    readonly dir: string,
    readonly netns: string,
  ) {
    this.ovsdb = { comm: 'ovsdb-server', pidfile: join(dir, 'ovsdb-server.pid') };
    this.vswitchd = { comm: 'ovs-vswitchd', pidfile: join(dir, 'ovs-vswitchd.pid') };
  }

  private get sock(): string {
    return join(this.dir, 'db.sock');
  }

  private get env(): Record<string, string> {
    return { OVS_RUNDIR: this.dir, OVS_DBDIR: this.dir, OVS_LOGDIR: this.dir };
  }

  vsctl(...args: string[]): Promise<string> {
    return run('ovs-vsctl', [`--db=unix:${this.sock}`, '--timeout=10', ...args], {
      netns: this.netns,
      env: this.env,
    });
  }

  /** The switch's daemons and its bridge `fab`; the namespace must exist. Idempotent. */
  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const opts = { netns: this.netns, env: this.env };
    if (!livePid(this.ovsdb.pidfile, this.ovsdb.comm)) {
      const db = join(this.dir, 'conf.db');
      if (!existsSync(db))
        await run('ovsdb-tool', ['create', db, '/usr/share/openvswitch/vswitch.ovsschema']);
      rmSync(this.sock, { force: true });
      await startDaemon(
        this.ovsdb,
        [db, `--remote=punix:${this.sock}`, `--log-file=${join(this.dir, 'ovsdb-server.log')}`],
        opts,
      );
    }
    await this.vsctl('--no-wait', 'init');
    if (!livePid(this.vswitchd.pidfile, this.vswitchd.comm)) {
      await startDaemon(
        this.vswitchd,
        [`unix:${this.sock}`, `--log-file=${join(this.dir, 'ovs-vswitchd.log')}`],
        opts,
      );
    }
    await this.vsctl('--may-exist', 'add-br', 'fab', '--', 'set', 'bridge', 'fab', 'datapath_type=netdev');
    await run('ip', ['-n', this.netns, 'link', 'set', 'fab', 'up']);
  }

  /**
   * Node k's eth1: a trunk port (every VLAN, tagged; untagged frames are VLAN 0), with the address
   * 192.168.100.<k>/24 a ProviderNetwork would take over.
   */
  async addNode(nodeNetns: string, k: number): Promise<void> {
    const port = `fab-n${k}`;
    await this.veth(port, nodeNetns, 'eth1');
    await this.vsctl('--may-exist', 'add-port', 'fab', port);
    await run('ip', ['-n', nodeNetns, 'addr', 'replace', `${NODE_FABRIC_NET}.${k}/24`, 'dev', 'eth1']);
  }

  /** A host on one VLAN: an access port of the switch; a router forwards between its networks. */
  async addHost(h: FabricHost): Promise<void> {
    if (!Number.isInteger(h.vlan) || h.vlan < 0 || h.vlan > 4094) throw new RangeError('vlan: 0 to 4094');
    const port = hostPort(h.name);
    await this.veth(port, h.netns, 'eth0');
    // an access port of the VLAN; VLAN 0 means untagged frames only
    const vlan = h.vlan === 0 ? 'trunks=0' : `tag=${h.vlan}`;
    await this.vsctl('--may-exist', 'add-port', 'fab', port, '--', 'set', 'port', port, vlan);
    await run('ip', ['-n', h.netns, 'addr', 'replace', h.cidr, 'dev', 'eth0']);
    if (h.gateway) await run('ip', ['-n', h.netns, 'route', 'replace', 'default', 'via', h.gateway]);
    if (h.router) await run('ip', ['netns', 'exec', h.netns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  }

  async delHost(name: string): Promise<void> {
    await this.vsctl('--if-exists', 'del-port', 'fab', hostPort(name));
    await run('ip', ['-n', this.netns, 'link', 'del', hostPort(name)]).catch(() => undefined);
  }

  /** A veth from the switch's namespace (name `port`, up) into `netns` (name `ifName`, up). */
  private async veth(port: string, netns: string, ifName: string): Promise<void> {
    await run('ip', ['-n', this.netns, 'link', 'del', port]).catch(() => undefined);
    await run('ip', [
      '-n',
      this.netns,
      'link',
      'add',
      port,
      'type',
      'veth',
      'peer',
      'name',
      ifName,
      'netns',
      netns,
    ]);
    await run('ip', ['netns', 'exec', netns, 'sysctl', '-qw', `net.ipv6.conf.${ifName}.disable_ipv6=1`]);
    await run('ip', ['-n', this.netns, 'link', 'set', port, 'up']);
    await run('ip', ['-n', netns, 'link', 'set', ifName, 'up']);
    // the userspace switches read frames from veths (AF_PACKET) and pass on unfinished checksums of
    // offloaded TCP/UDP (ovn-on-this-machine.md, checksum gotcha)
    await run('ip', ['netns', 'exec', netns, 'ethtool', '-K', ifName, 'tx', 'off']);
  }
}

/** The switch's port of a host; interface names are at most 15 bytes. */
function hostPort(name: string): string {
  return `h-${name}`.slice(0, 15);
}
