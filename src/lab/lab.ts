// A complete OVN environment on one machine: central (NB, SB, northd) in the current namespace and N
// simulated nodes, each in its own network namespace, joined by an underlay bridge with geneve (or vxlan)
// tunnels between them. All state lives in one per-run directory; names carry a per-run id so that runs
// never collide; stop() (or teardownLabDir() from another process) leaves nothing behind.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Central } from './central.ts';
import { Chassis } from './chassis.ts';
import { atExit } from './exit-cleanup.ts';
import { Fabric, type FabricHost } from './fabric.ts';
import { addNetns, delNetns, listNetns } from './netns.ts';
import { isAlive, run, terminate, waitReaped } from './proc.ts';

export interface LabOptions {
  /** Parent of the per-run directory (default $OVNK_LAB_ROOT or /tmp/ovnk). */
  root?: string;
  nbMembers?: number;
  sbMembers?: number;
  northd?: boolean;
  nodes?: number;
  encap?: 'geneve' | 'vxlan';
  electionTimerMs?: number;
}

/** What a lab created, written before it is created, so another process can always tear it down. */
interface LabManifest {
  id: string;
  netns: string[];
}

const UNDERLAY_NET = '172.30.0';

/**
 * The outside world of a lab (addExternal()): a namespace on the underlay with an address there and a
 * network of its own behind it that the nodes route to. It has no route to any pod CIDR, so only traffic a
 * node masqueraded to its own underlay address can be answered.
 */
export interface ExternalNet {
  netns: string;
  /** Its address on the underlay, the nodes' next hop to `cidr`. */
  underlayIp: string;
  /** An address outside the cluster and the underlay, in `cidr`. */
  ip: string;
  cidr: string;
}

export function labRoot(): string {
  return process.env.OVNK_LAB_ROOT ?? '/tmp/ovnk';
}

export class Lab {
  readonly chassis: Chassis[] = [];
  private forgetAtExit: () => void = () => {};

  private constructor(
    readonly id: string,
    readonly dir: string,
    readonly central: Central,
    readonly underlayNs: string,
  ) {}

  static async start(opts: LabOptions = {}): Promise<Lab> {
    const id = randomBytes(3).toString('hex');
    const dir = join(opts.root ?? labRoot(), id);
    const nodes = opts.nodes ?? 0;
    const nsPrefix = `ovnk-${id}`;
    const manifest: LabManifest = {
      id,
      netns: [
        `${nsPrefix}-ul`,
        ...(nodes > 0 ? [`${nsPrefix}-fab`] : []),
        ...Array.from({ length: nodes }, (_, i) => `${nsPrefix}-n${i + 1}`),
      ],
    };
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'lab.json'), JSON.stringify(manifest));
    let central: Central | undefined;
    try {
      central = await Central.start({
        dir: join(dir, 'central'),
        nbMembers: opts.nbMembers,
        sbMembers: opts.sbMembers,
        northd: opts.northd,
        electionTimerMs: opts.electionTimerMs,
      });
      const lab = new Lab(id, dir, central, `${nsPrefix}-ul`);
      // a run stopped or crashing meanwhile takes its lab down with it
      lab.forgetAtExit = atExit(() => lab.stop());
      if (nodes > 0) await lab.addNodes(nodes, opts.encap ?? 'geneve');
      return lab;
    } catch (e) {
      await teardownLabDir(dir);
      throw e;
    }
  }

  /** The VLAN switch every node's eth1 is a trunk port of (fabric.ts); hosts are added with addHost(). */
  get fabric(): Fabric {
    return new Fabric(join(this.dir, 'fabric'), `ovnk-${this.id}-fab`);
  }

  private async addNodes(n: number, encap: 'geneve' | 'vxlan'): Promise<void> {
    const ul = this.underlayNs;
    await addNetns(ul);
    await addNetns(this.fabric.netns);
    await this.fabric.start();
    await run('ip', ['-n', ul, 'link', 'add', 'ul', 'type', 'bridge']);
    await run('ip', ['-n', ul, 'link', 'set', 'ul', 'up']);
    for (let k = 1; k <= n; k++) {
      const chassis = new Chassis({
        name: `node${k}`,
        dir: join(this.dir, `node${k}`),
        netns: `ovnk-${this.id}-n${k}`,
        underlayIp: `${UNDERLAY_NET}.${k}`,
        underlayPrefix: 24,
        sbRemote: this.central.sb.unixRemotes,
        encap,
      });
      const ns = chassis.cfg.netns;
      await addNetns(ns);
      // eth0: the management network, which also carries the geneve tunnels
      await run('ip', [
        '-n',
        ul,
        'link',
        'add',
        `ul${k}`,
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'netns',
        ns,
      ]);
      await run('ip', ['-n', ul, 'link', 'set', `ul${k}`, 'master', 'ul', 'up']);
      await run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.eth0.disable_ipv6=1']);
      await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      // eth1: a trunk into the VLAN fabric, for underlay networks
      await this.fabric.addNode(ns, k);
      this.chassis.push(chassis);
    }
    await Promise.all(this.chassis.map((c) => c.start()));
    await Promise.all(this.chassis.map((c) => c.waitRegistered(this.central.sb.unixRemotes)));
    await this.warmTunnels();
  }

  /**
   * The first tunnelled packet to a peer is dropped while userspace OVS resolves the peer's underlay MAC;
   * one ping between every pair of nodes fills that cache (OVS snoops the ARP replies on br-phy).
   */
  async warmTunnels(): Promise<void> {
    for (const a of this.chassis) {
      for (const b of this.chassis) {
        if (a !== b) await a.exec('ping', ['-c1', '-W1', '-q', b.cfg.underlayIp]).catch(() => undefined);
      }
    }
  }

  /**
   * A network namespace owned by this lab (e.g. a pod's), recorded in the manifest before it is created so
   * that every teardown path removes it.
   */
  async addNetns(suffix: string): Promise<string> {
    return addLabNetns(this.dir, suffix);
  }

  /** A host on the VLAN fabric (a server, router or VM of the physical network): see fabric.ts. */
  async addHost(h: Omit<FabricHost, 'netns'>): Promise<FabricHost> {
    return addFabricHost(this.dir, h);
  }

  private external: ExternalNet | undefined;

  /** Adds the lab's external namespace (once) and a route to its network on every node. */
  async addExternal(): Promise<ExternalNet> {
    if (this.external) return this.external;
    const ext: ExternalNet = {
      netns: `ovnk-${this.id}-ext`,
      underlayIp: `${UNDERLAY_NET}.254`,
      ip: '198.51.100.1',
      cidr: '198.51.100.0/24',
    };
    const ns = await this.addNetns('ext');
    const ul = this.underlayNs;
    await run('ip', ['-n', ul, 'link', 'add', 'ulx', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await run('ip', ['-n', ul, 'link', 'set', 'ulx', 'master', 'ul', 'up']);
    await run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.eth0.disable_ipv6=1']);
    await run('ip', ['-n', ns, 'addr', 'add', `${ext.underlayIp}/24`, 'dev', 'eth0']);
    await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    // as for pods: the nodes' userspace OVS reads frames from veths (AF_PACKET) and passes on the
    // unfinished checksums of offloaded TCP/UDP (ovn-on-this-machine.md, checksum gotcha)
    await run('ip', ['netns', 'exec', ns, 'ethtool', '-K', 'eth0', 'tx', 'off']);
    // the network "behind" it, where the outside world's services live (on lo: no dummy module here)
    await run('ip', ['-n', ns, 'addr', 'add', `${ext.ip}/32`, 'dev', 'lo']);
    for (const c of this.chassis)
      await run('ip', ['-n', c.cfg.netns, 'route', 'replace', ext.cidr, 'via', ext.underlayIp]);
    this.external = ext;
    return ext;
  }

  node(name: string): Chassis {
    const c = this.chassis.find((x) => x.name === name);
    if (!c) throw new Error(`no chassis ${name} in lab ${this.id}`);
    return c;
  }

  /** Environment for ovn-nbctl / ovn-sbctl against this lab. */
  get env(): Record<string, string> {
    return this.central.env;
  }

  nbctl(...args: string[]): Promise<string> {
    return run('ovn-nbctl', ['--timeout=20', ...args], { env: this.env });
  }

  /** Ends every process of the lab and removes its namespaces; returns once they are all gone. */
  async stop(): Promise<void> {
    this.forgetAtExit();
    // the daemons remove their pidfiles as they exit: which pids to wait for is known only now
    const pids = labProcesses(this.dir);
    for (const c of this.chassis) await c.stop().catch(() => undefined);
    await this.central.stop().catch(() => undefined);
    await teardownLabDir(this.dir, pids);
  }
}

/** A namespace of the lab in `dir`, recorded in its manifest before it is made; returns its name. */
export async function addLabNetns(dir: string, suffix: string): Promise<string> {
  const file = join(dir, 'lab.json');
  const m = JSON.parse(readFileSync(file, 'utf8')) as LabManifest;
  const name = `ovnk-${m.id}-${suffix}`;
  if (!m.netns.includes(name)) {
    m.netns.push(name);
    writeFileSync(file, JSON.stringify(m));
  }
  await addNetns(name);
  return name;
}

/** Host names: short, so that `ovnk-<id>-h-<name>` and the switch's port name stay valid. */
const HOST_NAME = /^[a-z][a-z0-9-]{0,10}$/;

/** The fabric of the lab in `dir`. */
export function labFabric(dir: string): Fabric {
  const m = JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')) as LabManifest;
  return new Fabric(join(dir, 'fabric'), `ovnk-${m.id}-fab`);
}

/** Adds a host to the fabric of the lab in `dir` (from any process: `npm run lab -- host add`). */
export async function addFabricHost(dir: string, h: Omit<FabricHost, 'netns'>): Promise<FabricHost> {
  if (!HOST_NAME.test(h.name))
    throw new Error(`host name ${JSON.stringify(h.name)}: [a-z][a-z0-9-], 1 to 11`);
  const fabric = labFabric(dir);
  if (!listNetns().includes(fabric.netns)) throw new Error('this lab has no VLAN fabric (it has no nodes)');
  const netns = `${fabric.netns.slice(0, -'fab'.length)}h-${h.name}`;
  if (listNetns().includes(netns)) throw new Error(`host ${h.name} exists already`);
  const host: FabricHost = { ...h, netns: await addLabNetns(dir, `h-${h.name}`) };
  try {
    await fabric.addHost(host);
  } catch (e) {
    await removeFabricHost(dir, h.name);
    throw e;
  }
  return host;
}

/** Removes a host from the fabric of the lab in `dir`: its port and its namespace. */
export async function removeFabricHost(dir: string, name: string): Promise<void> {
  const fabric = labFabric(dir);
  await fabric.delHost(name);
  await delNetns(`${fabric.netns.slice(0, -'fab'.length)}h-${name}`);
}

/** The namespace of a fabric host of the lab in `dir`, if it exists. */
export function fabricHostNetns(dir: string, name: string): string | undefined {
  const ns = `${labFabric(dir).netns.slice(0, -'fab'.length)}h-${name}`;
  return listNetns().includes(ns) ? ns : undefined;
}

/** Every pidfile under dir (recursively). */
function pidfiles(dir: string): string[] {
  const out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (e.endsWith('.pid')) out.push(p);
    else if (statSync(p, { throwIfNoEntry: false })?.isDirectory()) out.push(...pidfiles(p));
  }
  return out;
}

const LAB_PROGRAMS = new Set(['ovsdb-server', 'ovs-vswitchd', 'ovn-controller', 'ovn-northd']);

/**
 * Processes of this lab that are still alive, from its pidfiles: OVS/OVN programs, and the project's own
 * processes (API server, controller, daemons, kubelets), which name the lab directory on their command line.
 * A pidfile whose pid was reused by an unrelated process matches neither.
 */
export function labProcesses(dir: string): number[] {
  const pids: number[] = [];
  for (const f of pidfiles(dir)) {
    const pid = Number.parseInt(readFileSync(f, 'utf8').trim(), 10);
    if (!Number.isInteger(pid) || !isAlive(pid)) continue;
    let comm = '';
    let cmdline = '';
    try {
      comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    if (LAB_PROGRAMS.has(comm) || cmdline.includes(dir)) pids.push(pid);
  }
  return pids;
}

/** The lab's namespaces that exist: its nodes' and underlay's, and any other with its id prefix (pods). */
export function labNetns(dir: string): string[] {
  try {
    const m = JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')) as LabManifest;
    const present = listNetns();
    const own = new Set(m.netns);
    return present.filter((n) => own.has(n) || n.startsWith(`ovnk-${m.id}-`));
  } catch {
    return [];
  }
}

/**
 * Removes everything a lab made, whatever state it is in: kills its daemons (by the pids in its own
 * pidfiles; SIGTERM, then SIGKILL after 3 s), deletes its namespaces (with the veths and taps inside), and
 * removes the directory. Paused daemons are continued first so that they can die. Returns only once every
 * one of those processes (and `alsoWaitFor`, pids of the lab already stopped) is gone from the process
 * table and every namespace is gone; throws, after cleaning up all it can, when something stays.
 */
export async function teardownLabDir(dir: string, alsoWaitFor: readonly number[] = []): Promise<void> {
  const pids = labProcesses(dir);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // already gone
    }
  }
  await Promise.all(pids.map((pid) => terminate(pid, 3_000)));
  for (let attempt = 0; attempt < 3 && labNetns(dir).length > 0; attempt++)
    for (const ns of labNetns(dir)) await delNetns(ns).catch(() => undefined);
  const namespaces = labNetns(dir);
  rmSync(dir, { recursive: true, force: true });
  const lingering = await waitReaped([...new Set([...pids, ...alsoWaitFor])], 10_000);
  const left = [
    ...lingering.map((pid) => `process ${pid}`),
    ...namespaces.map((ns) => `network namespace ${ns}`),
  ];
  if (left.length > 0) throw new Error(`lab ${dir} not fully removed: ${left.join(', ')}`);
}
