// One ovsdb-server for an OVN database (NB or SB): standalone, or a member of a local Raft cluster.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Daemon, livePid, run, startDaemon, terminate, waitGone } from './proc.ts';

export type DbKind = 'nb' | 'sb';

export const SCHEMA: Record<DbKind, { file: string; name: string; globalTable: string }> = {
  nb: { file: '/usr/share/ovn/ovn-nb.ovsschema', name: 'OVN_Northbound', globalTable: 'NB_Global' },
  sb: { file: '/usr/share/ovn/ovn-sb.ovsschema', name: 'OVN_Southbound', globalTable: 'SB_Global' },
};

export interface DbServerConfig {
  kind: DbKind;
  dir: string;
  /** Member id within the database's servers (1 for standalone). */
  index: number;
  /** Client TCP port on 127.0.0.1. */
  tcpPort: number;
  /** Raft port on 127.0.0.1, for clustered members. */
  raftPort?: number;
  /** Raft address of an existing member to join (members 2..n). */
  joinRaftPort?: number;
  /** Raft election timer in ms (cluster creation only). */
  electionTimerMs?: number;
}

/** A single ovsdb-server process and its files; restartable with the same database file. */
export class DbServer implements Daemon {
  readonly comm = 'ovsdb-server';
  readonly base: string;
  constructor(readonly cfg: DbServerConfig) {
    this.base = join(cfg.dir, `${cfg.kind}${cfg.index}`);
  }
  get pidfile() {
    return `${this.base}.pid`;
  }
  get dbFile() {
    return `${this.base}.db`;
  }
  get ctl() {
    return `${this.base}.ctl`;
  }
  get sock() {
    return `${this.base}.sock`;
  }
  get unixRemote() {
    return `unix:${this.sock}`;
  }
  get tcpRemote() {
    return `tcp:127.0.0.1:${this.cfg.tcpPort}`;
  }
  get clustered() {
    return this.cfg.raftPort !== undefined;
  }
  get pid(): number | undefined {
    return livePid(this.pidfile, this.comm);
  }

  async start(): Promise<number> {
    const running = this.pid;
    if (running) return running;
    mkdirSync(this.cfg.dir, { recursive: true });
    const schema = SCHEMA[this.cfg.kind];
    if (!existsSync(this.dbFile)) await this.createDb();
    rmSync(this.sock, { force: true });
    rmSync(this.ctl, { force: true });
    return startDaemon(this, [
      this.dbFile,
      `--remote=punix:${this.sock}`,
      `--remote=ptcp:${this.cfg.tcpPort}:127.0.0.1`,
      `--remote=db:${schema.name},${schema.globalTable},connections`,
      `--unixctl=${this.ctl}`,
      `--log-file=${this.base}.log`,
    ]);
  }

  private async createDb(): Promise<void> {
    const { raftPort, joinRaftPort, electionTimerMs } = this.cfg;
    const schema = SCHEMA[this.cfg.kind];
    if (raftPort === undefined) {
      await run('ovsdb-tool', ['create', this.dbFile, schema.file]);
    } else if (joinRaftPort === undefined) {
      const timer = electionTimerMs ? [`--election-timer=${electionTimerMs}`] : [];
      await run('ovsdb-tool', [...timer, 'create-cluster', this.dbFile, schema.file, raftAddr(raftPort)]);
    } else {
      await run('ovsdb-tool', [
        'join-cluster',
        this.dbFile,
        schema.name,
        raftAddr(raftPort),
        raftAddr(joinRaftPort),
      ]);
    }
  }

  /** Raft state as the server reports it (role "leader" | "follower" | "candidate"). */
  async clusterStatus(): Promise<{ status: string; role: string; servers: number } | undefined> {
    if (!this.clustered || !this.pid) return undefined;
    const out = await run('ovs-appctl', ['-t', this.ctl, 'cluster/status', SCHEMA[this.cfg.kind].name], {
      timeoutMs: 3_000,
    });
    const servers = out
      .slice(out.indexOf('\nServers:'))
      .split('\n')
      .filter((l) => /^\s+\S+ \(/.test(l));
    return {
      status: /^Status: (.+)$/m.exec(out)?.[1] ?? '',
      role: /^Role: (\S+)/m.exec(out)?.[1] ?? '',
      servers: servers.length,
    };
  }

  /**
   * Sends a signal; for a fatal one, resolves once the process is gone. Clients notice the closed socket
   * before the process has finished exiting, and a start() in that window would see it still running.
   */
  async kill(signal: NodeJS.Signals): Promise<void> {
    const pid = this.pid;
    if (!pid) return;
    process.kill(pid, signal);
    if (signal === 'SIGKILL' || signal === 'SIGTERM' || signal === 'SIGINT') await waitGone(pid, 10_000);
  }

  async stop(): Promise<void> {
    const pid = this.pid;
    if (pid) await terminate(pid);
  }
}

function raftAddr(port: number) {
  return `tcp:127.0.0.1:${port}`;
}
