// Egress for real on the two-node lab plus an "external" namespace on the underlay standing for the outside
// world (it has no route to any pod CIDR, so only masqueraded traffic can be answered). A UDP server there
// answers every datagram with the source address it saw. natOutgoing pods get answers carrying their own
// node's underlay address; a pod of a subnet without natOutgoing reaches the server with its pod address and
// gets no answer; a centralized subnet leaves through its gateway node whatever node its pod is on.
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
} from '@kubernetes/client-node';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Cluster } from '../../../src/lab/cluster.ts';
import type { ExternalNet } from '../../../src/lab/lab.ts';
import { podNetnsName } from '../../../src/lab/pod-sandboxes.ts';
import { eventually } from '../helpers.ts';
import { runningPod } from './pods.ts';

const PORT = 9999;

/**
 * Answers each datagram with the peer's address and prints it, one line per datagram. Bound to the outside
 * address, so that answers come from where the datagrams went (a wildcard socket would answer from its
 * underlay address, which matches no NAT entry on the node).
 */
const SERVER = `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => { console.log(r.address); s.send(r.address, r.port, r.address); });
s.bind(${PORT}, process.argv[1], () => console.log('listening'));
`;

/** Sends one datagram a few times; prints the first answer, or "no answer". */
const CLIENT = `
const [host, port] = process.argv.slice(1);
const s = require('node:dgram').createSocket('udp4');
let tries = 0;
const send = () => { if (tries++ === 6) { console.log('no answer'); process.exit(0); } s.send('hi', Number(port), host); };
s.on('message', (m) => { console.log(m.toString()); process.exit(0); });
s.bind(0, () => { send(); setInterval(send, 250); });
`;

let cluster: Cluster;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let ext: ExternalNet;
let server: ResultPromise | undefined;
let seen = '';

beforeAll(async () => {
  // --cleanup: a daemon told to stop removes its nftables table (uninstall)
  cluster = await Cluster.start({ nodes: 2, daemonArgs: ['--cleanup'] });
  ext = await cluster.lab.addExternal();
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.manifest.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  server = execa('ip', ['netns', 'exec', ext.netns, process.execPath, '-e', SERVER, ext.ip], {
    reject: false,
  });
  server.stdout!.on('data', (b: Buffer) => {
    seen += b.toString();
  });
  await eventually(() => expect(seen).toContain('listening'), 10_000);
}, 120_000);
afterAll(async () => {
  server?.kill('SIGKILL');
  await server;
  await cluster?.stop();
}, 60_000);

const nodeIp = (name: string) => cluster.manifest.nodes.find((n) => n.name === name)!.ip;

async function createSubnet(name: string, spec: Record<string, unknown>) {
  await custom.createClusterCustomObject({
    group: 'kubeovn.io',
    version: 'v1',
    plural: 'subnets',
    body: { apiVersion: 'kubeovn.io/v1', kind: 'Subnet', metadata: { name }, spec },
  });
}

async function subnetStatus(name: string): Promise<Record<string, unknown>> {
  const s = (await custom.getClusterCustomObject({
    group: 'kubeovn.io',
    version: 'v1',
    plural: 'subnets',
    name,
  })) as { status?: Record<string, unknown> };
  return s.status ?? {};
}

/** A pause pod on a node, in a subnet when one is named. */
const runPod = (name: string, node: string, subnet?: string): Promise<V1Pod> =>
  runningPod(core, { name, node, annotations: subnet ? { 'ovn.kubernetes.io/logical_switch': subnet } : {} });

/** What the pod hears back from the external server: the source address the server saw, or "no answer". */
async function askOutside(p: V1Pod): Promise<string> {
  const prefix = cluster.manifest.nodes.find((n) => n.name === p.spec!.nodeName)!.podNetnsPrefix;
  const ns = podNetnsName(prefix, 'default', p.metadata!.name!);
  const r = await execa('ip', ['netns', 'exec', ns, process.execPath, '-e', CLIENT, ext.ip, String(PORT)], {
    reject: false,
    timeout: 10_000,
  });
  return r.stdout.trim();
}

const nft = (node: string) =>
  execa('ip', ['netns', 'exec', cluster.lab.node(node).cfg.netns, 'nft', 'list', 'table', 'ip', 'ovnk'], {
    reject: false,
  });

describe('egress to the outside world', () => {
  test('a natOutgoing pod reaches the outside with its own node address as source (distributed)', async () => {
    const [a, b] = await Promise.all([runPod('nat-a', 'node1'), runPod('nat-b', 'node2')]);
    await eventually(async () => expect(await askOutside(a)).toBe(nodeIp('node1')), 20_000);
    await eventually(async () => expect(await askOutside(b)).toBe(nodeIp('node2')), 20_000);
    // the reroute policies and the node-local address sets behind them
    const policies = await cluster.lab.nbctl('lr-policy-list', 'ovn-cluster');
    expect(policies).toMatch(/29000\s+ip4\.src == \$ovn\.default\.node1_ip4\s+reroute\s+100\.64\.\d+\.\d+/);
    const set = await cluster.lab.nbctl('get', 'Address_Set', 'ovn.default.node1_ip4', 'addresses');
    expect(set).toContain(a.status!.podIP!);
    expect(set).not.toContain(b.status!.podIP!);
  });

  test('a pod of a subnet without natOutgoing leaves with its own address and gets no answer', async () => {
    await createSubnet('no-nat', { cidrBlock: '10.81.0.0/24', natOutgoing: false });
    await eventually(async () => expect((await nft('node1')).stdout).toContain('10.81.0.0/24'), 20_000);
    const p = await runPod('plain', 'node1', 'no-nat');
    expect(await askOutside(p)).toBe('no answer');
    // it did get out, unmasqueraded: the server saw the pod's address (and had no way back to it)
    expect(seen.split('\n')).toContain(p.status!.podIP!);
    const table = (await nft('node1')).stdout;
    expect(table).toMatch(/set nat_sources \{[^}]*10\.16\.0\.0\/16/);
    expect(table).not.toMatch(/set nat_sources \{[^}]*10\.81\.0\.0\/24/);
  });

  test('a centralized subnet leaves through its gateway node, whatever node its pod is on', async () => {
    await createSubnet('central', {
      cidrBlock: '10.82.0.0/24',
      natOutgoing: true,
      gatewayType: 'centralized',
      gatewayNode: 'node2',
    });
    const p = await runPod('central-a', 'node1', 'central');
    await eventually(async () => expect(await askOutside(p)).toBe(nodeIp('node2')), 20_000);
    expect((await subnetStatus('central')).activateGateway).toBe('node2');

    // no usable gateway: egress stops (it does not leak out through another node) and a Warning says why
    await custom.patchClusterCustomObject(
      {
        group: 'kubeovn.io',
        version: 'v1',
        plural: 'subnets',
        name: 'central',
        body: { spec: { gatewayNode: 'node9' } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually(async () => expect((await subnetStatus('central')).activateGateway).toBe(''), 10_000);
    expect(await askOutside(p)).toBe('no answer');
    const events = await core.listNamespacedEvent({ namespace: 'default' });
    expect(
      events.items.some((e) => e.reason === 'NoActiveGateway' && e.involvedObject.name === 'central'),
    ).toBe(true);
  });

  test('the daemon removes its rules when told to stop with --cleanup, and puts them back when it returns', async () => {
    expect((await nft('node1')).exitCode).toBe(0);
    await cluster.stopService('node1/ovnk/daemon', 'SIGTERM');
    expect((await nft('node1')).exitCode).not.toBe(0);
    await cluster.startAgain('node1/ovnk/daemon');
    await eventually(async () => expect((await nft('node1')).stdout).toContain('masquerade'), 20_000);
  });
});
