// The daemon's local view: `ovs-vsctl show`, list and find from a replica of a node's Open_vSwitch
// database, against the real ovs-vsctl on the same database (a lab node, plus a bridge with tagged,
// trunk, patch, internal and broken ports, a controller and a manager).
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ViewError } from '../../../src/nbctl/errors.ts';
import { runOvsView } from '../../../src/nbctl/views.ts';
import type { Tables } from '../../../src/ovsdb/generated/open-vswitch.ts';
import { type MonitorSpec, OvsdbClient, type Replica } from '../../../src/ovsdb/index.ts';
import { eventually, useLab } from '../helpers.ts';

const ctx = useLab({ northd: false, nodes: 1 });
let client: OvsdbClient<Tables>;
let replica: Replica<Tables>;

const sock = () => ctx.lab.node('node1').ovsSock;

async function vsctl(args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const r = await execa('ovs-vsctl', [`--db=unix:${sock()}`, '--timeout=10', ...args], {
    stripFinalNewline: false,
    reject: false,
  });
  return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 };
}

function records(text: string): string[] {
  return text
    .split('\n\n')
    .filter((r) => r.trim() !== '')
    .map((r) => (r.endsWith('\n') ? r : `${r}\n`))
    .sort();
}

beforeAll(async () => {
  const node = ctx.lab.node('node1');
  await node.vsctl(
    ...[
      'add-br',
      'br-test',
      '--',
      'set',
      'Bridge',
      'br-test',
      'datapath_type=netdev',
      'fail_mode=standalone',
    ],
  );
  await node.vsctl(
    'add-port',
    'br-test',
    'tagged0',
    'tag=10',
    '--',
    'set',
    'Interface',
    'tagged0',
    'type=internal',
  );
  await node.vsctl(
    'add-port',
    'br-test',
    'trunk0',
    'trunks=1,2,3',
    '--',
    'set',
    'Interface',
    'trunk0',
    'type=internal',
  );
  // a port whose device does not exist: ovs-vswitchd fills in its error column
  await node.vsctl('add-port', 'br-test', 'nodev0');
  await node.vsctl(
    ...[
      'add-port',
      'br-test',
      'patch-a',
      '--',
      'set',
      'Interface',
      'patch-a',
      'type=patch',
      'options:peer=patch-b',
    ],
  );
  await node.vsctl('set-controller', 'br-test', 'tcp:127.0.0.1:6653');
  await node.vsctl('set-manager', 'tcp:127.0.0.1:6640');
  client = await OvsdbClient.connect<Tables>({ remotes: `unix:${sock()}`, database: 'Open_vSwitch' });
  const all = Object.fromEntries([...client.schema.tables.keys()].map((t) => [t, {}])) as MonitorSpec<Tables>;
  replica = await client.monitor(all);
}, 60_000);
afterAll(() => client?.close());

describe('ovs-vsctl views of the node database', () => {
  test('show is byte for byte what ovs-vsctl show prints', async () => {
    // ovs-vswitchd keeps writing (errors, link state): compare until both read the same state
    await eventually(async () => {
      const theirs = await vsctl(['show']);
      expect(runOvsView(replica, 'show', [], 'text')).toBe(theirs.stdout);
    });
    const text = runOvsView(replica, 'show', [], 'text');
    expect(text).toMatch(/^ {4}Bridge br-test\n/m);
    expect(text).toMatch(/^ {8}Port tagged0\n {12}tag: 10\n/m);
    expect(text).toMatch(/^ {16}error: "could not open network device nodev0/m);
    expect(text).toMatch(/^ {16}options: \{peer=patch-b\}\n/m);
  });

  test('show as JSON: the same tree', () => {
    const [root] = runOvsView(replica, 'show', [], 'json') as {
      bridges: { name: string; ports: { name: string; tag?: number; interfaces: { type?: string }[] }[] }[];
    }[];
    const br = root!.bridges.find((b) => b.name === 'br-test')!;
    expect(br.ports.map((p) => p.name).sort()).toEqual(['br-test', 'nodev0', 'patch-a', 'tagged0', 'trunk0']);
    expect(br.ports.find((p) => p.name === 'tagged0')!.tag).toBe(10);
    expect(br.ports.find((p) => p.name === 'patch-a')!.interfaces[0]!.type).toBe('patch');
  });

  test('list and find: the same records', async () => {
    for (const argv of [
      ['list', 'Bridge'],
      ['list', 'Port', 'tagged0', 'trunk0'],
      ['list', 'Controller', 'br-test'],
      ['list', 'Open_vSwitch', '.'],
      ['find', 'Interface', 'type=internal'],
      ['find', 'Port', 'trunks{>=}[2]'],
      ['find', 'Interface', 'options:peer=patch-b'],
    ]) {
      await eventually(async () => {
        const [name, ...args] = argv;
        expect({ argv, text: records(runOvsView(replica, name!, args, 'text')) }).toEqual({
          argv,
          text: records((await vsctl(argv)).stdout),
        });
      });
    }
  });

  test('errors read "ovs-vsctl: ..."', async () => {
    for (const argv of [
      ['list', 'Bridge', 'nope'],
      ['list', 'Nope'],
      ['show', 'x'],
      ['lsp-list', 'x'],
    ]) {
      const theirs = await vsctl(argv);
      const [name, ...args] = argv;
      let error: unknown;
      try {
        runOvsView(replica, name!, args, 'text');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ViewError);
      expect({ argv, message: `${(error as Error).message}\n` }).toEqual({ argv, message: theirs.stderr });
    }
  });
});
