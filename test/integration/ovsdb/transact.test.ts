// Every transaction operation against a real OVN_Northbound ovsdb-server, and the errors it reports.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Tables } from '../../../src/ovsdb/generated/ovn-nb.ts';
import { named, Ops, OvsdbClient, SchemaError, TransactionError } from '../../../src/ovsdb/index.ts';
import { useLab } from '../helpers.ts';

const ctx = useLab({ northd: false });
const nb = new Ops<Tables>();
let client: OvsdbClient<Tables>;

beforeAll(async () => {
  client = await OvsdbClient.connect<Tables>({
    remotes: ctx.lab.central.nb.servers[0]!.unixRemote,
    database: 'OVN_Northbound',
  });
});
afterAll(() => client?.close());

async function failure(p: Promise<unknown>): Promise<TransactionError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(TransactionError);
  return e as TransactionError;
}

describe('operations', () => {
  test('insert with uuid-name, referenced in the same transaction, then select', async () => {
    const [port, sw] = await client.transact([
      nb.insert(
        'Logical_Switch_Port',
        { name: 'op-p1', addresses: ['00:00:00:00:00:01 10.0.0.2'] },
        { uuidName: 'p1' },
      ),
      nb.insert('Logical_Switch', { name: 'op-sw', ports: [named('p1')], external_ids: { owner: 'test' } }),
    ]);
    expect(port?.uuid).toMatch(/^[0-9a-f-]{36}$/);
    const rows = await client.select('Logical_Switch', [['name', '==', 'op-sw']]);
    expect(rows).toHaveLength(1);
    expect(rows[0]!._uuid).toBe(sw?.uuid);
    expect(rows[0]!.ports).toEqual([port?.uuid]);
    expect(rows[0]!.external_ids).toEqual({ owner: 'test' });
    expect(rows[0]!.copp).toBeNull();
  });

  test('insert with an explicit uuid', async () => {
    const uuid = '3f9a1c2e-0000-4000-8000-00000000abcd';
    const [r] = await client.transact([nb.insert('Address_Set', { name: 'op_as' }, { uuid })]);
    expect(r?.uuid).toBe(uuid);
    expect((await client.select('Address_Set', [['_uuid', '==', uuid]]))[0]?.name).toBe('op_as');
  });

  test('select with a column list returns only those columns', async () => {
    const [r] = await client.transact([nb.select('Logical_Switch', [['name', '==', 'op-sw']], ['name'])]);
    expect(r?.rows).toEqual([{ name: 'op-sw' }]);
  });

  test('update changes the matched rows and reports the count', async () => {
    const [r] = await client.transact([
      nb.update('Logical_Switch', [['name', '==', 'op-sw']], { other_config: { subnet: '10.0.0.0/24' } }),
    ]);
    expect(r?.count).toBe(1);
    const [row] = await client.select('Logical_Switch', [['name', '==', 'op-sw']]);
    expect(row?.other_config).toEqual({ subnet: '10.0.0.0/24' });
  });

  test('mutate: map insert/delete, set insert/delete, integer arithmetic', async () => {
    await client.transact([
      nb.mutate(
        'Logical_Switch',
        [['name', '==', 'op-sw']],
        [
          ['external_ids', 'insert', { a: '1', b: '2' }],
          ['external_ids', 'delete', ['owner']],
        ],
      ),
      nb.insert(
        'ACL',
        { priority: 100, direction: 'to-lport', match: 'ip4', action: 'drop' },
        { uuidName: 'acl' },
      ),
      nb.mutate('Logical_Switch', [['name', '==', 'op-sw']], [['acls', 'insert', [named('acl')]]]),
    ]);
    let [row] = await client.select('Logical_Switch', [['name', '==', 'op-sw']]);
    expect(row?.external_ids).toEqual({ a: '1', b: '2' });
    expect(row?.acls).toHaveLength(1);
    const [acl] = await client.select('ACL', [['_uuid', '==', row!.acls[0]!]]);
    expect(acl?.priority).toBe(100);
    await client.transact([
      nb.mutate('ACL', [['_uuid', '==', acl!._uuid]], [['priority', '+=', 5]]),
      nb.mutate('Logical_Switch', [['name', '==', 'op-sw']], [['external_ids', 'delete', { a: '1' }]]),
    ]);
    expect((await client.select('ACL', [['_uuid', '==', acl!._uuid]]))[0]?.priority).toBe(105);
    [row] = await client.select('Logical_Switch', [['name', '==', 'op-sw']]);
    expect(row?.external_ids).toEqual({ b: '2' });
    // removing the only reference garbage-collects the non-root ACL row
    await client.transact([
      nb.mutate('Logical_Switch', [['name', '==', 'op-sw']], [['acls', 'delete', [acl!._uuid]]]),
    ]);
    expect(await client.select('ACL', [['_uuid', '==', acl!._uuid]])).toEqual([]);
  });

  test('conditions: includes on maps and sets, != and excludes', async () => {
    const byMap = await client.select('Logical_Switch', [['external_ids', 'includes', { b: '2' }]]);
    expect(byMap.map((r) => r.name)).toEqual(['op-sw']);
    const [sw] = byMap;
    const bySet = await client.select('Logical_Switch', [['ports', 'includes', [sw!.ports[0]!]]]);
    expect(bySet).toHaveLength(1);
    expect(await client.select('Logical_Switch', [['ports', 'excludes', [sw!.ports[0]!]]])).toEqual([]);
    expect(await client.select('Logical_Switch', [['name', '!=', 'op-sw']])).toEqual([]);
  });

  test('wait: passes when the rows match, fails with "timed out" when they do not', async () => {
    await client.transact([
      nb.wait('Logical_Switch', [['name', '==', 'op-sw']], ['name'], '==', [{ name: 'op-sw' }]),
      nb.comment('wait passed'),
    ]);
    const e = await failure(
      client.transact([
        nb.wait('Logical_Switch', [['name', '==', 'op-sw']], ['name'], '!=', [{ name: 'op-sw' }]),
      ]),
    );
    expect(e.isWaitTimeout).toBe(true);
    expect(e.opIndex).toBe(0);
  });

  test('a waitAbsent guard makes a create idempotent', async () => {
    const create = () => [
      nb.waitAbsent('Logical_Router', [['name', '==', 'op-lr']]),
      nb.insert('Logical_Router', { name: 'op-lr' }),
    ];
    expect((await client.transactIdempotent(create())).applied).toBe(true);
    expect((await client.transactIdempotent(create())).applied).toBe(false);
    expect(await client.select('Logical_Router', [['name', '==', 'op-lr']])).toHaveLength(1);
  });

  test('delete removes matched rows and reports the count', async () => {
    await client.transact([
      nb.insert('Logical_Router', { name: 'op-del' }),
      nb.insert('Logical_Router', { name: 'op-del' }),
    ]);
    const [r] = await client.transact([nb.delete('Logical_Router', [['name', '==', 'op-del']])]);
    expect(r?.count).toBe(2);
  });

  test('comment and commit are accepted; abort fails the transaction with "aborted"', async () => {
    await client.transact([nb.comment('from the test'), nb.commit(true)]);
    const e = await failure(client.transact([nb.insert('Logical_Router', { name: 'op-never' }), nb.abort()]));
    expect(e.error).toBe('aborted');
    expect(e.opIndex).toBe(1);
    expect(await client.select('Logical_Router', [['name', '==', 'op-never']])).toEqual([]);
  });

  test('assert on a lock not held fails with "not owner"', async () => {
    const e = await failure(client.transact([nb.assert('no_such_lock')]));
    expect(e.error).toBe('not owner');
  });
});

describe('errors carry the server text and the failing operation', () => {
  test('constraint violation on a duplicate unique index value', async () => {
    const e = await failure(
      client.transact([
        nb.insert('Logical_Switch_Port', { name: 'op-p1' }, { uuidName: 'dup' }),
        nb.mutate('Logical_Switch', [['name', '==', 'op-sw']], [['ports', 'insert', [named('dup')]]]),
      ]),
    );
    expect(e.error).toBe('constraint violation');
    expect(e.opIndex).toBeUndefined(); // the commit failed, not an operation
    expect(e.message).toMatch(/op-p1/);
  });

  test('referential integrity violation on a dangling strong reference', async () => {
    const e = await failure(
      client.transact([
        nb.mutate(
          'Logical_Switch',
          [['name', '==', 'op-sw']],
          [['ports', 'insert', ['00000000-0000-4000-8000-000000000001']]],
        ),
      ]),
    );
    expect(e.error).toBe('referential integrity violation');
  });

  test('domain and range errors are reported for the operation', async () => {
    const e = await failure(
      client.transact([
        nb.insert('ACL', { priority: 99999, direction: 'to-lport', match: 'ip', action: 'drop' }),
      ]),
    );
    expect(e.error).toMatch(/constraint violation|range error|domain error/);
  });

  test('unknown table, unknown column and wrong types fail before sending', async () => {
    await expect(client.transact([{ op: 'insert', table: 'No_Such_Table', row: {} }])).rejects.toThrow(
      SchemaError,
    );
    await expect(
      client.transact([nb.insert('Logical_Switch', { name: 'x', bogus: 1 } as never)]),
    ).rejects.toThrow(/operation 0: unknown column Logical_Switch.bogus/);
    await expect(client.transact([nb.insert('Logical_Switch', { name: 5 } as never)])).rejects.toThrow(
      /Logical_Switch.name: expected a string/,
    );
    await expect(client.transact([nb.insert('Logical_Switch', { ports: ['not-a-uuid'] })])).rejects.toThrow(
      /expected a uuid/,
    );
    // nothing was written by any of them
    expect(await client.select('Logical_Switch', [['name', '==', 'x']])).toEqual([]);
  });

  test('list_dbs and echo', async () => {
    expect(await client.listDbs()).toEqual(expect.arrayContaining(['OVN_Northbound', '_Server']));
    await client.echo();
  });
});
