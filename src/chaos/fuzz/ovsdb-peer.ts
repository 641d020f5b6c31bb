// Fuzzes the native OVSDB client (src/ovsdb) against a fake OVSDB server on a unix socket. The fake
// server answers correctly except at one point chosen per case, where it sends garbage: random bytes,
// JSON that is not JSON-RPC, replies with wrong ids or types, huge numbers, deep nesting, a reply cut
// short, invalid UTF-8, an endless string, bad monitor notifications, requests of its own. Each case is
// drawn from its own PRNG seeded by (seed, index), so `fuzzOvsdbClient({ seed, cases: 1, firstCase: i })`
// replays case i.
//
// What must hold, per case: every promise the client hands out settles (those with a timeout within it,
// a monitor at the latest when the client is closed) with a value or an OvsdbError of a declared code;
// nothing escapes as an uncaught exception or unhandled rejection; the client answers the server's echo
// requests; after close() the server sees every connection closed and none of the client's timers is
// left holding the event loop.
import { AsyncLocalStorage, createHook } from 'node:async_hooks';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { OvsdbClient } from '../../ovsdb/client.ts';
import { OvsdbError, type OvsdbErrorCode } from '../../ovsdb/errors.ts';
import { JsonFramer } from '../../ovsdb/framer.ts';
import { emptyReport, type FuzzReport, recordFailure } from './report.ts';

export interface OvsdbFuzzOptions {
  cases: number;
  seed: number;
  /** Upper bound of one case; the timeouts a case gives the client are drawn well below it. */
  caseTimeoutMs?: number;
  /** Where the fake server's sockets go (a fresh temporary directory by default, removed afterwards). */
  dir?: string;
  /** Index of the first case (to replay one: firstCase = i, cases = 1). */
  firstCase?: number;
  /** Cases run at the same time (they mostly wait on timeouts). */
  concurrency?: number;
}

const DECLARED_CODES = new Set<OvsdbErrorCode>([
  'OVSDB_CONNECTION',
  'OVSDB_TIMEOUT',
  'OVSDB_CLOSED',
  'OVSDB_PROTOCOL',
  'OVSDB_SCHEMA',
  'OVSDB_RPC',
  'OVSDB_TXN',
]);

// ---- a replayable PRNG ------------------------------------------------------------------------------

/** mulberry32: tiny and fast; each case gets its own, so a case does not depend on the ones before it. */
class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

function caseSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A random JSON value, with the odd strings and numbers that break naive code. */
function randomJson(rng: Rng, depth = 3): unknown {
  const leaf = () =>
    rng.pick<() => unknown>([
      () => null,
      () => rng.bool(),
      () => rng.int(1000) - 500,
      () => rng.pick([0, -0, 1e308, -1e308, 2 ** 53 + 1, 1.5, Number.MIN_VALUE]),
      () =>
        rng.pick(['', 'uuid', 'set', 'map', 'named-uuid', '_server', 'm1', 'delete', 'modify', '__proto__']),
      () => rng.pick(['a1b2c3d4-0000-4000-8000-000000000001', '\u0000', '\ud800', '💥', 'x'.repeat(300)]),
    ])();
  if (depth <= 0 || rng.bool(0.4)) return leaf();
  if (rng.bool()) return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth - 1));
  const o: Record<string, unknown> = {};
  for (let i = rng.int(4); i > 0; i--) {
    const keys = [
      'initial',
      'insert',
      'modify',
      'delete',
      'Item',
      'Database',
      'name',
      'tags',
      'ext',
      'rows',
      'uuid',
      'count',
      'error',
      'details',
      'x',
    ];
    o[rng.pick(keys)] = randomJson(rng, depth - 1);
  }
  return o;
}

// ---- the fake server's database ---------------------------------------------------------------------

/** The database the fake server serves. */
export const FUZZ_DB = 'Fuzz_DB';
const DB = FUZZ_DB;
const DB_SCHEMA = {
  name: DB,
  version: '1.2.3',
  tables: {
    Item: {
      isRoot: true,
      columns: {
        name: { type: 'string' },
        tags: { type: { key: 'string', min: 0, max: 'unlimited' } },
        ext: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
        n: { type: { key: 'integer', min: 0, max: 1 } },
        ref: { type: { key: { type: 'uuid', refTable: 'Item', refType: 'weak' }, min: 0, max: 1 } },
      },
    },
  },
};
const SERVER_SCHEMA = {
  name: '_Server',
  version: '1.2.0',
  tables: {
    Database: {
      columns: {
        name: { type: 'string' },
        model: { type: { key: { type: 'string', enum: ['set', ['standalone', 'clustered', 'relay']] } } },
        connected: { type: 'boolean' },
        leader: { type: 'boolean' },
        schema: { type: { key: 'string', min: 0, max: 1 } },
        cid: { type: { key: 'uuid', min: 0, max: 1 } },
        sid: { type: { key: 'uuid', min: 0, max: 1 } },
        index: { type: { key: 'integer', min: 0, max: 1 } },
      },
    },
  },
};
const ITEM_1 = '11111111-1111-4111-8111-111111111111';
const ITEM_2 = '22222222-2222-4222-8222-222222222222';
const DB_ROW = '33333333-3333-4333-8333-333333333333';
export const FUZZ_TXN_ID = '44444444-4444-4444-8444-444444444444';
const ITEMS: Record<string, Record<string, unknown>> = {
  [ITEM_1]: {
    name: 'one',
    tags: ['set', ['a', 'b']],
    ext: ['map', [['k', 'v']]],
    n: 1,
    ref: ['uuid', ITEM_2],
  },
  [ITEM_2]: { name: 'two', tags: 'c', ext: ['map', []], n: ['set', []], ref: ['set', []] },
};

/** The answer a correct server of the fuzz database gives to a request (undefined for a notification). */
export function correctAnswer(msg: PeerMessage, clustered: boolean): object | undefined {
  if (msg.id === null || msg.id === undefined) return undefined;
  const params = Array.isArray(msg.params) ? msg.params : [];
  const ok = (result: unknown) => ({ id: msg.id, result, error: null });
  const fail = (error: string) => ({ id: msg.id, result: null, error });
  switch (msg.method) {
    case 'echo':
      return ok(params);
    case 'list_dbs':
      return ok([DB, '_Server']);
    case 'get_schema':
      if (params[0] === DB) return ok(DB_SCHEMA);
      if (params[0] === '_Server') return ok(SERVER_SCHEMA);
      return fail('unknown database');
    case 'monitor_cond':
    case 'monitor_cond_since': {
      if (params[0] === '_Server') {
        const row = {
          name: DB,
          model: clustered ? 'clustered' : 'standalone',
          connected: true,
          leader: true,
          index: clustered ? 7 : ['set', []],
        };
        return ok({ Database: { [DB_ROW]: { initial: row } } });
      }
      if (params[0] !== DB) return fail('unknown database');
      const updates = {
        Item: Object.fromEntries(Object.entries(ITEMS).map(([u, r]) => [u, { initial: r }])),
      };
      return ok(msg.method === 'monitor_cond' ? updates : [false, FUZZ_TXN_ID, updates]);
    }
    case 'monitor_cancel':
      return ok({});
    case 'transact':
      return ok(
        params.slice(1).map((op) => {
          const o = op as { op?: string };
          if (o.op === 'select') {
            return { rows: Object.entries(ITEMS).map(([u, r]) => ({ _uuid: ['uuid', u], ...r })) };
          }
          if (o.op === 'insert') return { uuid: ['uuid', ITEM_1] };
          return {};
        }),
      );
    default:
      return fail(`unknown method ${String(msg.method)}`);
  }
}

// ---- what a case does -------------------------------------------------------------------------------

const GARBAGE = [
  'random-bytes',
  'non-rpc-json',
  'non-object-json',
  'wrong-id',
  'wrong-type',
  'huge-numbers',
  'deep-nesting',
  'truncated',
  'one-byte-writes',
  'invalid-utf8',
  'endless-string',
  'error-reply',
  'duplicate-reply',
  'server-requests',
  'bad-notification',
  'hang-up',
] as const;
type Garbage = (typeof GARBAGE)[number];

/** Where the garbage goes: instead of (or after) the reply to a request, or unprompted. */
const TARGETS = [
  'get_schema',
  'get_schema _Server',
  'monitor_cond _Server',
  'list_dbs',
  'echo',
  'transact',
  'monitor',
  'monitor_cancel',
  'on-connect',
  'after-handshake',
] as const;
type Target = (typeof TARGETS)[number];

/** What the server does on that connection once the garbage is out. */
type After = 'continue' | 'silent' | 'end' | 'reset';
/** How it serves the client's later connections (reconnects). */
type Later = 'healthy' | 'same' | 'refuse';

const OPS = ['list_dbs', 'echo', 'select', 'insert', 'monitor', 'monitor+cancel', 'get_schema'] as const;
type Op = (typeof OPS)[number];

interface Plan {
  transport: 'unix' | 'tcp';
  garbage: Garbage;
  target: Target;
  after: After;
  later: Later;
  clustered: boolean;
  leaderOnly: boolean;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  probeIntervalMs: number;
  maxMessageBytes: number;
  waitMs: number;
  ops: Op[];
}

function makePlan(rng: Rng, caseTimeoutMs: number): Plan {
  // the client's timeouts are drawn so that the slowest path (connect, then a request that waits for a
  // reconnect and then for its answer) stays well inside the case's bound
  const unit = Math.max(20, Math.floor(caseTimeoutMs / 16));
  const requestTimeoutMs = rng.range(unit, 2 * unit);
  return {
    transport: rng.bool(0.3) ? 'tcp' : 'unix',
    garbage: rng.pick(GARBAGE),
    target: rng.pick(TARGETS),
    after: rng.pick(['continue', 'silent', 'end', 'reset'] as const),
    later: rng.pick(['healthy', 'healthy', 'same', 'refuse'] as const),
    clustered: rng.bool(0.3),
    leaderOnly: rng.bool(0.7),
    connectTimeoutMs: rng.range(unit, 2 * unit),
    requestTimeoutMs,
    probeIntervalMs: rng.bool(0.3) ? rng.range(unit, 2 * unit) : 0,
    maxMessageBytes: rng.pick([16 << 10, 64 << 10, 256 << 10]),
    waitMs: rng.range(3 * unit, 5 * unit),
    ops: OPS.filter(() => rng.bool(0.5)),
  };
}

function describePlan(p: Plan): string {
  return `${p.transport}: ${p.garbage} at ${p.target}, then ${p.after}, reconnects ${p.later}; ops [${p.ops.join(' ')}]${
    p.clustered ? ', clustered' : ''
  }${p.leaderOnly ? '' : ', any member'}${p.probeIntervalMs ? `, probe ${p.probeIntervalMs} ms` : ''}`;
}

// ---- the fake server --------------------------------------------------------------------------------

/** A JSON-RPC message as the fake server reads it from the client. */
export interface PeerMessage {
  method?: unknown;
  params?: unknown;
  id?: unknown;
  result?: unknown;
  error?: unknown;
}
type Request = PeerMessage;

/** One connection as the fake server sees it. */
class PeerConnection {
  private readonly framer = new JsonFramer();
  /** Messages are handled one after the other, even when writing one takes several turns. */
  private queue: Promise<void> = Promise.resolve();
  private fired = false;
  private silent = false;
  private lastId = 0;
  readonly monitorIds = new Set<string>();
  /** Echo requests this server sent, by the JSON of their id, with the params the answer must carry. */
  readonly echoesOwed = new Map<string, unknown>();
  readonly closed: Promise<void>;
  isClosed = false;

  constructor(
    private readonly sock: Socket,
    private readonly peer: FakePeer,
    private readonly corrupt: boolean,
  ) {
    sock.on('error', () => undefined); // resets and broken pipes are the point here
    this.closed = new Promise((resolve) => sock.once('close', resolve)).then(() => {
      this.isClosed = true;
    });
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    if (corrupt && peer.plan.target === 'on-connect') this.enqueue(() => this.fire(undefined, undefined));
  }

  private onData(chunk: Buffer): void {
    let texts: string[];
    try {
      texts = this.framer.push(chunk);
    } catch (e) {
      this.peer.violation(`the client sent a malformed frame: ${(e as Error).message}`);
      this.sock.destroy();
      return;
    }
    for (const text of texts) {
      let msg: Request;
      try {
        msg = JSON.parse(text) as Request;
      } catch {
        this.peer.violation(`the client sent invalid JSON: ${text.slice(0, 80)}`);
        continue;
      }
      this.enqueue(() => this.handle(msg));
    }
  }

  private enqueue(step: () => Promise<void> | void): void {
    this.queue = this.queue.then(step).catch((e: unknown) => {
      this.peer.violation(`fake server failed (a bug in the fuzzer): ${(e as Error).stack}`);
    });
  }

  private async handle(msg: Request): Promise<void> {
    if (msg.method === undefined) {
      // an answer to one of our echo requests
      const key = JSON.stringify(msg.id);
      if (this.echoesOwed.has(key) && isDeepStrictEqual(msg.result, this.echoesOwed.get(key))) {
        this.echoesOwed.delete(key);
      }
      return;
    }
    if (this.silent || this.sock.destroyed) return;
    if (typeof msg.id === 'number') this.lastId = Math.max(this.lastId, msg.id);
    const reply = this.peer.answer(msg, this);
    if (this.corrupt && !this.fired && this.peer.targets(msg)) {
      if (this.peer.plan.target === 'after-handshake') {
        // the handshake's last step is answered; the garbage comes unprompted after it
        if (reply) this.write(JSON.stringify(reply));
        await this.fire(undefined, undefined);
      } else {
        await this.fire(msg.id, reply);
      }
    } else if (reply) {
      this.write(JSON.stringify(reply));
    }
  }

  /** Sends the case's garbage in place of `reply` (the answer to request `id`), then does plan.after. */
  private async fire(id: unknown, reply: object | undefined): Promise<void> {
    this.fired = true;
    const { plan, rng } = this.peer;
    // unprompted garbage that looks like an answer answers the request the client will send next
    const replyId = id ?? this.lastId + 1;
    const good: Record<string, unknown> = (reply as Record<string, unknown>) ?? {
      id: replyId,
      result: [DB, '_Server'],
      error: null,
    };
    const goodText = JSON.stringify(good);
    switch (plan.garbage) {
      case 'random-bytes': {
        const bytes = rng.bytes(rng.range(1, 2000));
        if (rng.bool()) bytes[0] = 0x7b; // starts like a message, so the framer buffers it
        this.write(bytes);
        break;
      }
      case 'non-rpc-json':
        this.write(
          rng.pick([
            '{}',
            '{"hello":"world"}',
            `{"id":${JSON.stringify(replyId)}}`,
            '{"result":[1,2,3],"error":null}',
            `{"method":42,"params":[],"id":${JSON.stringify(replyId)}}`,
            '{"method":"update2","params":"not a list","id":null}',
            `{"jsonrpc":"2.0","id":${JSON.stringify(replyId)},"result":{}}`,
            JSON.stringify(randomJson(this.peer.rng)).replace(/^[^{].*$/s, '{"x":null}'),
          ]),
        );
        break;
      case 'non-object-json':
        this.write(rng.pick(['[1,2,3]', '"text"', '42', 'null', 'true', ']', '}', '{"a":1}}', '{"a":1]']));
        break;
      case 'wrong-id': {
        const n = typeof replyId === 'number' ? replyId : 1;
        const wrong = rng.pick<unknown>([
          n + 1,
          n - 1,
          -n,
          `${n}`,
          n + 0.5,
          1e308,
          null,
          [n],
          { id: n },
          true,
        ]);
        this.write(JSON.stringify({ ...good, id: wrong }));
        break;
      }
      case 'wrong-type':
        this.write(JSON.stringify({ id: replyId, result: randomJson(rng), error: rng.bool(0.8) ? null : 0 }));
        break;
      case 'huge-numbers': {
        const huge = rng.pick([
          '1e400',
          '-1e400',
          '123456789012345678901234567890',
          '1e-400',
          '-0',
          '0.1e999999',
        ]);
        this.write(
          rng.bool()
            ? `{"id":${replyId},"result":[${huge},{"n":${huge}},"x"],"error":null}`
            : goodText.replace(/(?<=[:,[])(-?\d+(\.\d+)?)(?=[,\]}])/g, huge),
        );
        break;
      }
      case 'deep-nesting': {
        const depth = rng.pick([1000, 20_000, 200_000]);
        const [open, close] = rng.pick([
          ['[', ']'],
          ['{"a":', '}'],
          ['["set",', ']'],
        ]);
        const where = rng.pick(['result', 'error', 'params']);
        const nested = `${open.repeat(depth)}1${close.repeat(depth)}`;
        if (where === 'params')
          this.write(
            `{"method":"${rng.pick(['echo', 'update2', 'update3'])}","params":[${nested}],"id":${rng.bool() ? 'null' : '"deep"'}}`,
          );
        else
          this.write(
            `{"id":${replyId},"result":${where === 'result' ? nested : 'null'},"error":${where === 'error' ? nested : 'null'}}`,
          );
        break;
      }
      case 'truncated': {
        const bytes = Buffer.from(goodText);
        this.write(bytes.subarray(0, rng.int(bytes.length)));
        break;
      }
      case 'one-byte-writes':
        await this.writeBytewise(Buffer.from(goodText));
        break;
      case 'invalid-utf8': {
        const bad = rng.pick([
          [0xff],
          [0xc0, 0xaf],
          [0xed, 0xa0, 0x80],
          [0x80],
          [0xe2, 0x82],
          [0xf4, 0x90, 0x80, 0x80],
        ]);
        const text = Buffer.from(goodText);
        // inside a string when there is one (the value must survive), otherwise anywhere
        const quote = text.indexOf(0x22, rng.int(text.length));
        const at = quote >= 0 && rng.bool(0.8) ? quote + 1 : rng.int(text.length);
        this.write(Buffer.concat([text.subarray(0, at), Buffer.from(bad), text.subarray(at)]));
        break;
      }
      case 'endless-string':
        await this.writeEndlessString(replyId);
        break;
      case 'error-reply':
        this.write(
          JSON.stringify({
            id: replyId,
            result: null,
            error: rng.pick<unknown>([
              'unknown method',
              'syntax error',
              { error: 'not leader', details: 'x' },
              randomJson(rng),
              rng.pick<unknown>([0, false, '']),
            ]),
          }),
        );
        break;
      case 'duplicate-reply':
        this.write(goodText + goodText + JSON.stringify({ ...good, id: (Number(replyId) || 0) + 1 }));
        break;
      case 'server-requests':
        if (reply) this.write(goodText);
        this.sendServerRequests();
        break;
      case 'bad-notification':
        if (reply) this.write(goodText);
        this.sendBadNotifications();
        break;
      case 'hang-up':
        break;
    }
    switch (plan.after) {
      case 'continue':
        break;
      case 'silent':
        this.silent = true;
        break;
      case 'end':
        this.sock.end();
        break;
      case 'reset':
        // a TCP reset where there is one; a unix socket can only be closed
        if (this.peer.plan.transport === 'tcp') this.sock.resetAndDestroy();
        else this.sock.destroy();
        break;
    }
  }

  private sendServerRequests(): void {
    const rng = this.peer.rng;
    for (let i = rng.range(1, 4); i > 0; i--) {
      const id = rng.pick<unknown>([rng.int(100), `srv${i}`, [i], { i }, true, 0, -1, 1e308]);
      const params = rng.bool(0.8) ? (randomJson(rng) ?? []) : undefined;
      if (rng.bool(0.7)) {
        const msg: Request = { method: 'echo', id };
        if (params !== undefined) msg.params = params;
        // as the client sees them once through JSON (-0 arrives as 0)
        this.echoesOwed.set(
          JSON.stringify(id),
          Array.isArray(params) ? JSON.parse(JSON.stringify(params)) : [],
        );
        this.write(JSON.stringify(msg));
      } else {
        this.write(JSON.stringify({ method: rng.pick(['lock', 'steal', 'transact', '']), params: [], id }));
      }
    }
    if (rng.bool()) this.write('{"method":"echo","params":[],"id":null}');
  }

  private sendBadNotifications(): void {
    const rng = this.peer.rng;
    const ids = [...this.monitorIds, '_server', 'm1', 'nope'];
    for (let i = rng.range(1, 3); i > 0; i--) {
      const monitor = rng.pick(ids);
      const table = monitor === '_server' ? 'Database' : 'Item';
      const uuid = monitor === '_server' ? DB_ROW : rng.pick([ITEM_1, ITEM_2, 'not-a-uuid']);
      const updates = rng.pick<unknown>([
        randomJson(rng),
        { [table]: randomJson(rng) },
        { [table]: { [uuid]: randomJson(rng) } },
        { [table]: { [uuid]: { modify: randomJson(rng) } } },
        {
          [table]: {
            [uuid]: { modify: { tags: randomJson(rng), ext: randomJson(rng), n: randomJson(rng) } },
          },
        },
        { [table]: { [uuid]: { insert: { name: randomJson(rng), ext: randomJson(rng) } } } },
        { [table]: { [uuid]: { modify: { leader: false, index: randomJson(rng) } } } },
        { [table]: { [uuid]: null } },
      ]);
      const method = rng.pick(['update', 'update2', 'update3']);
      const params = rng.pick<unknown>([
        method === 'update3'
          ? [monitor, rng.pick<unknown>([FUZZ_TXN_ID, 42, null]), updates]
          : [monitor, updates],
        [monitor],
        [],
        randomJson(rng),
        [updates],
      ]);
      this.write(JSON.stringify({ method, params, id: null }));
    }
  }

  private async writeBytewise(bytes: Buffer): Promise<void> {
    for (let i = 0; i < bytes.length && !this.sock.destroyed; i++) {
      this.write(bytes.subarray(i, i + 1));
      // let each byte leave on its own rather than coalesce in our socket's buffer
      if (i % 4 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** A string that does not end: more than the client's limit, or less and then whatever plan.after says. */
  private async writeEndlessString(id: unknown): Promise<void> {
    const { plan, rng } = this.peer;
    const total = rng.bool() ? plan.maxMessageBytes * 2 : rng.int(plan.maxMessageBytes);
    const chunk = Buffer.alloc(16 << 10, 'x');
    this.write(`{"id":${JSON.stringify(id)},"result":"`);
    for (let sent = 0; sent < total && !this.sock.destroyed; sent += chunk.length) {
      if (!this.sock.write(chunk)) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private write(data: string | Buffer): void {
    if (!this.sock.destroyed && this.sock.writable) this.sock.write(data);
  }

  destroy(): void {
    this.sock.destroy();
  }
}

/** A unix-socket server that plays OVSDB for one case. */
class FakePeer {
  private readonly server: Server;
  readonly connections: PeerConnection[] = [];
  readonly violations: string[] = [];

  /** The remote for the client: unix:PATH or tcp:127.0.0.1:PORT. */
  remote = '';

  constructor(
    private readonly path: string,
    readonly plan: Plan,
    readonly rng: Rng,
  ) {
    this.server = createServer((sock) => this.accept(sock));
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      const ready = () => {
        const addr = this.server.address();
        this.remote = typeof addr === 'string' ? `unix:${addr}` : `tcp:127.0.0.1:${addr?.port}`;
        resolve();
      };
      if (this.plan.transport === 'unix') this.server.listen(this.path, ready);
      else this.server.listen(0, '127.0.0.1', ready);
    });
  }

  private accept(sock: Socket): void {
    const first = this.connections.length === 0;
    if (!first && this.plan.later === 'refuse') {
      sock.on('error', () => undefined);
      sock.destroy();
      return;
    }
    this.connections.push(new PeerConnection(sock, this, first || this.plan.later === 'same'));
  }

  violation(text: string): void {
    this.violations.push(text);
  }

  targets(msg: Request): boolean {
    const db = Array.isArray(msg.params) ? msg.params[0] : undefined;
    switch (this.plan.target) {
      case 'get_schema':
        return msg.method === 'get_schema' && db === DB;
      case 'get_schema _Server':
        return msg.method === 'get_schema' && db === '_Server';
      case 'monitor_cond _Server':
      case 'after-handshake':
        return msg.method === 'monitor_cond' && db === '_Server';
      case 'monitor':
        return (msg.method === 'monitor_cond' || msg.method === 'monitor_cond_since') && db === DB;
      case 'on-connect':
        return false;
      default:
        return msg.method === this.plan.target;
    }
  }

  answer(msg: Request, conn: PeerConnection): object | undefined {
    if ((msg.method === 'monitor_cond' || msg.method === 'monitor_cond_since') && Array.isArray(msg.params)) {
      if (msg.params[0] === DB) conn.monitorIds.add(String(msg.params[1]));
    }
    return correctAnswer(msg, this.plan.clustered);
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A fake server for hand-written scenarios (the regression tests). */
export interface ScriptedPeer {
  /** unix:PATH, for the client's remotes. */
  remote: string;
  /** Every connection accepted so far, in order. */
  sockets: Socket[];
  /** Resolves once every connection accepted so far is closed. */
  allClosed(): Promise<void>;
  close(): Promise<void>;
}

/** Listens on a unix socket and hands every message a client sends to `respond`, with its connection. */
export async function scriptedPeer(
  path: string,
  respond: (msg: PeerMessage, sock: Socket, connection: number) => void,
): Promise<ScriptedPeer> {
  const sockets: Socket[] = [];
  const closed: Promise<void>[] = [];
  const server = createServer((sock) => {
    const connection = sockets.length;
    sockets.push(sock);
    closed.push(new Promise((resolve) => sock.once('close', () => resolve())));
    sock.on('error', () => undefined);
    const framer = new JsonFramer();
    sock.on('data', (chunk: Buffer) => {
      for (const text of framer.push(chunk)) respond(JSON.parse(text) as PeerMessage, sock, connection);
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    remote: `unix:${path}`,
    sockets,
    allClosed: () => Promise.all(closed).then(() => undefined),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---- running cases ----------------------------------------------------------------------------------

interface Tracked {
  label: string;
  /** Settles on its own within this many ms (undefined: only at close, like a monitor across reconnects). */
  boundMs: number | undefined;
  started: number;
  settled: boolean;
  done: Promise<void>;
}

interface CaseContext {
  index: number;
  /** Timers the case's code created (the client's among them), to find those left after close(). */
  timers: Set<NodeJS.Timeout>;
}

const caseStore = new AsyncLocalStorage<CaseContext>();

/** A wait that leaves no timer behind once it is over (the leak check counts timers). */
function within<T>(p: Promise<T>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([p.then(() => true), expired]).finally(() => clearTimeout(timer));
}

function describeError(e: unknown): string {
  if (e instanceof Error)
    return `${e.constructor.name}${'code' in e ? `(${String(e.code)})` : ''}: ${e.message.slice(0, 200)}`;
  return `non-Error ${typeof e}: ${String(e).slice(0, 200)}`;
}

class CaseRun {
  readonly tracked: Tracked[] = [];
  readonly problems: { kind: 'crashes' | 'hangs' | 'violations'; text: string }[] = [];

  track<T>(label: string, p: Promise<T>, boundMs: number | undefined): Promise<T> {
    const t: Tracked = { label, boundMs, started: Date.now(), settled: false, done: Promise.resolve() };
    t.done = p.then(
      () => {
        t.settled = true;
      },
      (e: unknown) => {
        t.settled = true;
        if (!(e instanceof OvsdbError) || !DECLARED_CODES.has(e.code)) {
          this.problems.push({
            kind: 'crashes',
            text: `${label} rejected with an undeclared error: ${describeError(e)}`,
          });
        }
      },
    );
    this.tracked.push(t);
    return p;
  }

  pending(): Tracked[] {
    return this.tracked.filter((t) => !t.settled);
  }
}

const SLACK_MS = 1500;
const CLOSE_GRACE_MS = 300;

async function runCase(seed: number, index: number, dir: string, caseTimeoutMs: number): Promise<CaseRun> {
  const rng = new Rng(caseSeed(seed, index));
  const plan = makePlan(rng, caseTimeoutMs);
  const run = new CaseRun();
  const peer = new FakePeer(join(dir, `c${index}.sock`), plan, rng);
  await peer.listen();
  const ctx = caseStore.getStore()!;
  try {
    const connect = run.track(
      'connect',
      OvsdbClient.connect({
        remotes: peer.remote,
        database: DB,
        leaderOnly: plan.leaderOnly,
        connectTimeoutMs: plan.connectTimeoutMs,
        requestTimeoutMs: plan.requestTimeoutMs,
        probeIntervalMs: plan.probeIntervalMs,
        backoffMinMs: 5,
        backoffMaxMs: plan.requestTimeoutMs,
        waitMs: plan.waitMs,
        maxMessageBytes: plan.maxMessageBytes,
      }),
      plan.waitMs,
    );
    let client: OvsdbClient | undefined;
    if (
      await within(
        connect.then((c) => (client = c)).catch(() => undefined),
        plan.waitMs + SLACK_MS,
      )
    ) {
      if (client) startOps(client, plan, run);
    }
    // every request carries a timeout; it may first wait as long again for a reconnect
    const bounded = run.tracked.filter((t) => t.boundMs !== undefined);
    await within(Promise.all(bounded.map((t) => t.done)), 2 * plan.requestTimeoutMs + SLACK_MS);
    for (const t of bounded.filter((x) => !x.settled)) {
      run.problems.push({
        kind: 'hangs',
        text: `${t.label} still pending after ${Date.now() - t.started} ms`,
      });
    }
    await checkEchoesAnswered(peer, run);
    client?.close();
    await within(Promise.all(run.tracked.map((t) => t.done)), CLOSE_GRACE_MS);
    for (const t of run.pending()) {
      run.problems.push({
        kind: 'hangs',
        text: `${t.label} still pending ${CLOSE_GRACE_MS} ms after close()`,
      });
    }
    const open = peer.connections.filter((c) => !c.isClosed);
    await within(Promise.all(open.map((c) => c.closed)), CLOSE_GRACE_MS);
    const stillOpen = open.filter((c) => !c.isClosed).length;
    if (stillOpen > 0) {
      run.problems.push({
        kind: 'violations',
        text: `${stillOpen} connection(s) still open ${CLOSE_GRACE_MS} ms after close()`,
      });
    }
    await checkTimersReleased(ctx, run);
  } finally {
    await peer.close();
  }
  for (const v of peer.violations) run.problems.push({ kind: 'violations', text: v });
  for (const p of run.problems) p.text = `seed ${seed} case ${index} (${describePlan(plan)}): ${p.text}`;
  return run;
}

function startOps(client: OvsdbClient, plan: Plan, run: CaseRun): void {
  const bound = 2 * plan.requestTimeoutMs;
  for (const op of plan.ops) {
    switch (op) {
      case 'list_dbs':
        run.track(op, client.listDbs(), bound);
        break;
      case 'echo':
        run.track(op, client.echo(), bound);
        break;
      case 'get_schema':
        run.track(op, client.request('get_schema', [DB]), bound);
        break;
      case 'select':
        run.track(op, client.select('Item'), bound);
        break;
      case 'insert':
        run.track(
          op,
          client.transact([
            { op: 'insert', table: 'Item', row: { name: 'z', tags: ['a'], ext: { k: 'v' }, n: 3 } },
          ]),
          bound,
        );
        break;
      case 'monitor':
        run.track(op, client.monitor({ Item: {} }), undefined);
        break;
      case 'monitor+cancel':
        run.track(
          op,
          client.monitor({ Item: { columns: ['name', 'ext'] } }).then((r) => client.cancelMonitor(r)),
          undefined,
        );
        break;
    }
  }
}

/** Echo requests from the server are answered at once, on connections the client kept. */
async function checkEchoesAnswered(peer: FakePeer, run: CaseRun): Promise<void> {
  const owing = () => peer.connections.filter((c) => !c.isClosed && c.echoesOwed.size > 0);
  if (owing().length === 0) return;
  await within(
    (async () => {
      while (owing().length > 0) await new Promise((resolve) => setImmediate(resolve));
    })(),
    CLOSE_GRACE_MS,
  );
  for (const c of owing()) {
    run.problems.push({
      kind: 'violations',
      text: `echo request(s) ${[...c.echoesOwed.keys()].join(' ')} unanswered`,
    });
  }
}

/** After close(), none of the timers made during the case may still hold the event loop. */
async function checkTimersReleased(ctx: CaseContext, run: CaseRun): Promise<void> {
  const live = () =>
    [...ctx.timers].filter((t) => !(t as unknown as { _destroyed: boolean })._destroyed && t.hasRef());
  const deadline = Date.now() + CLOSE_GRACE_MS;
  while (live().length > 0 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
  const left = live();
  if (left.length > 0) {
    const delays = left.map((t) => (t as unknown as { _idleTimeout: number })._idleTimeout).join(', ');
    run.problems.push({
      kind: 'violations',
      text: `${left.length} timer(s) (${delays} ms) still active after close()`,
    });
  }
}

/**
 * Runs `cases` cases against the client and reports crashes (uncaught exceptions, unhandled rejections,
 * undeclared errors), hangs (promises that did not settle in time) and violations (connections or
 * timers left after close(), unanswered echo requests, malformed frames from the client).
 */
export async function fuzzOvsdbClient(opts: OvsdbFuzzOptions): Promise<FuzzReport> {
  const report = emptyReport('ovsdb-client');
  const caseTimeoutMs = opts.caseTimeoutMs ?? 3000;
  const firstCase = opts.firstCase ?? 0;
  const concurrency = Math.max(1, opts.concurrency ?? 8);
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'ovsdb-fuzz-')));
  const running = new Set<number>();
  // Whatever escapes the client is counted here instead of ending the process (or failing a test run
  // from the outside); the listeners in place before are put back afterwards.
  const escaped = (what: string) => (e: unknown) => {
    recordFailure(
      report,
      'crashes',
      `${what} while cases [${[...running].join(' ')}] ran (seed ${opts.seed}): ${describeError(e)}`,
    );
  };
  const onUncaught = escaped('uncaught exception');
  const onUnhandled = escaped('unhandled rejection');
  const saved = {
    uncaughtException: process.listeners('uncaughtException'),
    unhandledRejection: process.listeners('unhandledRejection'),
  };
  process.removeAllListeners('uncaughtException').removeAllListeners('unhandledRejection');
  process.on('uncaughtException', onUncaught).on('unhandledRejection', onUnhandled);
  const hook = createHook({
    init(_id, type, _trigger, resource) {
      if (type === 'Timeout') caseStore.getStore()?.timers.add(resource as NodeJS.Timeout);
    },
  }).enable();
  let next = firstCase;
  const end = firstCase + opts.cases;
  const worker = async () => {
    while (next < end) {
      const index = next++;
      running.add(index);
      const ctx: CaseContext = { index, timers: new Set() };
      try {
        const run = await caseStore.run(ctx, () => runCase(opts.seed, index, dir, caseTimeoutMs));
        for (const p of run.problems) recordFailure(report, p.kind, p.text);
      } catch (e) {
        recordFailure(
          report,
          'crashes',
          `seed ${opts.seed} case ${index}: the case itself threw: ${describeError(e)}`,
        );
      } finally {
        running.delete(index);
        report.cases++;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
    // let rejections that nobody handled surface before the listeners go
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    hook.disable();
    process.off('uncaughtException', onUncaught).off('unhandledRejection', onUnhandled);
    for (const l of saved.uncaughtException) process.on('uncaughtException', l);
    for (const l of saved.unhandledRejection) process.on('unhandledRejection', l);
    if (!opts.dir) await rm(dir, { recursive: true, force: true });
  }
  return report;
}
