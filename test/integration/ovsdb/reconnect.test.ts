// Reconnecting to a real ovsdb-server that is killed, restarted, changed while we were away, or frozen.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { run } from '../../../src/lab/proc.ts';
import type { Tables } from '../../../src/ovsdb/generated/ovn-nb.ts';
import { type Change, ConnectionError, Ops, OvsdbClient, type Replica } from '../../../src/ovsdb/index.ts';
import { eventually, useLab } from '../helpers.ts';

const ctx = useLab({ northd: false });
const nb = new Ops<Tables>();
let client: OvsdbClient<Tables>;
let replica: Replica<Tables>;
const changes: Change[] = [];

const server = () => ctx.lab.central.nb.servers[0]!;

beforeAll(async () => {
  client = await OvsdbClient.connect<Tables>({
    remotes: server().tcpRemote,
    database: 'OVN_Northbound',
    probeIntervalMs: 400,
    backoffMaxMs: 200,
  });
  replica = await client.monitor({ Logical_Switch: { columns: ['name', 'external_ids'] } });
  replica.onChange((c) => changes.push(c));
});
afterAll(() => client?.close());

describe('reconnect', () => {
  test('after SIGKILL and restart: the monitor is restored and a queued transaction goes through', async () => {
    await client.transact([nb.insert('Logical_Switch', { name: 'rc-before' })]);
    expect(replica.byName('Logical_Switch', 'rc-before')).toHaveLength(1);
    const disconnected = new Promise((r) => client.once('disconnected', r));
    await server().kill('SIGKILL');
    await disconnected;
    expect(client.connected).toBe(false);
    // issued while the server is down: waits for the connection, then commits once
    const pending = client.transact([nb.insert('Logical_Switch', { name: 'rc-while-down' })]);
    await server().start();
    await pending;
    expect(client.connected).toBe(true);
    expect(replica.byName('Logical_Switch', 'rc-while-down')).toHaveLength(1);
    expect(await client.select('Logical_Switch', [['name', '==', 'rc-while-down']])).toHaveLength(1);
  });

  test('changes made while disconnected reach the replica as exact insert/update/delete events', async () => {
    await client.transact([
      nb.insert('Logical_Switch', { name: 'rc-keep', external_ids: { v: '1' } }),
      nb.insert('Logical_Switch', { name: 'rc-gone' }),
      nb.insert('Logical_Switch', { name: 'rc-same' }),
    ]);
    const disconnected = new Promise((r) => client.once('disconnected', r));
    await server().kill('SIGKILL');
    await disconnected;
    // change the database file while no server runs
    const txn = JSON.stringify([
      'OVN_Northbound',
      { op: 'delete', table: 'Logical_Switch', where: [['name', '==', 'rc-gone']] },
      {
        op: 'update',
        table: 'Logical_Switch',
        where: [['name', '==', 'rc-keep']],
        row: { external_ids: ['map', [['v', '2']]] },
      },
      { op: 'insert', table: 'Logical_Switch', row: { name: 'rc-new' } },
    ]);
    await run('ovsdb-tool', ['transact', server().dbFile, txn]);
    changes.length = 0;
    await server().start();
    await eventually(() => expect(replica.byName('Logical_Switch', 'rc-new')).toHaveLength(1));
    expect(replica.byName('Logical_Switch', 'rc-gone')).toHaveLength(0);
    expect(replica.byName('Logical_Switch', 'rc-keep')[0]?.external_ids).toEqual({ v: '2' });
    const summary = changes.map((c) => `${c.kind}:${(c.row ?? c.old)?.name}`).sort();
    // nothing else is reported: rows that did not change produce no event
    expect(summary).toEqual(['delete:rc-gone', 'insert:rc-new', 'update:rc-keep']);
  });

  test('a frozen server is detected by the inactivity probe; requests fail instead of hanging', async () => {
    await server().kill('SIGSTOP');
    try {
      const t0 = Date.now();
      const err = await client.transact([nb.insert('Logical_Switch', { name: 'rc-frozen' })]).catch((e) => e);
      expect(err).toBeInstanceOf(ConnectionError);
      expect((err as Error).message).toMatch(/inactivity probe/);
      expect(Date.now() - t0).toBeLessThan(5_000);
    } finally {
      await server().kill('SIGCONT');
    }
    await client.whenConnected(10_000);
    // the interrupted transaction may or may not have committed (it was sent): both are allowed here
    await client.transact([nb.insert('Logical_Switch', { name: 'rc-after-freeze' })]);
    expect(replica.byName('Logical_Switch', 'rc-after-freeze')).toHaveLength(1);
  });

  test('close() rejects waiting requests and stops reconnecting', async () => {
    const c = await OvsdbClient.connect<Tables>({ remotes: server().unixRemote, database: 'OVN_Northbound' });
    await server().kill('SIGSTOP');
    try {
      const pending = c.transact([nb.comment('never answered')]);
      c.close();
      await expect(pending).rejects.toMatchObject({ code: 'OVSDB_CLOSED' });
      await expect(c.listDbs()).rejects.toMatchObject({ code: 'OVSDB_CLOSED' });
    } finally {
      await server().kill('SIGCONT');
    }
  });
});
