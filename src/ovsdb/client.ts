// The OVSDB client: owns the connection (the only module that does), reconnects with backoff across
// several remotes, talks only to the Raft leader of a clustered database (checked through _Server, with
// the Raft index never going backwards), keeps monitors alive across reconnects (monitor_cond_since
// with the last transaction id, falling back to monitor_cond and a full reset), and runs transactions.
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeColumns, type Row } from './datum.ts';
import {
  ClosedError,
  ConnectionError,
  OvsdbError,
  ProtocolError,
  printable,
  RpcError,
  SchemaError,
  TimeoutError,
  TransactionError,
} from './errors.ts';
import { type AnyTables, type Condition, encodeOperation, type Operation, type TableMap } from './ops.ts';
import { Replica, type TableUpdates2 } from './replica.ts';
import { RpcConnection } from './rpc.ts';
import {
  columnOf,
  type DatabaseSchema,
  parseSchema,
  type RawDatabaseSchema,
  tableOf,
  versionCompatible,
} from './schema.ts';
import { openSocket, parseRemotes, type Remote, type TlsOptions } from './transport.ts';

export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

const silent: Logger = { debug() {}, info() {}, warn() {} };

export interface ClientOptions {
  /** One remote or several (array or comma-separated): tcp:HOST:PORT, ssl:HOST:PORT, unix:PATH. */
  remotes: string | string[];
  /** The database this client works on, e.g. OVN_Northbound or Open_vSwitch. */
  database: string;
  /** Only use a clustered database's Raft leader (default true, as ovn-nbctl does). */
  leaderOnly?: boolean;
  tls?: TlsOptions;
  /** Fail with SchemaError unless the server's schema version is compatible with this one. */
  expectSchemaVersion?: string;
  connectTimeoutMs?: number;
  /** Default timeout of requests (transact, select); 0 for none. */
  requestTimeoutMs?: number;
  /** Send an echo after this long without traffic; no answer for as long again drops the connection. */
  probeIntervalMs?: number;
  /** Reconnect backoff bounds (with jitter). */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /**
   * A longer message from the server drops the connection with a ProtocolError instead of being buffered
   * (default and upper bound: the longest string V8 can make, about 512 MiB).
   */
  maxMessageBytes?: number;
  logger?: Logger;
}

export interface MonitorTable<R = Row> {
  /** Columns to monitor (default: all). */
  columns?: readonly (keyof R & string)[];
  /** Only rows matching these conditions (monitor_cond). */
  where?: readonly Condition<R>[];
}

export type MonitorSpec<T extends TableMap> = { [K in keyof T & string]?: MonitorTable<T[K]['row']> };

export interface OpResult {
  uuid?: string;
  rows?: Row[];
  count?: number;
}

interface Monitor {
  id: string;
  /** The monitor requests in wire form, checked against the schema when the monitor was created. */
  requests: Record<string, unknown>;
  replica: Replica<TableMap>;
  lastTxnId: string;
  /** Resolves once the first full load is in; rejects if the client is closed before. */
  ready: Promise<void>;
  markReady: () => void;
  markFailed: (err: Error) => void;
}

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
const SERVER_MONITOR = '_server';

type State = 'connecting' | 'connected' | 'closed';

/**
 * Events: "connected" (remote text), "disconnected" (error), "monitor-reset" (monitor id, found) after a
 * monitor was re-established; "error" is never emitted.
 */
export class OvsdbClient<T extends TableMap = AnyTables> extends EventEmitter {
  private readonly remotes: Remote[];
  private readonly opts: Required<
    Omit<ClientOptions, 'tls' | 'expectSchemaVersion' | 'logger' | 'remotes' | 'maxMessageBytes'>
  >;
  private readonly log: Logger;
  private state: State = 'connecting';
  private conn: RpcConnection | undefined;
  /** The connection being set up (schema, leadership, monitors), before it becomes `conn`. */
  private establishing: RpcConnection | undefined;
  /** Aborted by close(): ends the reconnect loop's backoff wait. */
  private readonly stopped = new AbortController();
  /** Remotes are tried in the order given, starting with the first (operators list their preferred one first). */
  private nextRemote = 0;
  private schemaCache: DatabaseSchema | undefined;
  private serverSchema: DatabaseSchema | undefined;
  private readonly monitors = new Map<string, Monitor>();
  private monitorSeq = 0;
  private sinceSupported = true;
  private maxRaftIndex = 0;
  /** The database is a Raft cluster (from _Server.Database.model). */
  private clusteredDb = false;
  private lastError: Error | undefined;
  private closedBy: OvsdbError | undefined;
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];

  private constructor(private readonly config: ClientOptions) {
    super();
    this.remotes = parseRemotes(config.remotes);
    this.log = config.logger ?? silent;
    this.opts = {
      database: config.database,
      leaderOnly: config.leaderOnly ?? true,
      connectTimeoutMs: config.connectTimeoutMs ?? 5_000,
      requestTimeoutMs: config.requestTimeoutMs ?? 60_000,
      probeIntervalMs: config.probeIntervalMs ?? 5_000,
      backoffMinMs: config.backoffMinMs ?? 50,
      backoffMaxMs: config.backoffMaxMs ?? 4_000,
    };
  }

  /**
   * Creates a client and waits until it is connected (to the leader, for a clustered database).
   * It then stays connected: on any failure it reconnects by itself until close().
   */
  static async connect<T extends TableMap = AnyTables>(
    opts: ClientOptions & { waitMs?: number },
  ): Promise<OvsdbClient<T>> {
    const c = new OvsdbClient<T>(opts);
    c.run().catch((e: unknown) => c.log.warn({ err: String(e) }, 'ovsdb reconnect loop ended'));
    try {
      await c.whenConnected(opts.waitMs ?? 30_000);
    } catch (e) {
      c.close();
      throw e;
    }
    return c;
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  /** The remote currently connected to. */
  get remote(): string | undefined {
    return this.state === 'connected' ? this.conn?.remote : undefined;
  }

  /** The server's schema of the client's database (known once connected). */
  get schema(): DatabaseSchema {
    if (!this.schemaCache) throw new ConnectionError('not connected yet: schema unknown');
    return this.schemaCache;
  }

  close(): void {
    this.fatal(new ClosedError());
  }

  /** Stops for good, failing every waiter with err. */
  private fatal(err: OvsdbError): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closedBy = err;
    this.conn?.close(err);
    this.establishing?.close(err);
    this.stopped.abort();
    for (const w of this.waiters.splice(0)) w.reject(err);
    // a monitor still waiting for its first load would otherwise wait forever (no-op for loaded ones)
    for (const m of this.monitors.values()) m.markFailed(err);
  }

  /** Waits until connected (resolves at once when it is). */
  whenConnected(timeoutMs = this.opts.requestTimeoutMs): Promise<void> {
    if (this.state === 'connected') return Promise.resolve();
    if (this.state === 'closed') return Promise.reject(this.closedBy ?? new ClosedError());
    return new Promise((resolve, reject) => {
      const w = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              this.waiters = this.waiters.filter((x) => x !== w);
              const last = this.lastError ? `; last error: ${this.lastError.message}` : '';
              reject(
                new TimeoutError(`not connected to ${this.config.remotes} after ${timeoutMs} ms${last}`),
              );
            }, timeoutMs)
          : undefined;
      this.waiters.push(w);
    });
  }

  // ---- requests -----------------------------------------------------------------------------------

  /** Sends a raw JSON-RPC request on the current connection (waiting for one if needed). */
  async request<R = unknown>(method: string, params: unknown[], timeoutMs?: number): Promise<R> {
    await this.whenConnected(timeoutMs);
    return this.conn!.request<R>(method, params, timeoutMs);
  }

  listDbs(): Promise<string[]> {
    return this.request<string[]>('list_dbs', []);
  }

  async echo(): Promise<void> {
    await this.request('echo', ['ping']);
  }

  /**
   * Runs operations as one transaction. Resolves with one result per operation (select rows decoded);
   * rejects with TransactionError naming the failing operation, SchemaError before sending bad input,
   * or ConnectionError if the connection broke (the transaction may then have committed or not).
   */
  async transact(ops: readonly Operation[], timeoutMs?: number): Promise<OpResult[]> {
    await this.whenConnected(timeoutMs);
    const schema = this.schema;
    const wire = ops.map((op, i) => {
      try {
        return encodeOperation(schema, op);
      } catch (e) {
        if (e instanceof SchemaError) throw new SchemaError(`operation ${i}: ${e.message}`);
        throw e;
      }
    });
    const results = await this.conn!.request<unknown[]>('transact', [this.opts.database, ...wire], timeoutMs);
    try {
      return checkResults(schema, ops, wire, results);
    } catch (e) {
      if (e instanceof OvsdbError) throw e;
      // rows or uuids not shaped as the schema says: the server's reply, not the caller, is at fault
      throw new ProtocolError(`transact: reply not understood: ${(e as Error).message}`);
    }
  }

  /**
   * Runs a transaction that is safe to repeat: its first operation must be a guard (a wait, e.g.
   * Ops.waitAbsent) that fails once the transaction's effect is present. A broken connection or a
   * timeout is retried on the next connection; a failed guard means the effect is already there.
   */
  async transactIdempotent(
    ops: readonly Operation[],
    opts: { attempts?: number; timeoutMs?: number } = {},
  ): Promise<{ applied: boolean; results: OpResult[] }> {
    if (ops[0]?.op !== 'wait')
      throw new SchemaError('transactIdempotent needs a wait guard as first operation');
    const attempts = opts.attempts ?? 10;
    for (let attempt = 1; ; attempt++) {
      try {
        return { applied: true, results: await this.transact(ops, opts.timeoutMs) };
      } catch (e) {
        if (e instanceof TransactionError && e.opIndex === 0 && e.isWaitTimeout)
          return { applied: false, results: [] };
        const retriable =
          e instanceof OvsdbError && (e.code === 'OVSDB_CONNECTION' || e.code === 'OVSDB_TIMEOUT');
        if (!retriable || attempt >= attempts || this.state === 'closed') throw e;
        this.log.debug({ attempt, err: (e as Error).message }, 'retrying idempotent transaction');
      }
    }
  }

  /** Selects rows (decoded) from a table. */
  async select<K extends keyof T & string>(
    table: K,
    where: readonly Condition<T[K]['row']>[] = [],
  ): Promise<T[K]['row'][]> {
    const [r] = await this.transact([{ op: 'select', table, where }]);
    return (r?.rows ?? []) as T[K]['row'][];
  }

  // ---- monitors -----------------------------------------------------------------------------------

  /**
   * Starts a monitor feeding a new Replica and resolves once its initial content is loaded. The monitor
   * survives reconnects: it resumes from its last transaction id where the server keeps history, and
   * otherwise reloads (the replica then reports only real differences).
   */
  async monitor(spec: MonitorSpec<T>): Promise<Replica<T>> {
    await this.whenConnected();
    const columns: Record<string, readonly string[] | undefined> = {};
    for (const [t, m] of Object.entries(spec)) columns[t] = (m as MonitorTable | undefined)?.columns;
    const replica = new Replica<T>(this.schema, columns);
    let markReady!: () => void;
    let markFailed!: (err: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      markFailed = reject;
    });
    const mon: Monitor = {
      id: `m${++this.monitorSeq}`,
      requests: encodeMonitorRequests(this.schema, spec as Record<string, MonitorTable | undefined>),
      replica: replica as unknown as Replica<TableMap>,
      lastTxnId: ZERO_UUID,
      ready,
      markReady,
      markFailed,
    };
    this.monitors.set(mon.id, mon);
    // started here if connected; if the connection drops meanwhile, the reconnect starts it
    this.startMonitor(this.conn!, mon).catch((e: unknown) => this.dropConnection(this.conn, e));
    await ready;
    return replica;
  }

  /** Stops a monitor; its replica stays as it is. */
  async cancelMonitor(replica: Replica<T>): Promise<void> {
    for (const [id, m] of this.monitors) {
      if (m.replica !== (replica as unknown)) continue;
      this.monitors.delete(id);
      if (this.connected) await this.conn!.request('monitor_cancel', [id]).catch(() => undefined);
    }
  }

  private async startMonitor(conn: RpcConnection, mon: Monitor): Promise<void> {
    const requests = mon.requests;
    // Only a clustered database keeps the transaction history that lets a monitor resume; on a standalone
    // server monitor_cond_since always reloads everything, and its first load is a third slower.
    if (this.sinceSupported && this.clusteredDb) {
      try {
        const [found, lastTxnId, updates] = await conn.request<[boolean, string, TableUpdates2]>(
          'monitor_cond_since',
          [this.opts.database, mon.id, requests, mon.lastTxnId],
        );
        mon.lastTxnId = lastTxnId;
        if (found) mon.replica.apply(updates);
        else mon.replica.reset(updates);
        mon.markReady();
        this.emit('monitor-reset', mon.id, found);
        return;
      } catch (e) {
        if (!(e instanceof RpcError) || !/unknown method/i.test(String(e.error))) throw e;
        this.sinceSupported = false;
      }
    }
    const updates = await conn.request<TableUpdates2>('monitor_cond', [this.opts.database, mon.id, requests]);
    mon.replica.reset(updates);
    mon.markReady();
    this.emit('monitor-reset', mon.id, false);
  }

  private onNotification(method: string, params: unknown[]): void {
    if (method === 'update2' || method === 'update3') {
      const id = params[0] as string;
      if (id === SERVER_MONITOR) {
        this.checkServerUpdate(params[params.length - 1] as TableUpdates2);
        return;
      }
      const mon = this.monitors.get(id);
      if (!mon) return;
      if (method === 'update3') {
        mon.replica.apply(params[2] as TableUpdates2);
        // only once applied: an update that failed must not be skipped when the monitor resumes
        mon.lastTxnId = params[1] as string;
      } else {
        mon.replica.apply(params[1] as TableUpdates2);
      }
    }
  }

  // ---- connection management ----------------------------------------------------------------------

  /** The reconnect loop: runs until close(). */
  private async run(): Promise<void> {
    let backoff = this.opts.backoffMinMs;
    let failuresThisRound = 0;
    while (this.state !== 'closed') {
      const remote = this.remotes[this.nextRemote % this.remotes.length]!;
      this.nextRemote++;
      let conn: RpcConnection | undefined;
      try {
        conn = await this.establish(remote);
      } catch (e) {
        this.lastError = e as Error;
        this.log.debug({ remote: remote.text, err: (e as Error).message }, 'ovsdb connect attempt failed');
        if (e instanceof SchemaError) {
          // a configuration problem (wrong database, incompatible schema): retrying cannot fix it
          this.fatal(e);
          return;
        }
        if ((this.state as State) === 'closed') return;
        failuresThisRound++;
        if (failuresThisRound >= this.remotes.length) {
          failuresThisRound = 0;
          // aborted by close(), so that a closed client does not hold the event loop for a backoff
          await sleep(backoff * (0.5 + Math.random() / 2), undefined, { signal: this.stopped.signal }).catch(
            () => undefined,
          );
          backoff = Math.min(backoff * 2, this.opts.backoffMaxMs);
        }
        continue;
      }
      if ((this.state as State) === 'closed') {
        // closed while the handshake finished: the connection must not bring the client back
        conn.close(this.closedBy);
        return;
      }
      backoff = this.opts.backoffMinMs;
      failuresThisRound = 0;
      const closed = new Promise<OvsdbError>((resolve) => conn.onClose(resolve));
      this.state = 'connected';
      this.log.info({ remote: remote.text }, 'ovsdb connected');
      this.emit('connected', remote.text);
      for (const w of this.waiters.splice(0)) w.resolve();
      const err = await closed;
      if ((this.state as State) === 'closed') break;
      this.state = 'connecting';
      this.log.warn({ remote: remote.text, err: err.message }, 'ovsdb connection lost');
      this.emit('disconnected', err);
    }
  }

  /** Connects, checks the database (and leadership), and restores every monitor. */
  private async establish(remote: Remote): Promise<RpcConnection> {
    const sock = await openSocket(remote, this.config.tls, this.opts.connectTimeoutMs);
    if (this.state === 'closed') {
      sock.destroy();
      throw new ClosedError();
    }
    const conn = new RpcConnection(
      sock,
      remote.text,
      {
        probeIntervalMs: this.opts.probeIntervalMs,
        requestTimeoutMs: this.opts.requestTimeoutMs,
        maxMessageBytes: this.config.maxMessageBytes,
      },
      (m, p) => this.onNotification(m, p),
    );
    // close() must reach a connection still being set up, or it stays open until a setup request times out
    this.establishing = conn;
    try {
      const setupTimeout = this.opts.connectTimeoutMs * 2;
      if (!this.schemaCache) {
        const raw = await conn
          .request<RawDatabaseSchema>('get_schema', [this.opts.database], setupTimeout)
          .catch((e: unknown) => {
            if (e instanceof RpcError)
              throw new SchemaError(`${remote.text}: database ${this.opts.database}: ${e.message}`);
            throw e;
          });
        const schema = parseSchema(raw);
        const want = this.config.expectSchemaVersion;
        if (want && !versionCompatible(want, schema.version)) {
          throw new SchemaError(
            `${this.opts.database} schema ${schema.version} is not compatible with ${want}`,
          );
        }
        this.schemaCache = schema;
      }
      await this.inspectServer(conn, setupTimeout);
      this.conn = conn;
      for (const mon of this.monitors.values()) await this.startMonitor(conn, mon);
      return conn;
    } catch (e) {
      conn.close();
      throw e;
    } finally {
      this.establishing = undefined;
    }
  }

  /**
   * Through _Server.Database: learn whether the database is clustered; with leaderOnly, refuse a member
   * that is not the connected leader or whose Raft index is behind one already seen (a stale member), and
   * keep monitoring that row to notice a lost leadership.
   */
  private async inspectServer(conn: RpcConnection, timeoutMs: number): Promise<void> {
    if (!this.serverSchema) {
      // a server too old to have _Server answers with an error: nothing to check then; but a lost or
      // silent connection says nothing about the server, and must not skip the leader check
      const raw = await conn
        .request<RawDatabaseSchema>('get_schema', ['_Server'], timeoutMs)
        .catch((e: unknown) => {
          if (e instanceof RpcError) return undefined;
          throw e;
        });
      if (!raw) return;
      this.serverSchema = parseSchema(raw);
    }
    const where = [['name', '==', this.opts.database]];
    const updates = await conn.request<TableUpdates2>(
      'monitor_cond',
      [
        '_Server',
        SERVER_MONITOR,
        { Database: [{ columns: ['name', 'model', 'connected', 'leader', 'index'], where }] },
      ],
      timeoutMs,
    );
    const row = firstRow(this.serverSchema, updates);
    if (!row) throw new ConnectionError(`${conn.remote}: database ${this.opts.database} not served`);
    this.clusteredDb = row.model === 'clustered';
    if (this.opts.leaderOnly) this.assertUsable(conn.remote, row);
  }

  private assertUsable(remote: string, row: Row): void {
    if (row.model !== 'clustered') return;
    if (!row.connected) throw new ConnectionError(`${remote}: cluster member not connected`);
    if (!row.leader) throw new ConnectionError(`${remote}: not the cluster leader`);
    const index = typeof row.index === 'number' ? row.index : 0;
    if (index < this.maxRaftIndex) {
      throw new ConnectionError(`${remote}: raft index ${index} is behind ${this.maxRaftIndex} already seen`);
    }
    this.maxRaftIndex = index;
  }

  private checkServerUpdate(updates: TableUpdates2): void {
    if (!this.serverSchema || !this.conn || !this.opts.leaderOnly) return;
    const table = updates.Database;
    if (!table) return;
    for (const u of Object.values(table)) {
      if ('delete' in u) {
        this.dropConnection(this.conn, new ConnectionError('database removed from server'));
        return;
      }
      const diff = u.modify;
      if (diff && ('leader' in diff || 'connected' in diff)) {
        // any change of leadership or connectivity of this member: re-check from scratch on a new connection
        this.dropConnection(this.conn, new ConnectionError(`${this.conn.remote}: leadership changed`));
        return;
      }
      if (diff && typeof diff.index === 'number') this.maxRaftIndex = Math.max(this.maxRaftIndex, diff.index);
    }
  }

  private dropConnection(conn: RpcConnection | undefined, e: unknown): void {
    if (!conn || conn.closed) return;
    const err = e instanceof OvsdbError ? e : new ConnectionError(String(e));
    this.log.warn({ remote: conn.remote, err: err.message }, 'dropping ovsdb connection');
    conn.close(err);
  }
}

function encodeMonitorRequests(
  schema: DatabaseSchema,
  spec: Record<string, MonitorTable | undefined>,
): Record<string, unknown> {
  const requests: Record<string, unknown> = {};
  for (const [table, m] of Object.entries(spec)) {
    const req: Record<string, unknown> = {};
    if (m?.columns)
      req.columns = m.columns.filter((c) => c !== '_uuid' && columnOf(tableOf(schema, table), c));
    if (m?.where) {
      const op = encodeOperation(schema, { op: 'select', table, where: m.where }) as { where: unknown[] };
      req.where = op.where;
    }
    requests[table] = [req];
  }
  return requests;
}

function firstRow(schema: DatabaseSchema, updates: TableUpdates2): Row | undefined {
  const table = updates.Database;
  if (!table) return undefined;
  for (const [uuid, u] of Object.entries(table)) {
    const wire = u.initial ?? u.insert;
    if (!wire) continue;
    const row: Record<string, unknown> = { _uuid: uuid };
    decodeColumns(tableOf(schema, 'Database'), wire, row);
    return row as Row;
  }
  return undefined;
}

function checkResults(
  schema: DatabaseSchema,
  ops: readonly Operation[],
  wire: unknown[],
  results: unknown[],
): OpResult[] {
  if (!Array.isArray(results))
    throw new TransactionError('invalid reply', printable(results), undefined, null);
  const out: OpResult[] = [];
  for (let i = 0; i < results.length; i++) {
    const r = results[i] as {
      error?: string;
      details?: string;
      uuid?: [string, string];
      rows?: Row[];
      count?: number;
    };
    if (r && typeof r.error === 'string') {
      throw new TransactionError(
        r.error,
        r.details,
        i < ops.length ? i : undefined,
        i < ops.length ? wire[i] : null,
      );
    }
    if (i >= ops.length) break;
    const op = ops[i]!;
    const res: OpResult = {};
    if (r?.uuid) res.uuid = r.uuid[1];
    if (typeof r?.count === 'number') res.count = r.count;
    if (r?.rows && op.op === 'select') {
      const ts = tableOf(schema, op.table);
      res.rows = r.rows.map((wr) => {
        const row: Record<string, unknown> = {};
        decodeColumns(ts, wr, row);
        return row as Row;
      });
    }
    out.push(res);
  }
  return out;
}
