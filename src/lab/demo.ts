// The main job until the controller and daemon exist: the native OVSDB client driving a real multi-node
// OVN network. It starts a lab (NB as a 3-member Raft cluster, SB, northd, two nodes with geneve tunnels),
// writes Kube-OVN's default topology and two pod ports into northbound, wires two veth "pods" into br-int
// on different nodes through each node's Open_vSwitch database, pings across the tunnel, kills the NB
// leader while writing, and tears everything down.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Tables as OvsTables } from '../ovsdb/generated/open-vswitch.ts';
import type { Tables as NbTables } from '../ovsdb/generated/ovn-nb.ts';
import { named, Ops, OvsdbClient } from '../ovsdb/index.ts';
import type { Chassis } from './chassis.ts';
import { Lab } from './lab.ts';
import { processesMentioning } from './leaks.ts';
import { listNetns } from './netns.ts';
import { run } from './proc.ts';

const nb = new Ops<NbTables>();
const ovs = new Ops<OvsTables>();
const VENDOR = { vendor: 'kube-ovn' };

function step(msg: string): void {
  console.log(`\n== ${msg}`);
}

/** Kube-OVN's default VPC: router ovn-cluster, switches join and ovn-default, router port pairs. */
function defaultTopology() {
  const ops = [
    nb.insert(
      'Logical_Router',
      {
        name: 'ovn-cluster',
        options: { mac_binding_age_threshold: '300', dynamic_neigh_routers: 'true' },
        external_ids: VENDOR,
        ports: [named('lrp_join'), named('lrp_default')],
      },
      { uuidName: 'lr' },
    ),
  ];
  const subnets = [
    { ls: 'join', cidr: '100.64.0.1/16', mac: '0a:00:00:00:64:01', lrp: 'lrp_join' },
    { ls: 'ovn-default', cidr: '10.16.0.1/16', mac: '0a:00:00:00:10:01', lrp: 'lrp_default' },
  ];
  for (const s of subnets) {
    const lrpName = `ovn-cluster-${s.ls}`;
    ops.push(
      nb.insert(
        'Logical_Router_Port',
        { name: lrpName, networks: [s.cidr], mac: s.mac, external_ids: { ...VENDOR, lr: 'ovn-cluster' } },
        { uuidName: s.lrp },
      ),
      nb.insert(
        'Logical_Switch_Port',
        {
          name: `${s.ls}-ovn-cluster`,
          type: 'router',
          addresses: ['router'],
          options: { 'router-port': lrpName },
          external_ids: { ...VENDOR, ls: s.ls },
        },
        { uuidName: `lsp_${s.lrp}` },
      ),
      nb.insert('Logical_Switch', {
        name: s.ls,
        ports: [named(`lsp_${s.lrp}`)],
        other_config: { subnet: s.cidr.replace(/\.1\//, '.0/') },
        external_ids: VENDOR,
      }),
    );
  }
  return ops;
}

interface Pod {
  name: string;
  node: Chassis;
  ip: string;
  mac: string;
}

function podPort(pod: Pod) {
  const addr = `${pod.mac} ${pod.ip}`;
  return [
    nb.insert(
      'Logical_Switch_Port',
      {
        name: `${pod.name}.default`,
        addresses: [addr],
        port_security: [addr],
        external_ids: { ...VENDOR, ls: 'ovn-default', pod: `default/${pod.name}` },
      },
      { uuidName: 'p' },
    ),
    nb.mutate('Logical_Switch', [['name', '==', 'ovn-default']], [['ports', 'insert', [named('p')]]]),
  ];
}

/** A veth "pod" on a node, its host end attached to br-int through the node's Open_vSwitch database. */
async function wirePod(lab: Lab, pod: Pod): Promise<number> {
  const ns = await lab.addNetns(pod.name);
  const host = `${pod.name}_h`;
  const nodeNs = pod.node.cfg.netns;
  await run('ip', ['-n', nodeNs, 'link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'address', pod.mac, 'mtu', '1400']);
  await run('ip', ['-n', ns, 'addr', 'add', `${pod.ip}/16`, 'dev', 'eth0']);
  await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
  await run('ip', ['-n', ns, 'route', 'add', 'default', 'via', '10.16.0.1']);
  // userspace datapath: veth checksum offload would send TCP/UDP out with bad checksums
  await run('ip', ['netns', 'exec', ns, 'ethtool', '-K', 'eth0', 'tx', 'off']);
  await run('ip', ['-n', nodeNs, 'link', 'set', host, 'up']);

  const t0 = Date.now();
  const client = await OvsdbClient.connect<OvsTables>({
    remotes: `unix:${pod.node.ovsSock}`,
    database: 'Open_vSwitch',
  });
  try {
    const replica = await client.monitor({
      Bridge: { columns: ['name'] },
      Interface: { columns: ['name', 'external_ids'] },
    });
    const installed = new Promise<void>((resolve) => {
      const check = () => {
        if (replica.byName('Interface', host)[0]?.external_ids['ovn-installed'] === 'true') resolve();
      };
      replica.onTableChange('Interface', check);
      check();
    });
    const brInt = replica.byName('Bridge', 'br-int')[0]!;
    await client.transact([
      ovs.insert(
        'Interface',
        { name: host, external_ids: { 'iface-id': `${pod.name}.default` } },
        { uuidName: 'i' },
      ),
      ovs.insert('Port', { name: host, interfaces: [named('i')] }, { uuidName: 'port' }),
      ovs.mutate('Bridge', [['_uuid', '==', brInt._uuid]], [['ports', 'insert', [named('port')]]]),
    ]);
    await Promise.race([
      installed,
      sleep(10_000).then(() => Promise.reject(new Error('ovn-installed not set'))),
    ]);
    return Date.now() - t0;
  } finally {
    client.close();
  }
}

async function main(): Promise<void> {
  step('starting the lab: NB Raft cluster of 3, SB, ovn-northd, 2 nodes in network namespaces (geneve)');
  const t0 = Date.now();
  const lab = await Lab.start({ nbMembers: 3, nodes: 2 });
  console.log(`lab ${lab.id} up in ${Date.now() - t0} ms (state in ${lab.dir})`);
  let client: OvsdbClient<NbTables> | undefined;
  try {
    const remotes = lab.central.nb.servers.map((s) => s.tcpRemote);
    client = await OvsdbClient.connect<NbTables>({
      remotes,
      database: 'OVN_Northbound',
      probeIntervalMs: 1_000,
    });
    console.log(
      `OVSDB client connected to the Raft leader ${client.remote} (remotes: ${remotes.join(', ')})`,
    );
    const replica = await client.monitor({ Logical_Switch: {}, Logical_Switch_Port: {}, Logical_Router: {} });
    replica.onChange((c) => console.log(`  replica: ${c.kind} ${c.table} ${(c.row ?? c.old)?.name}`));

    step("writing Kube-OVN's default topology in one transaction");
    let t = Date.now();
    await client.transact(defaultTopology());
    console.log(`committed in ${Date.now() - t} ms`);

    step('two pod ports, one per node, and their veths wired into br-int');
    const pods: Pod[] = [
      { name: 'pod-a', node: lab.chassis[0]!, ip: '10.16.0.2', mac: '0a:00:00:10:00:02' },
      { name: 'pod-b', node: lab.chassis[1]!, ip: '10.16.0.3', mac: '0a:00:00:10:00:03' },
    ];
    for (const pod of pods) {
      await client.transact(podPort(pod));
      const ms = await wirePod(lab, pod);
      console.log(`${pod.name} on ${pod.node.name}: ovn-installed ${ms} ms after its port was added`);
    }

    step('what ovn-nbctl (the stock tool) reads back');
    console.log(await lab.nbctl('show'));

    step('ping pod-a (node1) -> pod-b (node2) across the geneve tunnel');
    const ping = await run('ip', [
      'netns',
      'exec',
      `ovnk-${lab.id}-pod-a`,
      'ping',
      '-c3',
      '-i0.2',
      '-W2',
      '10.16.0.3',
    ]);
    console.log(ping.split('\n').slice(-2).join('\n'));

    step('killing the NB Raft leader while writing 200 ports');
    const leader = lab.central.nb.servers.find((s) => s.tcpRemote === client!.remote)!;
    t = Date.now();
    let failover = 0;
    for (let i = 0; i < 200; i++) {
      if (i === 50) {
        await leader.kill('SIGKILL');
        failover = Date.now();
      }
      await client.transactIdempotent(
        [
          nb.waitAbsent('Logical_Switch_Port', [['name', '==', `demo-${i}`]]),
          nb.insert('Logical_Switch_Port', { name: `demo-${i}`, external_ids: VENDOR }, { uuidName: 'p' }),
          nb.mutate('Logical_Switch', [['name', '==', 'ovn-default']], [['ports', 'insert', [named('p')]]]),
        ],
        { attempts: 50, timeoutMs: 5_000 },
      );
      if (i === 50)
        console.log(`write 50 went through on ${client.remote}, ${Date.now() - failover} ms after the kill`);
    }
    const written = replica.list('Logical_Switch_Port', (p) => p.name.startsWith('demo-')).length;
    console.log(
      `200 writes in ${Date.now() - t} ms; ${written} demo ports in northbound (each exactly once)`,
    );
  } finally {
    client?.close();
    step('tearing down');
    await lab.stop();
  }
  const netns = listNetns().filter((n) => n.startsWith(`ovnk-${lab.id}-`));
  const procs = processesMentioning(lab.dir);
  if (netns.length || procs.length)
    throw new Error(`left behind: ${[...netns, ...procs.map((p) => p.cmd)].join(', ')}`);
  console.log('done: no process or namespace (and so no veth or tap) left behind');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
