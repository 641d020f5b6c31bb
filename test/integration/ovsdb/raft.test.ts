// A 3-member Raft cluster of OVN_Northbound: the client talks to the leader only, follows it when the
// leader dies during a stream of writes, and every write ends up present exactly once.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Tables } from '../../../src/ovsdb/generated/ovn-nb.ts';
import { type Operation, Ops, OvsdbClient, type Replica } from '../../../src/ovsdb/index.ts';
import { eventually, useLab } from '../helpers.ts';

const ctx = useLab({ nbMembers: 3, sbMembers: 1, northd: false });
const nb = new Ops<Tables>();
const clients: OvsdbClient<Tables>[] = [];

async function connect(remotes: string[]): Promise<OvsdbClient<Tables>> {
  const c = await OvsdbClient.connect<Tables>({
    remotes,
    database: 'OVN_Northbound',
    probeIntervalMs: 1_000,
    backoffMaxMs: 500,
  });
  clients.push(c);
  return c;
}

beforeAll(() => undefined);
afterAll(() => {
  for (const c of clients) c.close();
});

describe('raft cluster', () => {
  test('connects to the leader even when a follower is listed first', async () => {
    const db = ctx.lab.central.nb;
    const leader = (await db.leader())!;
    const followers = db.servers.filter((s) => s !== leader);
    const c = await connect([...followers.map((s) => s.tcpRemote), leader.tcpRemote]);
    expect(c.remote).toBe(leader.tcpRemote);
    c.close();
  });

  test('leader killed during 500 writes: the client moves to the new leader; each write exactly once', async () => {
    const db = ctx.lab.central.nb;
    const client = await connect(db.servers.map((s) => s.tcpRemote));
    const replica: Replica<Tables> = await client.monitor({
      Logical_Switch: { columns: ['name', 'external_ids'] },
    });
    const resumes: boolean[] = [];
    client.on('monitor-reset', (_id: string, found: boolean) => resumes.push(found));
    const firstLeader = client.remote;
    const oldLeader = db.servers.find((s) => s.tcpRemote === firstLeader)!;
    const write = (i: number): Operation[] => [
      nb.waitAbsent('Logical_Switch', [['external_ids', 'includes', { 'write-id': String(i) }]]),
      nb.insert('Logical_Switch', { name: `w${i}`, external_ids: { 'write-id': String(i) } }),
    ];
    let alreadyApplied = 0;
    for (let i = 0; i < 500; i++) {
      if (i === 150) await oldLeader.kill('SIGKILL');
      const r = await client.transactIdempotent(write(i), { attempts: 50, timeoutMs: 5_000 });
      if (!r.applied) alreadyApplied++;
    }
    expect(client.remote).toBeDefined();
    expect(client.remote).not.toBe(firstLeader);
    expect(client.remote).toBe((await db.leader())?.tcpRemote);
    const rows = await client.select('Logical_Switch');
    const ids = rows.map((r) => Number(r.external_ids['write-id'])).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: 500 }, (_, i) => i));
    // at most the one write in flight when the leader died can have committed before its reply was lost
    expect(alreadyApplied).toBeLessThanOrEqual(1);
    await eventually(() => expect(replica.size('Logical_Switch')).toBe(500));
    // the clustered database keeps transaction history: the monitor resumed from its last txn id
    expect(resumes).toEqual([true]);
  }, 120_000);

  test('the killed member rejoins and the client keeps working', async () => {
    const db = ctx.lab.central.nb;
    await Promise.all(db.servers.map((s) => s.start()));
    const client = clients[clients.length - 1]!;
    await client.transact([nb.insert('Logical_Switch', { name: 'after-rejoin' })]);
    expect(await client.select('Logical_Switch', [['name', '==', 'after-rejoin']])).toHaveLength(1);
  });
});
