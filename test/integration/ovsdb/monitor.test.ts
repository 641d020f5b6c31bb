// The monitor-fed replica against a real server: after many random transactions it equals a fresh select.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LogicalSwitch, Tables } from '../../../src/ovsdb/generated/ovn-nb.ts';
import {
  type Change,
  named,
  type Operation,
  Ops,
  OvsdbClient,
  type Replica,
} from '../../../src/ovsdb/index.ts';
import { eventually, useLab } from '../helpers.ts';

const ctx = useLab({ northd: false });
const nb = new Ops<Tables>();
let writer: OvsdbClient<Tables>;
let watcher: OvsdbClient<Tables>;

beforeAll(async () => {
  const server = ctx.lab.central.nb.servers[0]!;
  writer = await OvsdbClient.connect<Tables>({ remotes: server.tcpRemote, database: 'OVN_Northbound' });
  watcher = await OvsdbClient.connect<Tables>({ remotes: server.unixRemote, database: 'OVN_Northbound' });
});
afterAll(() => {
  writer?.close();
  watcher?.close();
});

/** Deterministic PRNG so a failure can be replayed. */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TABLES = ['Logical_Switch', 'Logical_Switch_Port', 'Address_Set'] as const;

async function snapshot(source: 'replica' | 'select', replica: Replica<Tables>) {
  const out: Record<string, Record<string, unknown>> = {};
  for (const t of TABLES) {
    const rows = source === 'replica' ? replica.list(t) : await writer.select(t);
    const byUuid: Record<string, unknown> = {};
    for (const r of rows) {
      const rest = r as { _uuid: string };
      byUuid[rest._uuid] = normalise(rest);
    }
    out[t] = byUuid;
  }
  return out;
}

/** Sets compare as sorted arrays. */
function normalise(row: Record<string, unknown>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) o[k] = Array.isArray(v) ? [...v].sort() : v;
  return o;
}

describe('replica', () => {
  test('equals a fresh select after 1000 random transactions', async () => {
    const replica = await watcher.monitor({ Logical_Switch: {}, Logical_Switch_Port: {}, Address_Set: {} });
    const rnd = prng(20261122);
    const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(rnd() * xs.length)];
    let seq = 0;
    for (let i = 0; i < 1000; i++) {
      const switches = writer.schema && replica.list('Logical_Switch');
      const sw = pick(switches);
      const ops: Operation[] = [];
      const r = rnd();
      if (!sw || r < 0.15) {
        ops.push(nb.insert('Logical_Switch', { name: `ls${seq++}`, external_ids: { k: String(i) } }));
      } else if (r < 0.35) {
        ops.push(
          nb.insert(
            'Logical_Switch_Port',
            { name: `lsp${seq++}`, addresses: [`00:00:00:00:${(i % 256).toString(16).padStart(2, '0')}:01`] },
            { uuidName: 'p' },
          ),
          nb.mutate('Logical_Switch', [['_uuid', '==', sw._uuid]], [['ports', 'insert', [named('p')]]]),
        );
      } else if (r < 0.45 && sw.ports.length > 0) {
        ops.push(
          nb.mutate('Logical_Switch', [['_uuid', '==', sw._uuid]], [['ports', 'delete', [pick(sw.ports)!]]]),
        );
      } else if (r < 0.6) {
        const key = `k${Math.floor(rnd() * 4)}`;
        const mut = rnd() < 0.5 ? 'insert' : 'delete';
        ops.push(
          nb.mutate(
            'Logical_Switch',
            [['_uuid', '==', sw._uuid]],
            [['external_ids', mut, { [key]: String(i) }]],
          ),
        );
      } else if (r < 0.7) {
        // replace a whole map and an optional column
        ops.push(
          nb.update('Logical_Switch', [['_uuid', '==', sw._uuid]], {
            other_config: rnd() < 0.5 ? {} : { subnet: `10.${i % 250}.0.0/24`, mtu: '1400' },
          }),
        );
      } else if (r < 0.8) {
        const lsp = pick(replica.list('Logical_Switch_Port'));
        if (lsp) {
          ops.push(
            nb.update('Logical_Switch_Port', [['_uuid', '==', lsp._uuid]], {
              enabled: rnd() < 0.3 ? null : rnd() < 0.5,
              tag_request: rnd() < 0.5 ? null : Math.floor(rnd() * 4095),
              addresses:
                rnd() < 0.5
                  ? ['router']
                  : ['dynamic', `00:00:00:00:00:${(i % 99).toString().padStart(2, '0')}`],
            }),
          );
        }
      } else if (r < 0.9) {
        ops.push(
          nb.insert('Address_Set', { name: `as${seq++}`, addresses: [`10.0.0.${i % 250}`] }),
          nb.mutate('Address_Set', [], [['addresses', 'insert', [`10.1.0.${i % 250}`]]]),
        );
      } else if (r < 0.95) {
        ops.push(nb.delete('Logical_Switch', [['_uuid', '==', sw._uuid]]));
      } else {
        ops.push(nb.delete('Address_Set', [['name', '==', `as${Math.floor(rnd() * seq)}`]]));
      }
      if (ops.length) await writer.transact(ops);
    }
    await eventually(async () => {
      const [mine, theirs] = [await snapshot('replica', replica), await snapshot('select', replica)];
      for (const t of TABLES) {
        for (const u of new Set([...Object.keys(mine[t]!), ...Object.keys(theirs[t]!)])) {
          expect({ t, u, row: mine[t]![u] }).toEqual({ t, u, row: theirs[t]![u] });
        }
      }
    });
    expect(replica.size('Logical_Switch')).toBeGreaterThan(10);
    expect(replica.size('Logical_Switch_Port')).toBeGreaterThan(10);
    await watcher.cancelMonitor(replica);
  }, 120_000);

  test('emits insert, update and delete with old and new rows; indexes follow', async () => {
    const replica = await watcher.monitor({ Logical_Switch: { columns: ['name', 'external_ids'] } });
    const changes: Change<LogicalSwitch>[] = [];
    replica.onTableChange('Logical_Switch', (c) => {
      if ((c.row ?? c.old)?.name === 'ev-sw') changes.push(c);
    });
    const [ins] = await writer.transact([
      nb.insert('Logical_Switch', { name: 'ev-sw', external_ids: { pod: 'a' } }),
    ]);
    // the server sends a client's own update before the reply, but this is another client: wait for it
    await eventually(() => expect(replica.byExternalId('Logical_Switch', 'pod', 'a')).toHaveLength(1));
    await writer.transact([
      // a map insert keeps existing keys: replace the value by delete + insert
      nb.mutate(
        'Logical_Switch',
        [['name', '==', 'ev-sw']],
        [
          ['external_ids', 'delete', ['pod']],
          ['external_ids', 'insert', { pod: 'b' }],
        ],
      ),
    ]);
    await eventually(() => expect(replica.byExternalId('Logical_Switch', 'pod', 'b')).toHaveLength(1));
    expect(replica.byExternalId('Logical_Switch', 'pod', 'a')).toHaveLength(0);
    await writer.transact([nb.delete('Logical_Switch', [['name', '==', 'ev-sw']])]);
    await eventually(() => expect(replica.byName('Logical_Switch', 'ev-sw')).toHaveLength(0));
    expect(changes.map((c) => c.kind)).toEqual(['insert', 'update', 'delete']);
    expect(changes[1]!.old?.external_ids).toEqual({ pod: 'a' });
    expect(changes[1]!.row?.external_ids).toEqual({ pod: 'b' });
    expect(changes[2]!.old?._uuid).toBe(ins?.uuid);
    // only the monitored columns are held
    expect(Object.keys(changes[0]!.row!).sort()).toEqual(['_uuid', 'external_ids', 'name']);
    await watcher.cancelMonitor(replica);
  });

  test('a conditional monitor holds only matching rows', async () => {
    const replica = await watcher.monitor({
      Logical_Router: { where: [['external_ids', 'includes', { vendor: 'kube-ovn' }]] },
    });
    await writer.transact([
      nb.insert('Logical_Router', { name: 'cond-ours', external_ids: { vendor: 'kube-ovn' } }),
      nb.insert('Logical_Router', { name: 'cond-theirs' }),
    ]);
    await eventually(() => expect(replica.byName('Logical_Router', 'cond-ours')).toHaveLength(1));
    expect(replica.byName('Logical_Router', 'cond-theirs')).toHaveLength(0);
    await watcher.cancelMonitor(replica);
  });

  test('the writer sees its own change in its replica when the reply arrives', async () => {
    const replica = await writer.monitor({ Logical_Router: { columns: ['name'] } });
    await writer.transact([nb.insert('Logical_Router', { name: 'own-write' })]);
    expect(replica.byName('Logical_Router', 'own-write')).toHaveLength(1);
    await writer.cancelMonitor(replica);
  });

  test('a monitor on an unknown table or column is refused before sending', async () => {
    await expect(watcher.monitor({ Nope: {} } as never)).rejects.toThrow(/unknown table Nope/);
    await expect(watcher.monitor({ Logical_Switch: { columns: ['nope' as never] } })).rejects.toThrow(
      /unknown column Logical_Switch.nope/,
    );
  });
});
