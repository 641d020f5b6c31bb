// The OVSDB client against a hostile peer: a seeded fuzz run, then the cases it found, written out.
import { mkdtemp, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import {
  correctAnswer,
  FUZZ_DB,
  FUZZ_TXN_ID,
  fuzzOvsdbClient,
  type PeerMessage,
  type ScriptedPeer,
  scriptedPeer,
} from '../../../src/chaos/fuzz/ovsdb-peer.ts';
import { OvsdbClient } from '../../../src/ovsdb/client.ts';
import {
  ClosedError,
  type OvsdbError,
  ProtocolError,
  RpcError,
  SchemaError,
  TimeoutError,
  TransactionError,
} from '../../../src/ovsdb/errors.ts';

describe('fuzz: random and malformed traffic from the server', () => {
  test('300 cases of a fixed seed: no crash, hang or violation', async () => {
    const report = await fuzzOvsdbClient({ cases: 300, seed: 0x0f5db });
    expect(report.failures).toEqual([]);
    expect(report).toMatchObject({ target: 'ovsdb-client', cases: 300, crashes: 0, hangs: 0, violations: 0 });
  }, 60_000);
});

describe('regressions found by the fuzzer', () => {
  let dir: string;
  const peers: ScriptedPeer[] = [];
  const clients: OvsdbClient[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ovsdb-fuzz-regress-'));
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const p of peers.splice(0)) await p.close();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  type Respond = (msg: PeerMessage, sock: Socket, connection: number) => void;
  async function peer(respond: Respond): Promise<ScriptedPeer> {
    const p = await scriptedPeer(join(dir, `p${peers.length}.sock`), respond);
    peers.push(p);
    return p;
  }
  function answer(msg: PeerMessage, sock: Socket, clustered = false): void {
    const a = correctAnswer(msg, clustered);
    if (a) sock.write(JSON.stringify(a));
  }
  async function connect(p: ScriptedPeer, opts: Partial<Parameters<typeof OvsdbClient.connect>[0]> = {}) {
    const c = await OvsdbClient.connect({
      remotes: p.remote,
      database: FUZZ_DB,
      connectTimeoutMs: 500,
      backoffMinMs: 10,
      backoffMaxMs: 20,
      waitMs: 2000,
      ...opts,
    });
    clients.push(c);
    return c;
  }
  const params = (m: PeerMessage) => (Array.isArray(m.params) ? m.params : []);
  const isGetSchema = (m: PeerMessage, db: string) => m.method === 'get_schema' && params(m)[0] === db;
  const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  test('a schema reply cut short, then closed: connect rejects within its wait, naming the lost connection', async () => {
    const p = await peer((msg, sock) => {
      if (!isGetSchema(msg, FUZZ_DB)) return answer(msg, sock);
      const text = JSON.stringify(correctAnswer(msg, false));
      sock.end(text.slice(0, text.length / 2));
    });
    const started = Date.now();
    const err = (await connect(p, { waitMs: 300 }).catch((e: unknown) => e)) as OvsdbError;
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.message).toMatch(/last error: .*connection closed/);
    expect(Date.now() - started).toBeLessThan(1300);
  });

  test('monitor() still waiting for its first load rejects with ClosedError on close()', async () => {
    const p = await peer((msg, sock) => {
      if (msg.method === 'monitor_cond' && params(msg)[0] === FUZZ_DB) return; // never answered
      answer(msg, sock);
    });
    const client = await connect(p, { requestTimeoutMs: 60_000 });
    const monitor = client.monitor({ Item: {} });
    setTimeout(() => client.close(), 50);
    await expect(monitor).rejects.toBeInstanceOf(ClosedError);
  });

  test('close() during the handshake closes that connection at once, and the client does not come back', async () => {
    const p = await peer((msg, sock) => {
      if (isGetSchema(msg, '_Server')) return; // never answered: the handshake is stuck here
      answer(msg, sock);
    });
    // connect() gives up after waitMs and closes the client; the setup request would wait 2 x 5 s
    await expect(connect(p, { waitMs: 200, connectTimeoutMs: 5000 })).rejects.toBeInstanceOf(TimeoutError);
    const closedAt = Date.now();
    await p.allClosed();
    expect(Date.now() - closedAt).toBeLessThan(500);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(p.sockets).toHaveLength(1);
  });

  test('a _Server schema request that times out does not pass for a server without _Server', async () => {
    const silent = await peer((msg, sock) => {
      if (!isGetSchema(msg, '_Server')) answer(msg, sock);
    });
    // setup requests time out after 2 x 50 ms: each attempt must fail rather than skip the leader check
    await expect(connect(silent, { connectTimeoutMs: 50, waitMs: 600 })).rejects.toBeInstanceOf(TimeoutError);
    expect(silent.sockets.length).toBeGreaterThan(1);
    // whereas a server that answers "unknown database" is an old one, used as it is
    const old = await peer((msg, sock) => {
      if (isGetSchema(msg, '_Server'))
        sock.write(JSON.stringify({ id: msg.id, result: null, error: 'unknown database' }));
      else answer(msg, sock);
    });
    const client = await connect(old);
    expect(client.connected).toBe(true);
  });

  test('an error value nested too deep to print rejects the request with RpcError', async () => {
    const p = await peer((msg, sock) => {
      if (msg.method === 'list_dbs') sock.write(`{"id":${msg.id},"result":null,"error":${deep(100_000)}}`);
      else answer(msg, sock);
    });
    const client = await connect(p);
    await expect(client.listDbs()).rejects.toBeInstanceOf(RpcError);
  });

  test('an echo request too deep to answer, or an update the client cannot apply, drops the connection with a ProtocolError', async () => {
    const garbage = [
      `{"method":"echo","id":"x","params":[${deep(100_000)}]}`,
      '{"method":"update2","params":["_server",null],"id":null}',
      '{"method":"update2","params":["m1",{"Item":{"11111111-1111-4111-8111-111111111111":5}}],"id":null}',
    ];
    for (const text of garbage) {
      let sent = false;
      const p = await peer((msg, sock, connection) => {
        answer(msg, sock);
        if (connection === 0 && !sent && msg.method === 'monitor_cond' && params(msg)[0] === FUZZ_DB) {
          sent = true;
          sock.write(text);
        }
      });
      const client = await connect(p);
      const disconnected = new Promise<unknown>((resolve) => client.once('disconnected', resolve));
      await client.monitor({ Item: {} });
      expect(await disconnected).toBeInstanceOf(ProtocolError);
      await client.whenConnected(2000); // and it reconnects
    }
  });

  test('an update3 that cannot be applied is not skipped when the monitor resumes', async () => {
    const resumedFrom: unknown[] = [];
    const p = await peer((msg, sock, connection) => {
      answer(msg, sock, true);
      if (msg.method !== 'monitor_cond_since' || params(msg)[0] !== FUZZ_DB) return;
      resumedFrom.push(params(msg)[3]);
      if (connection === 0) {
        const bad = { Item: { '11111111-1111-4111-8111-111111111111': 5 } };
        const next = '55555555-5555-4555-8555-555555555555';
        sock.write(JSON.stringify({ method: 'update3', params: ['m1', next, bad], id: null }));
      }
    });
    const client = await connect(p);
    await client.monitor({ Item: {} });
    await new Promise<void>((resolve) => client.once('monitor-reset', () => resolve()));
    // first load from zero, then resumed from the last transaction applied, not from the bad one
    expect(resumedFrom).toEqual(['00000000-0000-0000-0000-000000000000', FUZZ_TXN_ID]);
  });

  test('transact: rows not shaped as the schema says are a ProtocolError; a deep non-list reply a TransactionError', async () => {
    let reply = '';
    const p = await peer((msg, sock) => {
      if (msg.method === 'transact') sock.write(`{"id":${msg.id},"result":${reply},"error":null}`);
      else answer(msg, sock);
    });
    const client = await connect(p);
    reply = '[{"rows":[{"ext":["map",7]}]}]';
    await expect(client.select('Item')).rejects.toBeInstanceOf(ProtocolError);
    reply = `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`;
    await expect(client.select('Item')).rejects.toBeInstanceOf(TransactionError);
  });

  test('a schema with a column type the client does not know fails connect with SchemaError', async () => {
    const p = await peer((msg, sock) => {
      if (!isGetSchema(msg, FUZZ_DB)) return answer(msg, sock);
      const schema = {
        name: FUZZ_DB,
        version: '1.0.0',
        tables: { Item: { columns: { name: { type: 'strin\ufffdg' } } } },
      };
      sock.write(JSON.stringify({ id: msg.id, result: schema, error: null }));
    });
    await expect(connect(p)).rejects.toBeInstanceOf(SchemaError);
  });

  test('maxMessageBytes: a string that does not end is refused once past the limit', async () => {
    const p = await peer((msg, sock) => {
      if (msg.method === 'list_dbs') sock.write(`{"id":${msg.id},"result":"${'x'.repeat(200_000)}`);
      else answer(msg, sock);
    });
    const client = await connect(p, { maxMessageBytes: 64 << 10, requestTimeoutMs: 30_000 });
    await expect(client.listDbs()).rejects.toThrow(/larger than 65536 bytes/);
  });
});
