// A whole cluster on one machine: the lab's OVN (NB, SB, northd, N nodes in network namespaces with geneve
// tunnels) plus the embedded API server, the controller, a daemon per node with the CNI plugin, and the lab
// kubelets and scheduler that create pod namespaces and call the plugin exactly as a runtime does. Every
// process is detached with a pidfile in the lab directory, so the cluster outlives `up` and `down` (or the
// lab's teardown) ends it all.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCniPlugin } from '../../scripts/build-cni.ts';
import { buildService } from '../../scripts/build-service.ts';
import type { KubeletsConfig } from './kubelet-main.ts';
import { Lab, type LabOptions, teardownLabDir } from './lab.ts';
import { freePort } from './ports.ts';
import { isAlive, waitGone } from './proc.ts';
import { type ServiceSpec, startService } from './services.ts';

const repoRoot = join(import.meta.dirname, '../..');

export interface ClusterNode {
  name: string;
  netns: string;
  ip: string;
  socket: string;
  podNetnsPrefix: string;
}

/** What `status`, `exec` and `down` need to find a running cluster (cluster.json in the lab directory). */
export interface ClusterManifest {
  dir: string;
  kubeconfig: string;
  nbRemote: string;
  nodes: ClusterNode[];
  env: Record<string, string>;
  daemonArgs: string[];
  /** The API server's fixed port: a restarted server must come back where the kubeconfig points. */
  apiserverPort: number;
}

export interface ClusterOptions
  extends Pick<LabOptions, 'root' | 'encap' | 'nbMembers' | 'sbMembers' | 'electionTimerMs'> {
  nodes?: number;
  /**
   * Controller replicas (default 1, without leader election). More than one run with leader election on
   * a Lease, as the Deployment does: one leads, the others stand by.
   */
  controllers?: number;
  /** Lease timing for replicated controllers (default 15 s, renew deadline 10 s, retry 2 s). */
  lease?: { durationSeconds: number; renewDeadlineMs: number; retryPeriodMs: number };
  /** More manifests for the API server, besides the kubeovn.io CRDs (e.g. KubeVirt's CRDs in tests). */
  manifests?: string[];
  /** Extra flags for every node daemon (e.g. --address-timeout-ms 5000). */
  daemonArgs?: string[];
  /** Extra flags for every controller replica (e.g. --enable-lb=false). */
  controllerArgs?: string[];
  /** Run the lab kubelets and scheduler (default true); without them a test drives a runtime of its own. */
  kubelets?: boolean;
  /** Progress lines for a person watching (the lab CLI prints them). */
  progress?: (msg: string) => void;
}

export class Cluster {
  private constructor(
    readonly lab: Lab,
    readonly manifest: ClusterManifest,
    /** How each of the project's services was started, by pidfile base name, so a fault test can restart it. */
    private readonly services: Map<string, ServiceSpec>,
  ) {}

  get dir(): string {
    return this.lab.dir;
  }

  static async start(opts: ClusterOptions = {}): Promise<Cluster> {
    const say = opts.progress ?? (() => {});
    const n = opts.nodes ?? 2;
    say(`starting OVN: NB, SB, ovn-northd and ${n} nodes (ovsdb-server, ovs-vswitchd, ovn-controller each)`);
    const lab = await Lab.start({
      nodes: n,
      northd: true,
      root: opts.root,
      encap: opts.encap,
      nbMembers: opts.nbMembers,
      sbMembers: opts.sbMembers,
      electionTimerMs: opts.electionTimerMs,
    });
    try {
      return await Cluster.startOn(lab, say, opts);
    } catch (e) {
      await lab.stop();
      throw e;
    }
  }

  private static async startOn(lab: Lab, say: (m: string) => void, opts: ClusterOptions): Promise<Cluster> {
    const withKubelets = opts.kubelets ?? true;
    const daemonArgs = opts.daemonArgs ?? [];
    const manifests = opts.manifests ?? [];
    const services = new Map<string, ServiceSpec>();
    const start = async (spec: ServiceSpec) => {
      services.set(join(spec.dir, spec.name), spec);
      await startService(spec);
    };
    const dir = lab.dir;
    const kubeconfig = join(dir, 'kubeconfig');
    const nbRemote = lab.central.nb.unixRemotes;
    const nodes: ClusterNode[] = lab.chassis.map((c, i) => ({
      name: c.name,
      netns: c.cfg.netns,
      ip: c.cfg.underlayIp,
      socket: join(dir, c.name, 'ovnk', 'daemon.sock'),
      podNetnsPrefix: `ovnk-${lab.id}-p${i + 1}`,
    }));
    const apiserverPort = await freePort();
    const manifest: ClusterManifest = {
      dir,
      kubeconfig,
      nbRemote,
      nodes,
      env: lab.env,
      daemonArgs,
      apiserverPort,
    };
    // what kubectl, kubectl ko and the OVN tools need, for `source <dir>/env.sh`
    const env = {
      ...lab.env,
      KUBECONFIG: kubeconfig,
      OVNK_DEBUG_URL: `unix:${join(dir, 'controller-debug.sock')}`,
      OVN_SB_DB: lab.central.sb.unixRemotes,
      PATH: `${join(repoRoot, 'scripts')}:${process.env.PATH ?? ''}`,
    };
    writeFileSync(
      join(dir, 'env.sh'),
      `${Object.entries(env)
        .map(([k, v]) => `export ${k}=${v}`)
        .join('\n')}\n`,
    );
    writeFileSync(join(dir, 'cluster.json'), JSON.stringify(manifest, null, 2));

    say('starting the API server (embedded, with the kubeovn.io CRDs)');
    await start({
      dir,
      name: 'apiserver',
      entry: 'src/apiserver/main.ts',
      args: [
        '--port',
        String(apiserverPort),
        '--kubeconfig',
        kubeconfig,
        '--state-file',
        join(dir, 'apiserver-state.json'),
        '--manifests',
        join(repoRoot, 'deploy/crds'),
        ...manifests.flatMap((m) => ['--manifests', m]),
      ],
      env: { LOG_LEVEL: 'warn' },
      readyLog: /kubeconfig written/,
    });

    say('building the CNI plugin, and the daemon and controller bundles');
    const binDir = join(dir, 'cni', 'bin');
    // the daemons and controllers run as bundles: a restarted one is back in a second, not five
    await Promise.all([
      buildCniPlugin(binDir),
      buildService('src/daemon/main.ts', serviceBundle(dir, 'daemon')),
      buildService('src/controller/main.ts', serviceBundle(dir, 'controller')),
    ]);

    const replicas = opts.controllers ?? 1;
    say(
      replicas > 1 ? `starting ${replicas} controller replicas (leader election)` : 'starting the controller',
    );
    for (let i = 0; i < replicas; i++)
      await start(controllerSpec(manifest, i, replicas, opts.lease, opts.controllerArgs ?? []));

    say(`starting the node daemons and the kubelets on ${nodes.map((x) => x.name).join(', ')}`);
    const kubelets: KubeletsConfig = { kubeconfig, nodes: [], cniBinDirs: [binDir, '/usr/lib/cni'] };
    await Promise.all(
      lab.chassis.map(async (c, i) => {
        const node = nodes[i]!;
        const nodeDir = join(dir, c.name, 'ovnk');
        mkdirSync(join(nodeDir, 'net.d'), { recursive: true });
        const conf = join(nodeDir, 'net.d', '10-ovnk.conflist');
        writeFileSync(conf, JSON.stringify(conflist(node.socket), null, 2));
        kubelets.nodes.push({
          name: node.name,
          netns: node.netns,
          ip: node.ip,
          cniConf: conf,
          cacheDir: join(nodeDir, 'kubelet'),
          podNetnsPrefix: node.podNetnsPrefix,
        });
        await start(daemonSpec(manifest, node, c.ovsSock));
      }),
    );
    if (!withKubelets) return new Cluster(lab, manifest, services);
    const kubeletConf = join(dir, 'kubelets.json');
    writeFileSync(kubeletConf, JSON.stringify(kubelets, null, 2));
    await start({
      dir,
      name: 'kubelets',
      entry: 'src/lab/kubelet-main.ts',
      args: [kubeletConf],
      readyLog: /"msg":"kubelets ready"/,
    });
    return new Cluster(lab, manifest, services);
  }

  /** The service names (relative to the lab directory) this cluster started, e.g. "controller", "node1/ovnk/daemon". */
  serviceNames(): string[] {
    return [...this.services.keys()].map((k) => k.slice(this.dir.length + 1));
  }

  /** The pid of a service started by this cluster, if it is alive. */
  servicePid(name: string): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.dir, `${name}.pid`), 'utf8'));
      return isAlive(pid) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Ends a service with the signal (SIGKILL: a crash; SIGTERM: a graceful stop) and waits until it is gone.
   * It stays down until startAgain().
   */
  async stopService(name: string, signal: NodeJS.Signals): Promise<void> {
    const pid = this.servicePid(name);
    if (!pid) return;
    process.kill(pid, signal);
    if (!(await waitGone(pid, 10_000))) {
      process.kill(pid, 'SIGKILL');
      await waitGone(pid, 5_000);
    }
  }

  /** Starts a service as it was first started; resolves once it logs that it is ready again. */
  async startAgain(name: string): Promise<void> {
    const spec = this.services.get(join(this.dir, name));
    if (!spec) throw new Error(`no service ${name} in this cluster`);
    await startService(spec);
  }

  /** Kills a node's daemon (SIGKILL, as a crash) and starts it again; resolves once it serves again. */
  async restartDaemon(nodeName: string): Promise<void> {
    if (!this.manifest.nodes.some((n) => n.name === nodeName)) throw new Error(`no node ${nodeName}`);
    const name = `${nodeName}/ovnk/daemon`;
    await this.stopService(name, 'SIGKILL');
    await this.startAgain(name);
  }

  /** Ends every process of the cluster and removes its namespaces and directory. */
  async stop(): Promise<void> {
    await this.lab.stop();
  }
}

const serviceBundle = (dir: string, program: 'daemon' | 'controller') =>
  join(dir, 'bin', `ovnk-${program}.mjs`);

function controllerSpec(
  m: ClusterManifest,
  index: number,
  replicas: number,
  lease: ClusterOptions['lease'],
  extra: readonly string[],
): ServiceSpec {
  const name = index === 0 ? 'controller' : `controller-${index + 1}`;
  const election =
    replicas > 1
      ? [
          '--leader-elect=true',
          ...(lease
            ? [
                `--lease-duration=${lease.durationSeconds}`,
                `--renew-deadline-ms=${lease.renewDeadlineMs}`,
                `--retry-period-ms=${lease.retryPeriodMs}`,
              ]
            : []),
        ]
      : ['--leader-elect=false'];
  return {
    dir: m.dir,
    name,
    entry: serviceBundle(m.dir, 'controller'),
    args: [
      '--kubeconfig',
      m.kubeconfig,
      '--ovn-nb-addr',
      m.nbRemote,
      ...election,
      '--debug-addr',
      `unix:${join(m.dir, `${name}-debug.sock`)}`,
      ...extra,
    ],
    // the leader once it has synced; a standby once it knows who leads
    readyLog: replicas > 1 ? /"msg":"(synced|leader)"/ : /"msg":"synced"/,
  };
}

function daemonSpec(m: ClusterManifest, node: ClusterNode, ovsSock: string): ServiceSpec {
  const dir = m.dir;
  return {
    dir: join(dir, node.name, 'ovnk'),
    name: 'daemon',
    entry: serviceBundle(m.dir, 'daemon'),
    args: [
      '--node-name',
      node.name,
      '--kubeconfig',
      join(dir, 'kubeconfig'),
      '--ovs-socket',
      ovsSock,
      '--bind-socket',
      node.socket,
      '--node-netns',
      node.netns,
      // every simulated node's daemon shares the machine's loopback: a unix socket each
      '--debug-addr',
      `unix:${join(dir, node.name, 'ovnk', 'debug.sock')}`,
      ...m.daemonArgs,
    ],
    readyLog: /"msg":"daemon started"/,
  };
}

/**
 * The network configuration a node's runtime uses: the one the install puts on every node
 * (deploy/cni/10-ovnk.conflist: our plugin, then portmap), with this node's daemon socket.
 */
export function conflist(socket: string): Record<string, unknown> {
  const installed = JSON.parse(readFileSync(join(repoRoot, 'deploy/cni/10-ovnk.conflist'), 'utf8')) as {
    plugins: Record<string, unknown>[];
  };
  for (const plugin of installed.plugins) if (plugin.type === 'ovnk') plugin.server_socket = socket;
  return installed;
}

export function readClusterManifest(dir: string): ClusterManifest {
  return JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as ClusterManifest;
}

export { teardownLabDir };
