// OVN central: the NB and SB databases (standalone or a 3-member Raft cluster each) and ovn-northd.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type DbKind, DbServer } from './ovsdb-server.ts';
import { freePort } from './ports.ts';
import { type Daemon, livePid, run, startDaemon, terminate, waitFor } from './proc.ts';

export interface OvnDatabaseOptions {
  /** 1 for standalone; 3 (or more) for a Raft cluster. */
  members: number;
  electionTimerMs?: number;
}

/** One OVN database served by one standalone server or by the members of a Raft cluster. */
export class OvnDatabase {
  readonly servers: DbServer[] = [];

  private constructor(readonly kind: DbKind) {}

  static async create(kind: DbKind, dir: string, opts: OvnDatabaseOptions): Promise<OvnDatabase> {
    const db = new OvnDatabase(kind);
    const clustered = opts.members > 1;
    let firstRaft: number | undefined;
    for (let i = 1; i <= opts.members; i++) {
      const raftPort = clustered ? await freePort() : undefined;
      firstRaft ??= raftPort;
      db.servers.push(
        new DbServer({
          kind,
          dir,
          index: i,
          tcpPort: await freePort(),
          raftPort,
          joinRaftPort: i > 1 ? firstRaft : undefined,
          electionTimerMs: opts.electionTimerMs,
        }),
      );
    }
    return db;
  }

  get clustered() {
    return this.servers.length > 1;
  }
  /** Comma-separated unix remotes of every member (what ovn-northd and ovn-nbctl take). */
  get unixRemotes() {
    return this.servers.map((s) => s.unixRemote).join(',');
  }
  get tcpRemotes() {
    return this.servers.map((s) => s.tcpRemote).join(',');
  }

  async start(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.start()));
    if (this.clustered) {
      // every member must have completed joining; a leader killed before that leaves no majority
      await this.waitFormed();
    }
  }

  /** Resolves once every member has joined and one leads (at once for a standalone database). */
  async waitFormed(timeoutMs = 20_000): Promise<void> {
    if (this.clustered)
      await waitFor(`${this.kind} raft cluster formed`, () => this.isFormed(), timeoutMs, 50);
  }

  /** Every member has joined and one of them leads (for a standalone database: its server runs). */
  async isFormed(): Promise<boolean> {
    if (!this.clustered) return this.servers[0]?.pid !== undefined;
    const all = await Promise.all(this.servers.map((s) => s.clusterStatus().catch(() => undefined)));
    return (
      all.every((st) => st?.status === 'cluster member' && st.servers === this.servers.length) &&
      all.some((st) => st?.role === 'leader')
    );
  }

  /** The member that currently is the Raft leader (the only member for standalone). */
  async leader(): Promise<DbServer | undefined> {
    if (!this.clustered) return this.servers[0]?.pid ? this.servers[0] : undefined;
    for (const s of this.servers) {
      try {
        if ((await s.clusterStatus())?.role === 'leader') return s;
      } catch {
        // a stopped or paused member does not answer; ask the next one
      }
    }
    return undefined;
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
  }
}

export interface CentralOptions {
  dir: string;
  nbMembers?: number;
  sbMembers?: number;
  northd?: boolean;
  electionTimerMs?: number;
}

/** NB + SB + ovn-northd, initialised (NB_Global / SB_Global rows exist). */
export class Central {
  readonly northd: Daemon;
  private constructor(
    readonly dir: string,
    readonly nb: OvnDatabase,
    readonly sb: OvnDatabase,
    private readonly withNorthd: boolean,
  ) {
    this.northd = { comm: 'ovn-northd', pidfile: join(dir, 'ovn-northd.pid') };
  }

  static async start(opts: CentralOptions): Promise<Central> {
    mkdirSync(opts.dir, { recursive: true });
    const timer = { electionTimerMs: opts.electionTimerMs };
    const central = new Central(
      opts.dir,
      await OvnDatabase.create('nb', opts.dir, { members: opts.nbMembers ?? 1, ...timer }),
      await OvnDatabase.create('sb', opts.dir, { members: opts.sbMembers ?? 1, ...timer }),
      opts.northd ?? true,
    );
    await central.startAll();
    return central;
  }

  /** Starts whatever is not running (also used to bring a killed daemon back). */
  async startAll(): Promise<void> {
    await Promise.all([this.nb.start(), this.sb.start()]);
    await run('ovn-nbctl', ['--no-wait', '--timeout=10', `--db=${this.nb.unixRemotes}`, 'init']);
    await run('ovn-sbctl', ['--timeout=10', `--db=${this.sb.unixRemotes}`, 'init']);
    if (this.withNorthd) await this.startNorthd();
  }

  async startNorthd(): Promise<number> {
    const pid = livePid(this.northd.pidfile, this.northd.comm);
    if (pid) return pid;
    return startDaemon(this.northd, [
      `--ovnnb-db=${this.nb.unixRemotes}`,
      `--ovnsb-db=${this.sb.unixRemotes}`,
      `--log-file=${join(this.dir, 'ovn-northd.log')}`,
      `--unixctl=${join(this.dir, 'ovn-northd.ctl')}`,
    ]);
  }

  get northdRunning(): boolean {
    return livePid(this.northd.pidfile, this.northd.comm) !== undefined;
  }

  async stopNorthd(): Promise<void> {
    const pid = livePid(this.northd.pidfile, this.northd.comm);
    if (pid) await terminate(pid);
  }

  /** Environment for the stock clients (ovn-nbctl, ovn-sbctl) against this central. */
  get env(): Record<string, string> {
    return { OVN_NB_DB: this.nb.unixRemotes, OVN_SB_DB: this.sb.unixRemotes };
  }

  async stop(): Promise<void> {
    await this.stopNorthd();
    await Promise.all([this.sb.stop(), this.nb.stop()]);
  }
}
