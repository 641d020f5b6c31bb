// A simulated Kubernetes node: its own network namespace holding ovsdb-server (Open_vSwitch),
// ovs-vswitchd on the userspace datapath and ovn-controller, with its underlay address on br-phy.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { addNetns } from './netns.ts';
import { type Daemon, livePid, run, startDaemon, terminate, waitFor, waitGone } from './proc.ts';

export interface ChassisConfig {
  name: string;
  dir: string;
  netns: string;
  /** Underlay address on br-phy, e.g. 172.30.0.1. */
  underlayIp: string;
  underlayPrefix: number;
  /** SB remotes (unix sockets reach across namespaces; 127.0.0.1 would be the netns's own lo). */
  sbRemote: string;
  encap: 'geneve' | 'vxlan';
}

export class Chassis {
  readonly ovsdb: Daemon;
  readonly vswitchd: Daemon;
  readonly controller: Daemon;

  constructor(readonly cfg: ChassisConfig) {
    this.ovsdb = { comm: 'ovsdb-server', pidfile: join(cfg.dir, 'ovsdb-server.pid') };
    this.vswitchd = { comm: 'ovs-vswitchd', pidfile: join(cfg.dir, 'ovs-vswitchd.pid') };
    this.controller = { comm: 'ovn-controller', pidfile: join(cfg.dir, 'ovn-controller.pid') };
  }

  get name() {
    return this.cfg.name;
  }
  /** The local Open_vSwitch database socket (what the node daemon connects to). */
  get ovsSock() {
    return join(this.cfg.dir, 'db.sock');
  }
  /** Environment that makes ovs-vsctl / ovs-appctl / ovn-appctl find this chassis. */
  get env(): Record<string, string> {
    const d = this.cfg.dir;
    return {
      OVS_RUNDIR: d,
      OVS_DBDIR: d,
      OVS_LOGDIR: d,
      OVS_SYSCONFDIR: join(d, 'etc'),
      OVN_RUNDIR: d,
      OVN_LOGDIR: d,
    };
  }

  /** Runs a client (ovs-vsctl, ovs-appctl, ip, ping...) inside this chassis's namespace. */
  exec(cmd: string, args: string[], timeoutMs = 15_000): Promise<string> {
    return run(cmd, args, { netns: this.cfg.netns, env: this.env, timeoutMs });
  }

  vsctl(...args: string[]): Promise<string> {
    return this.exec('ovs-vsctl', ['--timeout=10', ...args]);
  }

  /** Starts what is not running; idempotent, so it also restarts a killed daemon. */
  async start(): Promise<void> {
    const { dir, netns, name, encap, underlayIp, underlayPrefix, sbRemote } = this.cfg;
    mkdirSync(join(dir, 'etc'), { recursive: true });
    await addNetns(netns);
    const opts = { netns, env: this.env };
    if (!livePid(this.ovsdb.pidfile, this.ovsdb.comm)) {
      const db = join(dir, 'conf.db');
      if (!existsSync(db))
        await run('ovsdb-tool', ['create', db, '/usr/share/openvswitch/vswitch.ovsschema']);
      rmSync(this.ovsSock, { force: true });
      await startDaemon(
        this.ovsdb,
        [
          db,
          `--remote=punix:${this.ovsSock}`,
          '--remote=db:Open_vSwitch,Open_vSwitch,manager_options',
          `--log-file=${join(dir, 'ovsdb-server.log')}`,
        ],
        opts,
      );
    }
    await this.vsctl('--no-wait', 'init');
    await this.vsctl(
      '--no-wait',
      'set',
      'Open_vSwitch',
      '.',
      `external_ids:system-id=${name}`,
      `external_ids:hostname=${name}`,
      `external_ids:ovn-remote=${sbRemote}`,
      `external_ids:ovn-encap-type=${encap}`,
      `external_ids:ovn-encap-ip=${underlayIp}`,
      'external_ids:ovn-bridge-datapath-type=netdev',
    );
    if (!livePid(this.vswitchd.pidfile, this.vswitchd.comm)) {
      await startDaemon(
        this.vswitchd,
        [`unix:${this.ovsSock}`, `--log-file=${join(dir, 'ovs-vswitchd.log')}`],
        opts,
      );
    }
    // Userspace tunnels route by OVS's own table: the underlay address must sit on an OVS bridge, with the
    // NIC (eth0, the management network's veth) as its port.
    const mac = (await this.exec('cat', ['/sys/class/net/eth0/address'])).trim();
    await this.vsctl(
      '--may-exist',
      'add-br',
      'br-phy',
      '--',
      'set',
      'bridge',
      'br-phy',
      'datapath_type=netdev',
      `other_config:hwaddr="${mac}"`,
      '--',
      '--may-exist',
      'add-port',
      'br-phy',
      'eth0',
    );
    await this.exec('ip', ['addr', 'replace', `${underlayIp}/${underlayPrefix}`, 'dev', 'br-phy']);
    await this.exec('ip', ['link', 'set', 'br-phy', 'up']);
    await this.vsctl(
      '--may-exist',
      'add-br',
      'br-int',
      '--',
      'set',
      'bridge',
      'br-int',
      'datapath_type=netdev',
      'fail_mode=secure',
      'other_config:disable-in-band=true',
    );
    if (!livePid(this.controller.pidfile, this.controller.comm)) {
      // ovn-controller 23.03 has no --unixctl: its control socket is $OVN_RUNDIR/ovn-controller.<pid>.ctl
      await startDaemon(
        this.controller,
        [`unix:${this.ovsSock}`, `--log-file=${join(dir, 'ovn-controller.log')}`],
        opts,
      );
    }
  }

  /** Pids of this chassis's daemons that are alive. */
  pids(): number[] {
    return [this.controller, this.vswitchd, this.ovsdb]
      .map((d) => livePid(d.pidfile, d.comm))
      .filter((p): p is number => p !== undefined);
  }

  async stop(): Promise<void> {
    const ctl = livePid(this.controller.pidfile, this.controller.comm);
    if (ctl) await terminate(ctl);
    const vsd = livePid(this.vswitchd.pidfile, this.vswitchd.comm);
    if (vsd) {
      // `exit --cleanup` removes the datapath's tap devices; a plain TERM would leave them behind
      await this.exec('ovs-appctl', ['-t', 'ovs-vswitchd', 'exit', '--cleanup'], 10_000).catch(
        () => undefined,
      );
      if (!(await waitGone(vsd, 5_000))) await terminate(vsd);
    }
    const db = livePid(this.ovsdb.pidfile, this.ovsdb.comm);
    if (db) await terminate(db);
  }

  /** Waits until ovn-controller has registered this chassis in SB. */
  async waitRegistered(sbDb: string, timeoutMs = 20_000): Promise<void> {
    await waitFor(
      `chassis ${this.name} in SB`,
      async () =>
        (
          await run('ovn-sbctl', [
            `--db=${sbDb}`,
            '--timeout=2',
            '--bare',
            '--columns=name',
            'find',
            'Chassis',
            `name=${this.name}`,
          ])
        ).trim() === this.name,
      timeoutMs,
      100,
    );
  }
}
