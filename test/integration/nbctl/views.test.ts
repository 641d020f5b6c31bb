// The ovn-nbctl views served from a replica against the real ovn-nbctl 23.03 on the same northbound:
// a Kube-OVN-like topology (two routers peered, switches with router ports and pods, a localnet, routes,
// policies, ACLs on switches and a port group, load balancers) built with ovn-nbctl itself, then every
// view for every object compared byte for byte. Where ovn-nbctl's order comes from its IDL's hash table
// (show without argument, lb-list with equal 16-character names, list/find rows) the comparison is of
// the same blocks as a multiset.
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ViewError } from '../../../src/nbctl/errors.ts';
import type { PortDetail } from '../../../src/nbctl/port.ts';
import type { RouteList } from '../../../src/nbctl/routes.ts';
import type { ShowModel } from '../../../src/nbctl/show.ts';
import { runView } from '../../../src/nbctl/views.ts';
import type { Tables } from '../../../src/ovsdb/generated/ovn-nb.ts';
import { type MonitorSpec, OvsdbClient, type Replica } from '../../../src/ovsdb/index.ts';
import { eventually, useLab } from '../helpers.ts';

const ctx = useLab({ northd: true });
let client: OvsdbClient<Tables>;
let replica: Replica<Tables>;

interface Run {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** ovn-nbctl with its output untouched (execa would strip the final newline). */
async function nbctl(args: string[]): Promise<Run> {
  const r = await execa('ovn-nbctl', ['--timeout=20', ...args], {
    env: ctx.lab.env,
    stripFinalNewline: false,
    reject: false,
  });
  return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 };
}

async function nb(...args: string[]): Promise<string> {
  const r = await nbctl(args);
  if (r.exitCode !== 0) throw new Error(`ovn-nbctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Our text for an ovn-nbctl command line ([--opt=..., view, args...]). */
function ours(argv: string[]): string {
  const options = argv.filter((a) => a.startsWith('--'));
  const [name, ...args] = argv.filter((a) => !a.startsWith('--'));
  return runView(replica, name!, [...options, ...args], 'text');
}

/** The records of list/find output, sorted (ovn-nbctl lists rows in hash order). */
function records(text: string): string[] {
  return text
    .split('\n\n')
    .filter((r) => r.trim() !== '')
    .map((r) => (r.endsWith('\n') ? r : `${r}\n`))
    .sort();
}

const json = <T>(name: string, ...args: string[]) => runView(replica, name, args, 'json') as T;

/** Blocks that start at lines matching re, sorted: for output whose block order is ovn-nbctl's hash order. */
function blocks(text: string, re: RegExp): string[] {
  const out: string[] = [];
  for (const line of text.split(/(?<=\n)/)) {
    if (re.test(line) || out.length === 0) out.push(line);
    else out[out.length - 1] += line;
  }
  return out.sort();
}

const SWITCHES = ['ovn-default', 'join', 'sw-a1', 'sw-a2', 'external'];
const ROUTERS = ['ovn-cluster', 'vpc-a'];
const LBS = [
  'svc-dns',
  'svc-web',
  'svc-v6',
  'svc-noport',
  'a-very-long-load-balancer-name',
  'a-very-long-load-2',
];

/** Kube-OVN's shape: ovn-cluster with the default and join subnets, a tenant VPC peered with it. */
const TOPOLOGY: string[][] = [
  ['lr-add', 'ovn-cluster'],
  ['lr-add', 'vpc-a'],
  ['set', 'Logical_Router', 'vpc-a', 'external_ids:"neutron:router_name"=tenant-a'],
  ['ls-add', 'ovn-default'],
  ['ls-add', 'join'],
  ['ls-add', 'sw-a1', '--', 'set', 'Logical_Switch', 'sw-a1', 'external_ids:"neutron:network_name"=net-a1'],
  ['ls-add', 'sw-a2'],
  ['ls-add', 'external'],
  [
    'set',
    'Logical_Switch',
    'ovn-default',
    'other_config:subnet=10.16.0.0/16',
    'other_config:exclude_ips=10.16.0.1',
  ],
  [
    'lrp-add',
    'ovn-cluster',
    'ovn-cluster-ovn-default',
    '00:00:00:00:01:01',
    '10.16.0.1/16',
    'fd00:10:16::1/64',
  ],
  ['lrp-add', 'ovn-cluster', 'ovn-cluster-join', '00:00:00:00:01:64', '100.64.0.1/16'],
  ['lrp-add', 'vpc-a', 'vpc-a-sw-a1', '00:00:00:00:0a:01', '192.168.1.1/24'],
  ['lrp-add', 'vpc-a', 'vpc-a-sw-a2', '00:00:00:00:0a:02', '192.168.2.1/24'],
  // the peering pair
  [
    'lrp-add',
    'ovn-cluster',
    'ovn-cluster-vpc-a',
    '00:00:00:00:0f:01',
    '169.254.0.1/30',
    'peer=vpc-a-ovn-cluster',
  ],
  ['lrp-add', 'vpc-a', 'vpc-a-ovn-cluster', '00:00:00:00:0f:02', '169.254.0.2/30', 'peer=ovn-cluster-vpc-a'],
  ['lrp-set-options', 'vpc-a-sw-a2', 'route_table=rtb-a2'],
  ['lrp-set-gateway-chassis', 'ovn-cluster-join', 'gw-node1', '10'],
  ['lrp-set-gateway-chassis', 'ovn-cluster-join', 'gw-node2', '20'],
  ...[
    ['ovn-default', 'ovn-cluster'],
    ['join', 'ovn-cluster'],
    ['sw-a1', 'vpc-a'],
    ['sw-a2', 'vpc-a'],
  ].map(([ls, lr]) => {
    const p = `${ls}-${lr}`;
    return [
      ...['lsp-add', ls!, p, '--', 'lsp-set-type', p, 'router', '--', 'lsp-set-addresses', p, 'router'],
      ...['--', 'lsp-set-options', p, `router-port=${lr}-${ls}`],
    ];
  }),
  [
    'lsp-add',
    'ovn-default',
    'pod1.ns1',
    '--',
    'lsp-set-addresses',
    'pod1.ns1',
    '0a:00:00:10:00:0a 10.16.0.10',
  ],
  ['lsp-set-port-security', 'pod1.ns1', '0a:00:00:10:00:0a 10.16.0.10'],
  [
    'set',
    'Logical_Switch_Port',
    'pod1.ns1',
    'external_ids:"neutron:port_name"=p1',
    'external_ids:pod=ns1/pod1',
  ],
  ['lsp-add', 'ovn-default', 'pod2.ns1'],
  ['lsp-set-addresses', 'pod2.ns1', '0a:00:00:10:00:0b 10.16.0.11 fd00:10:16::b'],
  ['lsp-set-port-security', 'pod2.ns1', '0a:00:00:10:00:0b 10.16.0.11 fd00:10:16::b'],
  // dynamic addresses, filled in by ovn-northd from the switch's subnet
  ['lsp-add', 'ovn-default', 'pod3.ns2', '--', 'lsp-set-addresses', 'pod3.ns2', 'dynamic'],
  [
    'lsp-add',
    'ovn-default',
    'pod4.ns2',
    '--',
    'lsp-set-addresses',
    'pod4.ns2',
    '0a:00:00:10:00:44 dynamic',
    'unknown',
  ],
  ['lsp-add', 'ovn-default', 'child1', 'pod1.ns1', '42'],
  ['lsp-add', 'join', 'node-node1', '--', 'lsp-set-addresses', 'node-node1', '00:00:00:bb:00:01 100.64.0.2'],
  ['lsp-add', 'sw-a1', 'pa1', '--', 'lsp-set-addresses', 'pa1', '0a:00:00:a1:00:05 192.168.1.5'],
  ['lsp-add', 'sw-a2', 'pa2', '--', 'lsp-set-addresses', 'pa2', '0a:00:00:a2:00:05 192.168.2.5'],
  ['lsp-set-options', 'pa2', 'requested-chassis=node1', 'iface-id-ver=7', 'mcast_flood=true'],
  ['lsp-set-enabled', 'pa2', 'disabled'],
  ['lsp-add', 'external', 'ln-external', '--', 'lsp-set-type', 'ln-external', 'localnet'],
  [
    'lsp-set-addresses',
    'ln-external',
    'unknown',
    '--',
    'lsp-set-options',
    'ln-external',
    'network_name=physnet1',
  ],
  ['lr-nat-add', 'ovn-cluster', 'snat', '172.18.0.10', '10.16.0.0/16'],
  ['lr-nat-add', 'ovn-cluster', 'dnat_and_snat', '172.18.0.11', '10.16.0.10'],
  ['--portrange', 'lr-nat-add', 'ovn-cluster', 'snat', '172.18.0.12', '10.17.0.0/16', '1000-2000'],
  // routes: dst-ip and src-ip, IPv4 and IPv6, ECMP, discard, output port, symmetric reply, BFD, tables
  ['lr-route-add', 'ovn-cluster', '0.0.0.0/0', '100.64.0.254'],
  ['--policy=src-ip', 'lr-route-add', 'ovn-cluster', '10.16.0.0/16', '100.64.0.2'],
  ['lr-route-add', 'ovn-cluster', '192.168.0.0/16', '169.254.0.2'],
  ['lr-route-add', 'ovn-cluster', '::/0', 'fd00:100::1'],
  ['lr-route-add', 'ovn-cluster', 'fd00:20::/64', 'fd00:100::2'],
  ['--ecmp', 'lr-route-add', 'vpc-a', '10.0.0.0/8', '169.254.0.1'],
  ['--ecmp', 'lr-route-add', 'vpc-a', '10.0.0.0/8', '169.254.0.5'],
  ['lr-route-add', 'vpc-a', '192.168.100.0/24', 'discard'],
  ['lr-route-add', 'vpc-a', '172.16.0.0/16', '169.254.0.1', 'vpc-a-ovn-cluster'],
  ['--ecmp-symmetric-reply', 'lr-route-add', 'vpc-a', '172.17.0.0/16', '169.254.0.9'],
  ['--bfd', 'lr-route-add', 'vpc-a', '172.30.0.0/16', '169.254.0.1', 'vpc-a-ovn-cluster'],
  ['--route-table=rtb-a2', 'lr-route-add', 'vpc-a', '0.0.0.0/0', '192.168.2.254'],
  ['lr-route-add', 'vpc-a', '10.1.2.3', '169.254.0.1'],
  // policies: allow, drop, reroute to one and to several nexthops, with options
  ['lr-policy-add', 'ovn-cluster', '31000', 'ip4.dst == 10.16.0.0/16', 'allow'],
  ['lr-policy-add', 'ovn-cluster', '30000', 'ip4.dst == 192.168.1.0/24', 'reroute', '169.254.0.2'],
  [
    'lr-policy-add',
    'ovn-cluster',
    '29000',
    'ip4.src == 10.16.0.10',
    'reroute',
    '100.64.0.2,100.64.0.3',
    'pkt_mark=100',
  ],
  ['lr-policy-add', 'ovn-cluster', '29000', 'ip4.src == 10.16.0.11', 'drop'],
  ['lr-policy-add', 'ovn-cluster', '1000', 'ip4.dst == 1.1.1.1', 'drop'],
  [
    'lr-policy-add',
    'vpc-a',
    '2000',
    'ip4.src == 192.168.1.0/24',
    'allow',
    'pkt_mark=7',
    'chain=x',
    'abc=1',
    'zeta=2',
  ],
  // ACLs on a switch (log, meter, label, after-lb) and on a port group
  ['acl-add', 'ovn-default', 'to-lport', '1000', 'outport == "pod1.ns1" && ip4.src == 10.16.0.11', 'drop'],
  [
    '--log',
    '--name=allow-dns',
    '--severity=info',
    'acl-add',
    'ovn-default',
    'from-lport',
    '1001',
    'udp.dst == 53',
    'allow-related',
  ],
  ['--apply-after-lb', 'acl-add', 'ovn-default', 'from-lport', '1002', 'ip4', 'allow'],
  ['--label=1234', 'acl-add', 'ovn-default', 'to-lport', '900', 'ip6', 'allow'],
  ['meter-add', 'm1', 'drop', '10', 'pktps'],
  ['--log', '--meter=m1', 'acl-add', 'ovn-default', 'to-lport', '1000', 'ip4.dst == 10.16.0.99', 'reject'],
  ['pg-add', 'pg.np', 'pod1.ns1', 'pod2.ns1'],
  ['acl-add', 'pg.np', 'from-lport', '2000', 'inport == @pg.np && ip4', 'allow-related'],
  ['acl-add', 'pg.np', 'to-lport', '2000', 'outport == @pg.np && ip4.src == $as.np', 'allow-related'],
  // load balancers: several VIPs, UDP, IPv6, no port, and two names alike in their first 16 characters
  ['lb-add', 'svc-dns', '10.96.0.10:53', '10.16.0.10:53,10.16.0.11:53', 'udp'],
  ['lb-add', 'svc-dns', '10.96.0.11:53', '10.16.0.12:53', 'udp'],
  ['lb-add', 'svc-web', '10.96.0.20:80', '10.16.0.10:8080'],
  ['lb-add', 'svc-web', '10.96.0.21:443', '10.16.0.10:8443,10.16.0.11:8443'],
  ['lb-add', 'svc-v6', '[fd00:96::10]:80', '[fd00:10:16::b]:8080'],
  ['lb-add', 'svc-noport', '10.96.0.30', '10.16.0.10'],
  ['lb-add', 'a-very-long-load-balancer-name', '10.96.0.40:80', '10.16.0.10:80'],
  ['lb-add', 'a-very-long-load-2', '10.96.0.41:8080', '10.16.0.11:80'],
  // a VIP ovn-nbctl cannot parse sorts first: it is left out, and so is its line's prefix
  ['lb-add', 'svc-odd', '10.96.0.50:80', '10.16.0.10:80'],
  ['set', 'Load_Balancer', 'svc-odd', 'vips:"+bad"="10.16.0.10:80"'],
  ['ls-lb-add', 'ovn-default', 'svc-dns'],
  ['ls-lb-add', 'ovn-default', 'svc-web'],
  ['ls-lb-add', 'sw-a1', 'svc-web'],
  ['ls-lb-add', 'sw-a2', 'a-very-long-load-balancer-name'],
  ['ls-lb-add', 'sw-a2', 'a-very-long-load-2'],
  ['ls-lb-add', 'sw-a2', 'svc-odd'],
  ['lr-lb-add', 'ovn-cluster', 'svc-web'],
  ['lr-lb-add', 'vpc-a', 'svc-v6'],
];

beforeAll(async () => {
  for (const cmd of TOPOLOGY) await nb(...cmd);
  // a route learned from the interconnect is marked "(learned)"
  const learned = (
    await nb('--bare', '--columns=_uuid', 'find', 'Logical_Router_Static_Route', 'ip_prefix=10.1.2.3')
  ).trim();
  await nb('set', 'Logical_Router_Static_Route', learned, 'external_ids:ic-learned-route=x');
  await nb('--wait=sb', 'sync');

  client = await OvsdbClient.connect<Tables>({
    remotes: ctx.lab.central.nb.unixRemotes,
    database: 'OVN_Northbound',
  });
  const all = Object.fromEntries([...client.schema.tables.keys()].map((t) => [t, {}])) as MonitorSpec<Tables>;
  replica = await client.monitor(all);
  // ovn-northd fills in dynamic addresses, tags and up after the writes: wait until the replica agrees
  await eventually(async () => {
    expect(blocks(ours(['show']), /^(switch|router) /)).toEqual(
      blocks(await nb('show'), /^(switch|router) /),
    );
    expect(ours(['list', 'Logical_Switch_Port', 'pod3.ns2'])).toBe(
      await nb('list', 'Logical_Switch_Port', 'pod3.ns2'),
    );
  });
}, 60_000);
afterAll(() => client?.close());

async function expectSame(argv: string[]): Promise<void> {
  const theirs = await nbctl(argv);
  expect(theirs.exitCode, `${argv.join(' ')}: ${theirs.stderr}`).toBe(0);
  expect({ argv, text: ours(argv) }).toEqual({ argv, text: theirs.stdout });
}

describe('text views are byte for byte what ovn-nbctl prints', () => {
  test('ls-list, lr-list', async () => {
    await expectSame(['ls-list']);
    await expectSame(['lr-list']);
  });

  test('show SWITCH and the switch views, for every switch, by name and by uuid', async () => {
    for (const ls of SWITCHES) {
      for (const view of ['show', 'lsp-list', 'acl-list', 'ls-lb-list']) await expectSame([view, ls]);
    }
    const uuid = json<{ uuid: string; name: string }[]>('ls-list').find(
      (s) => s.name === 'ovn-default',
    )!.uuid;
    await expectSame(['lsp-list', uuid]);
    await expectSame(['show', uuid]);
  });

  test('show ROUTER and the router views, for every router', async () => {
    for (const lr of ROUTERS) {
      for (const view of ['show', 'lrp-list', 'lr-route-list', 'lr-policy-list', 'lr-lb-list']) {
        await expectSame([view, lr]);
      }
    }
    await expectSame(['--route-table=rtb-a2', 'lr-route-list', 'vpc-a']);
    await expectSame(['--route-table=', 'lr-route-list', 'vpc-a']);
    await expectSame(['--route-table=none', 'lr-route-list', 'vpc-a']);
  });

  test('show without argument: the same switch and router blocks (ovn-nbctl orders them by hash)', async () => {
    const theirs = await nb('show');
    expect(blocks(ours(['show']), /^(switch|router) /)).toEqual(blocks(theirs, /^(switch|router) /));
    // ours: switches then routers, each by name
    const names = [...ours(['show']).matchAll(/^(switch|router) \S+ \((\S+)\)/gm)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    expect(names).toEqual([
      ...[...SWITCHES].sort().map((s) => `switch ${s}`),
      ...[...ROUTERS].sort().map((r) => `router ${r}`),
    ]);
  });

  test('acl-list of a port group, and --type', async () => {
    await expectSame(['acl-list', 'pg.np']);
    await expectSame(['--type=port-group', 'acl-list', 'pg.np']);
    await expectSame(['--type=switch', 'acl-list', 'ovn-default']);
  });

  test('lb-list: each load balancer exactly; all of them as the same blocks', async () => {
    for (const lb of [...LBS, 'svc-odd', 'nope']) await expectSame(['lb-list', lb]);
    // two names share their first 16 characters: ovn-nbctl's order between them is its hash table's
    const lbBlock = /^[0-9a-f]{8}-|^UUID/;
    expect(blocks(ours(['lb-list']), lbBlock)).toEqual(blocks(await nb('lb-list'), lbBlock));
    // ... but for a switch's load balancers that order follows from the uuids: exact
    await expectSame(['ls-lb-list', 'sw-a2']);
  });

  test('list and find: the same records (in ovn-nbctl, in hash order)', async () => {
    for (const table of [...replica.tableNames].sort()) {
      expect({ table, text: records(ours(['list', table])) }).toEqual({
        table,
        text: records(await nb('list', table)),
      });
    }
    await expectSame(['list', 'Logical_Switch_Port', 'pod1.ns1', 'p1', 'pod4.ns2']);
    await expectSame(['list', 'Logical_Switch', 'net-a1']);
    await expectSame(['list', 'NB_Global', '.']);
    await expectSame(['list', 'ACL', 'allow-dns']);
    await expectSame(['list', 'Logical_Router', 'tenant-a']);
    await expectSame(['list', 'NAT', '172.18.0.12']);
    await expectSame(['--columns=name,_uuid,addresses', 'list', 'Logical_Switch_Port', 'pod2.ns1']);
    await expectSame(['--if-exists', 'list', 'Logical_Switch', 'nope', 'join']);
    const uuid = json<{ uuid: string }[]>('lr-list')[0]!.uuid;
    await expectSame(['list', 'Logical_Router', uuid.slice(0, 8)]);
    for (const cond of [
      ['Logical_Switch_Port', 'external_ids:pod=ns1/pod1'],
      ['Logical_Switch_Port', 'type=router'],
      ['Logical_Switch_Port', 'addresses="0a:00:00:10:00:0a 10.16.0.10"'],
      ['Logical_Switch_Port', 'addresses{>=}unknown'],
      ['Logical_Switch_Port', 'tag>5'],
      ['Logical_Switch_Port', 'up=true', 'type!=router'],
      ['Logical_Switch_Port', 'external_ids:x{in}[]'],
      ['Logical_Switch_Port', 'options:requested-chassis=node1', 'enabled=false'],
      ['Logical_Switch_Port', 'port_security{!=}[]'],
      ['Logical_Router_Static_Route', 'route_table=""', 'policy=src-ip'],
      ['Logical_Router_Policy', 'priority>=29000', 'priority<31000'],
      ['ACL', 'direction=to-lport', 'priority<=1000'],
      ['Logical_Switch_Port', 'addresses{in}[router, unknown, dynamic]'],
      ['Load_Balancer', 'protocol=[]'],
      ['Logical_Switch', 'other_config:subnet{not-in}["10.16.0.0/16"]'],
      ['logical_switch_p', 'name=pa1'],
    ]) {
      const argv = ['find', ...cond];
      expect({ argv, text: records(ours(argv)) }).toEqual({ argv, text: records(await nb(...argv)) });
    }
  });
});

describe('JSON views carry the same data', () => {
  test('ls-list, lsp-list and lrp-list name the same rows as the text', async () => {
    const pairs = (text: string) => text.split('\n').filter(Boolean);
    expect(json<{ uuid: string; name: string }[]>('ls-list').map((e) => `${e.uuid} (${e.name})`)).toEqual(
      pairs(await nb('ls-list')),
    );
    for (const ls of SWITCHES) {
      const entries = json<{ uuid: string; name: string }[]>('lsp-list', ls);
      expect(entries.map((e) => `${e.uuid} (${e.name})`)).toEqual(pairs(await nb('lsp-list', ls)));
    }
  });

  test('show: every port with the columns ovn-nbctl list has for it', async () => {
    const model = json<ShowModel>('show');
    for (const sw of model.switches) {
      for (const p of sw.ports) {
        const cols = await nb(
          '--format=json',
          '--columns=addresses,type,options',
          'list',
          'Logical_Switch_Port',
          p.uuid,
        );
        type Cells = [unknown, string, [string, [string, string][]]];
        const [addresses, type, options] = (JSON.parse(cols).data as Cells[])[0]!;
        const list =
          Array.isArray(addresses) && addresses[0] === 'set' ? (addresses[1] as string[]) : [addresses];
        expect(p.addresses).toEqual(list);
        expect(p.type).toBe(type);
        expect(p.router_port).toBe(new Map(options[1]).get('router-port') ?? null);
      }
    }
    expect(model.routers.map((r) => r.name)).toEqual(['ovn-cluster', 'vpc-a']);
    const gateways = model.routers[0]!.ports.find((p) => p.name === 'ovn-cluster-join')!.gateway_chassis;
    expect([...gateways].sort((a, b) => b.priority - a.priority)).toEqual([
      { chassis_name: 'gw-node2', priority: 20 },
      { chassis_name: 'gw-node1', priority: 10 },
    ]);
  });

  test('lsp-show agrees with the lsp-get-* commands', async () => {
    const lines = async (...args: string[]) => (await nb(...args)).split('\n').filter(Boolean);
    for (const sw of json<ShowModel>('show').switches) {
      for (const { name } of sw.ports) {
        const d = json<PortDetail>('lsp-show', name);
        expect(d.effective_addresses).toEqual(await lines('lsp-get-addresses', name));
        expect(d.port_security).toEqual(await lines('lsp-get-port-security', name));
        expect(d.type).toBe((await nb('lsp-get-type', name)).trim());
        expect(d.up ? 'up' : 'down').toBe((await nb('lsp-get-up', name)).trim());
        expect(d.enabled ? 'enabled' : 'disabled').toBe((await nb('lsp-get-enabled', name)).trim());
        expect(
          Object.entries(d.options)
            .map(([k, v]) => `${k}=${v}`)
            .sort(),
        ).toEqual((await lines('lsp-get-options', name)).sort());
        expect(d.dynamic_addresses ?? '').toBe(
          (await nb('--bare', '--columns=dynamic_addresses', 'list', 'Logical_Switch_Port', name)).trim(),
        );
        expect(`${d.switch!.uuid} (${d.switch!.name})`).toBe((await nb('lsp-get-ls', name)).trim());
      }
    }
    expect(json<PortDetail>('lsp-show', 'pod3.ns2').dynamic_addresses).toMatch(
      /^[0-9a-f:]{17} 10\.16\.0\.\d+$/,
    );
  });

  test('lr-route-list: the same routes, flags included', () => {
    const m = json<RouteList>('lr-route-list', 'vpc-a');
    const ecmp = m.ipv4.filter((r) => r.ecmp).map((r) => r.nexthop);
    expect(ecmp).toEqual(['169.254.0.1', '169.254.0.5']);
    expect(m.ipv4.find((r) => r.ip_prefix === '10.1.2.3')!.learned).toBe(true);
    expect(m.ipv4.find((r) => r.ip_prefix === '172.30.0.0/16')!.bfd).toBe(true);
    expect(m.ipv4.find((r) => r.ip_prefix === '192.168.100.0/24')!.nexthop).toBe('discard');
    expect(m.ipv4.filter((r) => r.route_table === 'rtb-a2').map((r) => r.ip_prefix)).toEqual(['0.0.0.0/0']);
    expect(json<RouteList>('lr-route-list', 'ovn-cluster').ipv6.map((r) => r.ip_prefix)).toEqual([
      'fd00:20::/64',
      '::/0',
    ]);
  });
});

describe("errors are ovn-nbctl's", () => {
  async function expectSameError(argv: string[], code: ViewError['code']): Promise<void> {
    const theirs = await nbctl(argv);
    expect(theirs.exitCode).not.toBe(0);
    let error: unknown;
    try {
      ours(argv);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ViewError);
    expect({ argv, message: `${(error as ViewError).message}\n`, code: (error as ViewError).code }).toEqual({
      argv,
      message: theirs.stderr,
      code,
    });
  }

  test('unknown objects, views, tables, columns; bad arguments and options', async () => {
    await expectSameError(['lsp-list', 'nope'], 'NOT_FOUND');
    await expectSameError(['lr-route-list', 'nope'], 'NOT_FOUND');
    await expectSameError(['lr-policy-list', '11111111-2222-3333-4444-555555555555'], 'NOT_FOUND');
    await expectSameError(['acl-list', 'nope'], 'NOT_FOUND');
    await expectSameError(['--type=switch', 'acl-list', 'pg.np'], 'NOT_FOUND');
    await expectSameError(['--type=bad', 'acl-list', 'pg.np'], 'BAD_ARGS');
    await expectSameError(['lsp-list'], 'BAD_ARGS');
    await expectSameError(['lrp-list', 'a', 'b'], 'BAD_ARGS');
    await expectSameError(['--type=switch', 'ls-list'], 'BAD_ARGS');
    await expectSameError(['no-such-view'], 'UNKNOWN_VIEW');
    await expectSameError(['list', 'Nope'], 'NOT_FOUND');
    await expectSameError(['list', 'Logical'], 'AMBIGUOUS');
    await expectSameError(['list', 'Logical_Switch', 'nope'], 'NOT_FOUND');
    await expectSameError(['find', 'Logical_Switch', 'nope=1'], 'BAD_ARGS');
    await expectSameError(['find', 'Logical_Switch', 'name'], 'BAD_ARGS');
    await expectSameError(['find', 'Logical_Switch', 'name:x=1'], 'BAD_ARGS');
    await expectSameError(['find', 'Logical_Switch', 'name=[]'], 'BAD_ARGS');
    await expectSameError(['find', 'Logical_Switch_Port', 'tag=x'], 'BAD_ARGS');
    await expectSameError(['find', 'ACL', 'priority{in}[900, 1000]'], 'BAD_ARGS');
    // nothing, and no error, for a name that is neither a switch nor a router
    expect(ours(['show', 'nope'])).toBe((await nbctl(['show', 'nope'])).stdout);
  });

  test('a name two switches share needs a uuid', async () => {
    await nb('--add-duplicate', 'ls-add', 'dup');
    await nb('--add-duplicate', 'ls-add', 'dup');
    try {
      await eventually(() =>
        expect(json<{ name: string }[]>('ls-list').filter((s) => s.name === 'dup')).toHaveLength(2),
      );
      await expectSameError(['lsp-list', 'dup'], 'AMBIGUOUS');
      await expectSameError(['show', 'dup'], 'AMBIGUOUS');
      await expectSameError(['list', 'Logical_Switch', 'dup'], 'AMBIGUOUS');
    } finally {
      for (const uuid of (await nb('--bare', '--columns=_uuid', 'find', 'Logical_Switch', 'name=dup')).split(
        '\n',
      )) {
        if (uuid.trim()) await nb('ls-del', uuid.trim());
      }
    }
  });
});
