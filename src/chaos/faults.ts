// The faults a chaos run injects, each in three steps: inject() breaks something and returns once the break
// is in effect (the clock starts then); recover() is what a supervisor does about it at once, e.g. the
// kubelet restarting a crashed container of a Deployment, a DaemonSet or the OVS/OVN pods, and runs while
// the measurement goes on; restore() brings back what stays broken for the measurement (a killed Raft
// member, a stopped standby) after it.
import { CoordinationV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { OvnDatabase } from '../lab/central.ts';
import type { Cluster } from '../lab/cluster.ts';
import type { DbServer } from '../lab/ovsdb-server.ts';
import { type Daemon, livePid, waitGone } from '../lab/proc.ts';
import { sleep } from './workload.ts';

export interface FaultContext {
  cluster: Cluster;
  kc: KubeConfig;
  /** The node this occurrence targets (node faults) and where its probe pod goes. */
  node: string;
}

export interface Fault {
  name: string;
  /** What a person reads in the table. */
  description: string;
  inject(ctx: FaultContext): Promise<void>;
  /** The supervisor's immediate answer (a restart); runs during the measurement. */
  recover?(ctx: FaultContext): Promise<void>;
  /** Brings back what inject left down; runs after the measurement. */
  restore?(ctx: FaultContext): Promise<void>;
}

/** The lab's controller replicas by service name (the chaos lab runs two). */
export const CONTROLLERS = ['controller', 'controller-2'];

/** The controller replica holding the Lease, from the pid in its identity (`<host>-<pid>-<random>`). */
async function leadingController(ctx: FaultContext): Promise<string> {
  const lease = await ctx.kc
    .makeApiClient(CoordinationV1Api)
    .readNamespacedLease({ name: 'ovnk-controller', namespace: 'kube-system' });
  const pid = Number(lease.spec?.holderIdentity?.split('-').at(-2));
  const name = CONTROLLERS.find((c) => ctx.cluster.servicePid(c) === pid);
  if (!name) throw new Error(`the Lease names ${lease.spec?.holderIdentity}, which is no running replica`);
  return name;
}

async function killDaemon(d: Daemon): Promise<void> {
  const pid = livePid(d.pidfile, d.comm);
  if (!pid) throw new Error(`${d.comm} is not running`);
  process.kill(pid, 'SIGKILL');
  await waitGone(pid, 10_000);
}

const daemonService = (ctx: FaultContext) => `${ctx.node}/ovnk/daemon`;

/** SIGKILL of one of a node's OVS/OVN daemons; restarted at once, as its pod's container would be. */
function chassisDaemonKill(name: string, what: string, daemon: 'vswitchd' | 'controller'): Fault {
  return {
    name,
    description: `SIGKILL of ${what} on a node, then restarted`,
    async inject(ctx) {
      await killDaemon(ctx.cluster.lab.node(ctx.node)[daemon]);
    },
    async recover(ctx) {
      await ctx.cluster.lab.node(ctx.node).start();
    },
  };
}

/** Kills a database's Raft leader; the restore starts it again and waits until it has rejoined. */
function raftLeaderKill(which: 'nb' | 'sb'): Fault {
  let killed: DbServer | undefined;
  const db = (ctx: FaultContext): OvnDatabase => ctx.cluster.lab.central[which];
  return {
    name: `${which}-leader-kill`,
    description: `SIGKILL of the ${which.toUpperCase()} Raft leader (failover to a follower)`,
    async inject(ctx) {
      killed = await db(ctx).leader();
      if (!killed) throw new Error(`${which} has no leader`);
      await killed.kill('SIGKILL');
    },
    async restore(ctx) {
      await killed?.start();
      await db(ctx).waitFormed(30_000);
    },
  };
}

export function allFaults(opts: { pauseMs: number }): Fault[] {
  let standby: string | undefined;
  let killedLeader: string | undefined;
  let paused: DbServer | undefined;
  return [
    {
      name: 'controller-kill',
      description: 'SIGKILL of the leading controller; the standby replica takes over the Lease',
      async inject(ctx) {
        killedLeader = await leadingController(ctx);
        await ctx.cluster.stopService(killedLeader, 'SIGKILL');
      },
      async restore(ctx) {
        if (killedLeader) await ctx.cluster.startAgain(killedLeader);
      },
    },
    {
      name: 'controller-kill-alone',
      description: 'SIGKILL of the controller with no standby; restarted, it waits out the Lease',
      async inject(ctx) {
        const leader = await leadingController(ctx);
        standby = CONTROLLERS.find((c) => c !== leader);
        if (standby) await ctx.cluster.stopService(standby, 'SIGTERM');
        killedLeader = leader;
        await ctx.cluster.stopService(leader, 'SIGKILL');
      },
      async recover(ctx) {
        if (killedLeader) await ctx.cluster.startAgain(killedLeader);
      },
      async restore(ctx) {
        if (standby) await ctx.cluster.startAgain(standby);
      },
    },
    {
      name: 'daemon-kill',
      description: 'SIGKILL of a node daemon (restarted as its DaemonSet would)',
      async inject(ctx) {
        await ctx.cluster.stopService(daemonService(ctx), 'SIGKILL');
      },
      async recover(ctx) {
        await ctx.cluster.startAgain(daemonService(ctx));
      },
    },
    chassisDaemonKill('vswitchd-kill', 'ovs-vswitchd (the datapath)', 'vswitchd'),
    chassisDaemonKill('ovn-controller-kill', 'ovn-controller', 'controller'),
    {
      name: 'northd-restart',
      description: 'restart of ovn-northd',
      async inject(ctx) {
        await ctx.cluster.lab.central.stopNorthd();
      },
      async recover(ctx) {
        await ctx.cluster.lab.central.startNorthd();
      },
    },
    raftLeaderKill('nb'),
    raftLeaderKill('sb'),
    {
      name: 'nb-leader-pause',
      description: `SIGSTOP of the NB Raft leader for ${opts.pauseMs} ms (beyond the election timeout), then SIGCONT`,
      async inject(ctx) {
        paused = await ctx.cluster.lab.central.nb.leader();
        if (!paused) throw new Error('nb has no leader');
        await paused.kill('SIGSTOP');
      },
      async recover() {
        await sleep(opts.pauseMs);
        await paused?.kill('SIGCONT');
      },
      async restore(ctx) {
        await ctx.cluster.lab.central.nb.waitFormed(30_000);
      },
    },
    {
      name: 'apiserver-restart',
      description: 'restart of the API server (state persisted to its file)',
      async inject(ctx) {
        await ctx.cluster.stopService('apiserver', 'SIGTERM');
      },
      async recover(ctx) {
        await ctx.cluster.startAgain('apiserver');
      },
    },
  ];
}
