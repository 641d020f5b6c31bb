// The northbound reconcile engine against real NB and SB ovsdb-servers and a real ovn-northd: the state
// read back with ovn-nbctl is what the owners want, re-planning is a no-op, removed wants are removed.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PlanError } from '../../../src/controller/nb/plan.ts';
import { owners, podRows, subnetRows, vpcRows } from '../../../src/controller/nb/topology.ts';
import { NbWriter } from '../../../src/controller/nb/writer.ts';
import { run } from '../../../src/lab/proc.ts';
import type { Tables } from '../../../src/ovsdb/generated/ovn-nb.ts';
import { OvsdbClient } from '../../../src/ovsdb/index.ts';
import { eventually, useLab } from '../helpers.ts';

const ctx = useLab({ northd: true });
let client: OvsdbClient<Tables>;
let writer: NbWriter;

beforeAll(async () => {
  client = await OvsdbClient.connect<Tables>({
    remotes: ctx.lab.central.nb.unixRemotes,
    database: 'OVN_Northbound',
  });
  writer = await NbWriter.create(client);
});
afterAll(() => client?.close());

const vpc = { owner: owners.vpc('ovn-cluster'), desired: vpcRows({ name: 'ovn-cluster' }) };
const subnet = (gw = '10.16.0.1/16') => ({
  owner: owners.subnet('ovn-default'),
  desired: subnetRows({ name: 'ovn-default', router: 'ovn-cluster', gatewayCidrs: [gw] }),
});
const pod = (name: string, ip: string) => ({
  owner: owners.pod('default', name),
  desired: podRows({
    namespace: 'default',
    pod: name,
    subnet: 'ovn-default',
    mac: `0a:00:00:00:00:${ip.split('.')[3]!.padStart(2, '0')}`,
    ips: [ip],
    portSecurity: true,
  }),
});

const nbctl = (...args: string[]) => ctx.lab.nbctl(...args);
const sbPortBindings = async () =>
  (await run('ovn-sbctl', ['--bare', '--columns=logical_port', 'list', 'Port_Binding'], { env: ctx.lab.env }))
    .split('\n')
    .filter(Boolean)
    .sort();

describe('NbWriter', () => {
  test("Kube-OVN's default topology and two pods, in one transaction; ovn-nbctl reads it back; northd binds", async () => {
    const r = await writer.apply([vpc, subnet(), pod('a', '10.16.0.2'), pod('b', '10.16.0.3')]);
    expect(r.failed).toEqual([]);
    expect(await nbctl('lr-list')).toMatch(/\(ovn-cluster\)/);
    expect(await nbctl('get', 'Logical_Router', 'ovn-cluster', 'options:dynamic_neigh_routers')).toBe(
      '"true"',
    );
    expect((await nbctl('lrp-list', 'ovn-cluster')).trim()).toMatch(/\(ovn-cluster-ovn-default\)$/);
    expect(await nbctl('get', 'Logical_Router_Port', 'ovn-cluster-ovn-default', 'networks')).toBe(
      '["10.16.0.1/16"]',
    );
    const lsps = (await nbctl('lsp-list', 'ovn-default'))
      .split('\n')
      .map((l) => /\((.+)\)/.exec(l)?.[1])
      .sort();
    expect(lsps).toEqual(['a.default', 'b.default', 'ovn-default-ovn-cluster']);
    expect(await nbctl('lsp-get-addresses', 'a.default')).toBe('0a:00:00:00:00:02 10.16.0.2');
    expect(await nbctl('lsp-get-port-security', 'a.default')).toBe('0a:00:00:00:00:02 10.16.0.2');
    expect(await nbctl('get', 'Logical_Switch_Port', 'a.default', 'external_ids:pod')).toBe('"default/a"');
    expect(await nbctl('get', 'Logical_Switch_Port', 'a.default', 'external_ids:vendor')).toBe('kube-ovn');
    expect(await nbctl('lsp-get-options', 'ovn-default-ovn-cluster')).toBe(
      'router-port=ovn-cluster-ovn-default',
    );
    await eventually(async () =>
      expect(await sbPortBindings()).toEqual(
        expect.arrayContaining([
          'a.default',
          'b.default',
          'ovn-cluster-ovn-default',
          'ovn-default-ovn-cluster',
        ]),
      ),
    );
  });

  test('planning the same state again sends nothing', async () => {
    const r = await writer.apply([vpc, subnet(), pod('a', '10.16.0.2'), pod('b', '10.16.0.3')]);
    expect(r.ops).toBe(0);
  });

  test('a changed want updates only that row', async () => {
    const before = await nbctl('get', 'Logical_Router_Port', 'ovn-cluster-ovn-default', '_uuid');
    const r = await writer.apply([subnet('10.16.0.254/16')]);
    expect(r.ops).toBe(1);
    expect(await nbctl('get', 'Logical_Router_Port', 'ovn-cluster-ovn-default', 'networks')).toBe(
      '["10.16.0.254/16"]',
    );
    expect(await nbctl('get', 'Logical_Router_Port', 'ovn-cluster-ovn-default', '_uuid')).toBe(before);
    await writer.apply([subnet()]);
  });

  test('an owner that wants nothing any more has its rows removed (non-root rows detached)', async () => {
    await writer.apply([{ owner: owners.pod('default', 'b'), desired: [] }]);
    expect(await nbctl('--if-exists', 'get', 'Logical_Switch_Port', 'b.default', 'name')).toBe('');
    expect((await nbctl('lsp-list', 'ovn-default')).includes('b.default')).toBe(false);
    await eventually(async () => expect(await sbPortBindings()).not.toContain('b.default'));
  });

  test('a row of the same name that nobody owns is adopted, not duplicated', async () => {
    await nbctl(
      'lsp-add',
      'ovn-default',
      'c.default',
      '--',
      'lsp-set-addresses',
      'c.default',
      '0a:00:00:00:00:09 10.16.0.9',
    );
    // another client's write reaches our replica a moment later
    await eventually(() => expect(writer.replica.byName('Logical_Switch_Port', 'c.default')).toHaveLength(1));
    await writer.apply([pod('c', '10.16.0.4')]);
    expect(await nbctl('lsp-get-addresses', 'c.default')).toBe('0a:00:00:00:00:04 10.16.0.4');
    expect(await nbctl('get', 'Logical_Switch_Port', 'c.default', 'external_ids:"ovnk.io/owner"')).toBe(
      '"pod/default/c"',
    );
    expect(
      (await nbctl('--bare', '--columns=name', 'find', 'Logical_Switch_Port', 'name=c.default')).trim(),
    ).toBe('c.default');
  });

  test('an ACL whose id changes is replaced, not adopted by its shared name and then dropped', async () => {
    // every ACL of a NetworkPolicy carries the policy's name; a rule whose port turns from named to numbered
    // gets a new row id, and its new ACL must not take over (and then remove) the old one
    const acl = (id: string, match: string) => ({
      table: 'ACL',
      id,
      columns: { name: 'default/web', direction: 'to-lport', priority: 2001, match, action: 'allow-related' },
      parent: { table: 'Port_Group', id: 'pg/web', column: 'acls' },
    });
    const policy = (...acls: ReturnType<typeof acl>[]) => ({
      owner: 'np/default/web',
      desired: [{ table: 'Port_Group', id: 'pg/web', columns: { name: 'np.web.default' } }, ...acls],
    });
    const matches = async () =>
      (await nbctl('--bare', '--columns=match', 'find', 'ACL', 'name="default/web"'))
        .split('\n')
        .filter(Boolean)
        .sort();
    expect(
      (await writer.apply([policy(acl('acl/0/0/8080', 'outport == @np.web.default && tcp.dst == 8080'))]))
        .failed,
    ).toEqual([]);
    expect(await matches()).toEqual(['outport == @np.web.default && tcp.dst == 8080']);
    expect(
      (await writer.apply([policy(acl('acl/0/0', 'outport == @np.web.default && tcp.dst == 9090'))])).failed,
    ).toEqual([]);
    expect(await matches()).toEqual(['outport == @np.web.default && tcp.dst == 9090']);
    expect(await nbctl('--bare', '--columns=external_ids', 'find', 'ACL', 'name="default/web"')).toContain(
      'ovnk.io/id=acl/0/0 ',
    );
    await writer.apply([{ owner: 'np/default/web', desired: [] }]);
    expect(await matches()).toEqual([]);
  });

  test('conflicts and missing parents are reported per owner; the rest of the batch is applied', async () => {
    const thief = {
      owner: 'pod/other/c',
      desired: podRows({
        namespace: 'default',
        pod: 'c',
        subnet: 'ovn-default',
        mac: '0a:00:00:00:00:05',
        ips: ['10.16.0.5'],
        portSecurity: true,
      }),
    };
    const orphan = {
      owner: owners.pod('default', 'lost'),
      desired: podRows({
        namespace: 'default',
        pod: 'lost',
        subnet: 'no-such-subnet',
        mac: '0a:00:00:00:00:06',
        ips: ['10.16.0.6'],
        portSecurity: true,
      }),
    };
    const r = await writer.apply([thief, orphan, pod('d', '10.16.0.7')]);
    expect(r.failed.map((f) => [f.owner, f.error.code])).toEqual([
      ['pod/other/c', 'NB_NAME_TAKEN'],
      ['pod/default/lost', 'NB_PARENT_MISSING'],
    ]);
    expect(r.failed[0]!.error).toBeInstanceOf(PlanError);
    expect(await nbctl('lsp-get-addresses', 'd.default')).toBe('0a:00:00:00:00:07 10.16.0.7');
    expect(await nbctl('lsp-get-addresses', 'c.default')).toBe('0a:00:00:00:00:04 10.16.0.4');
  });

  test('200 pods in one batch: one transaction, one mutation of the switch', async () => {
    const batch = Array.from({ length: 200 }, (_, i) => pod(`p${i}`, `10.16.1.${i}`));
    const r = await writer.apply(batch);
    expect(r.failed).toEqual([]);
    expect(r.ops).toBe(200 + 1); // 200 inserts + one mutate of Logical_Switch.ports
    expect(
      (await nbctl('lsp-list', 'ovn-default')).split('\n').filter((l) => l.includes('.default')).length,
    ).toBe(200 + 3);
  });

  test('concurrent calls share transactions; a call the server refuses fails alone', async () => {
    const sent: number[] = [];
    const transact = client.transact.bind(client);
    client.transact = ((ops: Parameters<typeof transact>[0]) => {
      sent.push(ops.length);
      return transact(ops);
    }) as typeof client.transact;
    try {
      // priority 40000 is outside the ACL column's range: only the server finds that out
      const bad = {
        owner: 'test/bad-acl',
        desired: [
          {
            table: 'ACL' as const,
            id: 'acl/bad',
            columns: {
              direction: 'to-lport',
              priority: 40000,
              match: 'ip',
              action: 'drop',
              external_ids: {},
            },
            parent: { table: 'Logical_Switch' as const, id: 'ls/ovn-default', column: 'acls' },
          },
        ],
      };
      const calls = [
        writer.apply([pod('g1', '10.16.0.31')]),
        writer.apply([pod('g2', '10.16.0.32')]),
        writer.apply([bad]),
        writer.apply([pod('g3', '10.16.0.33')]),
      ];
      const settled = await Promise.allSettled(calls);
      expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      // the first call went alone; the three that queued behind it shared one (refused) transaction,
      // then went one by one
      expect(sent.length).toBe(5);
      for (const name of ['g1', 'g2', 'g3'])
        expect(
          await nbctl('--bare', '--columns=name', 'find', 'Logical_Switch_Port', `name=${name}.default`),
        ).toBe(`${name}.default`);
      expect(await nbctl('acl-list', 'ovn-default')).toBe('');
    } finally {
      client.transact = transact;
      await writer.apply(['g1', 'g2', 'g3'].map((n) => ({ owner: owners.pod('default', n), desired: [] })));
    }
  });

  test('deleting the subnet owner removes the switch with its ports and the router port', async () => {
    const podOwners = [...writer.owners()].filter((o) => o.startsWith('pod/'));
    await writer.apply([
      ...podOwners.map((owner) => ({ owner, desired: [] })),
      { owner: owners.subnet('ovn-default'), desired: [] },
    ]);
    expect(await nbctl('ls-list')).toBe('');
    expect(await nbctl('lrp-list', 'ovn-cluster')).toBe('');
    expect(await nbctl('--bare', '--columns=name', 'list', 'Logical_Switch_Port')).toBe('');
    expect([...writer.owners()]).toEqual([owners.vpc('ovn-cluster')]);
  });
});
