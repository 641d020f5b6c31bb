// What the client writes, ovn-nbctl / ovs-vsctl read back identically, and the reverse.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Tables as OvsTables } from '../../../src/ovsdb/generated/open-vswitch.ts';
import type { Tables as NbTables } from '../../../src/ovsdb/generated/ovn-nb.ts';
import { named, Ops, OvsdbClient, type Replica } from '../../../src/ovsdb/index.ts';
import { eventually, useLab } from '../helpers.ts';

const ctx = useLab({ northd: true, nodes: 1 });
const nb = new Ops<NbTables>();
let client: OvsdbClient<NbTables>;
let replica: Replica<NbTables>;

beforeAll(async () => {
  client = await OvsdbClient.connect<NbTables>({
    remotes: ctx.lab.central.nb.unixRemotes,
    database: 'OVN_Northbound',
  });
  replica = await client.monitor({ Logical_Switch: {}, Logical_Switch_Port: {}, Logical_Router: {} });
});
afterAll(() => client?.close());

/** `ovn-nbctl --format=json list TABLE` as rows keyed by column name, values in ovsdb JSON. */
async function nbctlList(table: string): Promise<Record<string, unknown>[]> {
  const out = JSON.parse(await ctx.lab.nbctl('--format=json', 'list', table)) as {
    headings: string[];
    data: unknown[][];
  };
  return out.data.map((row) => Object.fromEntries(out.headings.map((h, i) => [h, row[i]])));
}

/** ovsdb JSON ("set"/"map"/"uuid" tagged) to the client's decoded form, for comparison. */
function plain(v: unknown): unknown {
  if (!Array.isArray(v)) return v;
  if (v[0] === 'uuid') return v[1];
  if (v[0] === 'set') return (v[1] as unknown[]).map(plain).sort();
  if (v[0] === 'map')
    return Object.fromEntries((v[1] as [unknown, unknown][]).map(([k, x]) => [plain(k), plain(x)]));
  return v;
}

describe('northbound cross-check with ovn-nbctl', () => {
  test('rows written by the client read back identically through ovn-nbctl', async () => {
    await client.transact([
      nb.insert(
        'Logical_Switch_Port',
        {
          name: 'xc-pod.ns',
          addresses: ['0a:00:00:00:00:05 10.16.0.5'],
          port_security: ['0a:00:00:00:00:05 10.16.0.5'],
          external_ids: { vendor: 'kube-ovn', pod: 'ns/xc-pod', ls: 'xc-sw' },
          options: { 'requested-chassis': 'node1' },
          enabled: true,
          tag_request: 7,
        },
        { uuidName: 'p' },
      ),
      nb.insert('Logical_Switch', {
        name: 'xc-sw',
        ports: [named('p')],
        other_config: { subnet: '10.16.0.0/16' },
      }),
    ]);
    // northd fills in some columns (tag from tag_request) a moment later: compare once both settle
    await ctx.lab.nbctl('--wait=sb', 'sync');
    await eventually(async () => {
      const mine = replica.byName('Logical_Switch_Port', 'xc-pod.ns')[0]!;
      const [theirs] = (await nbctlList('Logical_Switch_Port')).filter((r) => r.name === 'xc-pod.ns');
      expect(theirs).toBeDefined();
      for (const [col, value] of Object.entries(theirs!)) {
        const actual = (mine as Record<string, unknown>)[col];
        let expected = plain(value);
        // ovsdb JSON writes a one-element set as the bare element and an empty optional as an empty set
        if (Array.isArray(actual) && !Array.isArray(expected)) expected = [expected];
        if (actual === null && Array.isArray(expected) && expected.length === 0) expected = null;
        expect({ col, value: Array.isArray(actual) ? [...actual].sort() : actual }).toEqual({
          col,
          value: expected,
        });
      }
      expect(mine.tag).toBe(7);
    });
    expect(await ctx.lab.nbctl('lsp-get-addresses', 'xc-pod.ns')).toBe('0a:00:00:00:00:05 10.16.0.5');
    expect(await ctx.lab.nbctl('get', 'Logical_Switch', 'xc-sw', 'other_config:subnet')).toBe(
      '"10.16.0.0/16"',
    );
  });

  test('what ovn-nbctl writes arrives in the replica identically', async () => {
    await ctx.lab.nbctl(
      'lr-add',
      'xc-lr',
      '--',
      'set',
      'Logical_Router',
      'xc-lr',
      'options:mac_binding_age_threshold=300',
      'external_ids:vendor=kube-ovn',
      '--',
      'lsp-add',
      'xc-sw',
      'xc-sw-xc-lr',
      '--',
      'lsp-set-type',
      'xc-sw-xc-lr',
      'router',
      '--',
      'lsp-set-addresses',
      'xc-sw-xc-lr',
      'router',
    );
    await eventually(() => expect(replica.byName('Logical_Router', 'xc-lr')).toHaveLength(1));
    const lr = replica.byName('Logical_Router', 'xc-lr')[0]!;
    expect(lr.options).toEqual({ mac_binding_age_threshold: '300' });
    expect(lr.external_ids).toEqual({ vendor: 'kube-ovn' });
    await eventually(() => expect(replica.byName('Logical_Switch_Port', 'xc-sw-xc-lr')).toHaveLength(1));
    const lsp = replica.byName('Logical_Switch_Port', 'xc-sw-xc-lr')[0]!;
    expect(lsp.type).toBe('router');
    expect(lsp.addresses).toEqual(['router']);
    const sw = replica.byName('Logical_Switch', 'xc-sw')[0]!;
    expect(sw.ports).toContain(lsp._uuid);
    // and every row the replica holds matches ovn-nbctl's view
    const theirs = await nbctlList('Logical_Router');
    expect(theirs.map((r) => plain(r._uuid)).sort()).toEqual(
      replica
        .list('Logical_Router')
        .map((r) => r._uuid)
        .sort(),
    );
  });
});

describe('Open_vSwitch cross-check with ovs-vsctl on a node', () => {
  test('a port added through the client is seen by ovs-vsctl, and ovs-vsctl changes reach the client', async () => {
    const node = ctx.lab.chassis[0]!;
    const ovs = await OvsdbClient.connect<OvsTables>({
      remotes: `unix:${node.ovsSock}`,
      database: 'Open_vSwitch',
    });
    try {
      const o = new Ops<OvsTables>();
      const ovsReplica = await ovs.monitor({ Bridge: { columns: ['name', 'ports'] }, Interface: {} });
      const brInt = ovsReplica.byName('Bridge', 'br-int')[0]!;
      await ovs.transact([
        o.insert(
          'Interface',
          { name: 'xc-if', type: 'internal', external_ids: { 'iface-id': 'xc-pod.ns' } },
          { uuidName: 'i' },
        ),
        o.insert('Port', { name: 'xc-if', interfaces: [named('i')] }, { uuidName: 'p' }),
        o.mutate('Bridge', [['_uuid', '==', brInt._uuid]], [['ports', 'insert', [named('p')]]]),
      ]);
      expect((await node.vsctl('list-ports', 'br-int')).split('\n')).toContain('xc-if');
      expect(await node.vsctl('get', 'Interface', 'xc-if', 'external_ids:iface-id')).toBe('xc-pod.ns');
      // ovs-vswitchd creates the tap and reports it; ovn-controller claims the port it is bound to
      await node.vsctl('set', 'Interface', 'xc-if', 'external_ids:marker=from-vsctl');
      await eventually(() =>
        expect(ovsReplica.byName('Interface', 'xc-if')[0]?.external_ids.marker).toBe('from-vsctl'),
      );
      await eventually(() => expect(ovsReplica.byName('Interface', 'xc-if')[0]?.ofport).toBeGreaterThan(0));
      await node.vsctl('del-port', 'br-int', 'xc-if');
      await eventually(() => expect(ovsReplica.byName('Interface', 'xc-if')).toHaveLength(0));
    } finally {
      ovs.close();
    }
  });
});
