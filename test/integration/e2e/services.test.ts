// ClusterIP Services on the real two-node lab: the lab's EndpointSlice controller fills the slices, the
// controller turns them into Kube-OVN's cluster load balancers, and OVN balances connections from a pod
// (through its switch) and from a node (through ovn0 and the join switch) across backends on both nodes.
// Each backend pod runs a tiny server that answers TCP and UDP with its own name.
import { CoreV1Api, KubeConfig, type V1Pod, type V1Service } from '@kubernetes/client-node';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Cluster } from '../../../src/lab/cluster.ts';
import { eventually } from '../helpers.ts';
import { podNetns, runningPod, startServer } from './pods.ts';

const TCP_PORT = 8080;
const UDP_PORT = 8081;

/** Answers every TCP connection and UDP datagram with the pod's name (argv[1]); says "ready" when bound. */
const SERVER = `
const net = require('node:net'), dgram = require('node:dgram');
const name = process.argv[1];
let bound = 0;
const up = () => { if (++bound === 2) console.log('ready'); };
net.createServer((s) => s.end(name + '\\n')).listen(${TCP_PORT}, up);
const u = dgram.createSocket('udp4');
u.on('message', (m, r) => u.send(name, r.port, r.address));
u.bind(${UDP_PORT}, up);
`;

/** argv: proto host port count. Opens count connections (or sockets) one after another; prints who answered. */
const CLIENT = `
const net = require('node:net'), dgram = require('node:dgram');
const [proto, host, port, count] = process.argv.slice(1);
const one = () => new Promise((res) => {
  if (proto === 'tcp') {
    const s = net.connect({ host, port: Number(port) });
    let data = '';
    s.setTimeout(1500, () => { s.destroy(); res('timeout'); });
    s.on('data', (c) => { data += c; });
    s.on('end', () => res(data.trim() || 'empty'));
    s.on('error', (e) => res(e.code || 'error'));
  } else {
    const u = dgram.createSocket('udp4');
    const t = setTimeout(() => { u.close(); res('timeout'); }, 1500);
    u.on('message', (m) => { clearTimeout(t); u.close(); res(m.toString()); });
    u.send('x', Number(port), host);
  }
});
(async () => {
  const counts = {};
  for (let i = 0; i < Number(count); i++) { const r = await one(); counts[r] = (counts[r] || 0) + 1; }
  console.log(JSON.stringify(counts));
})();
`;

let cluster: Cluster;
let core: CoreV1Api;
const servers: ResultPromise[] = [];

beforeAll(async () => {
  cluster = await Cluster.start({ nodes: 2 });
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.manifest.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
}, 120_000);
afterAll(async () => {
  for (const s of servers) s.kill('SIGKILL');
  await Promise.allSettled(servers);
  await cluster?.stop();
}, 60_000);

const nodeOf = (name: string) => cluster.manifest.nodes.find((n) => n.name === name)!;
const netnsOf = (p: V1Pod) => podNetns(cluster, p);
const serve = (p: V1Pod) => startServer(netnsOf(p), SERVER, [p.metadata!.name!], servers);

/** Who answered `count` connections to host:port, run in a network namespace (a pod's or a node's). */
async function probe(
  netns: string,
  proto: 'tcp' | 'udp',
  host: string,
  port: number,
  count: number,
): Promise<Record<string, number>> {
  const r = await execa('ip', [
    'netns',
    'exec',
    netns,
    'node',
    '-e',
    CLIENT,
    proto,
    host,
    String(port),
    String(count),
  ]);
  return JSON.parse(r.stdout) as Record<string, number>;
}

async function service(name: string, spec: V1Service['spec']): Promise<string> {
  const s = await core.createNamespacedService({ namespace: 'default', body: { metadata: { name }, spec } });
  return s.spec!.clusterIP!;
}

const echoPorts = [
  { name: 'tcp', port: 80, targetPort: TCP_PORT as never, protocol: 'TCP' },
  { name: 'udp', port: 53, targetPort: UDP_PORT as never, protocol: 'UDP' },
];

describe('ClusterIP services through OVN load balancers', () => {
  let client: V1Pod;
  let ip = '';

  test('a TCP service balances connections from a pod across backends on both nodes', async () => {
    const [b1, b2, c] = await Promise.all([
      runningPod(core, { name: 'echo-1', node: 'node1', labels: { app: 'echo' } }),
      runningPod(core, { name: 'echo-2', node: 'node2', labels: { app: 'echo' } }),
      runningPod(core, { name: 'client', node: 'node1' }),
    ]);
    client = c;
    await Promise.all([serve(b1), serve(b2)]);
    ip = await service('echo', { selector: { app: 'echo' }, ports: echoPorts });
    await eventually(async () => {
      const seen = await probe(netnsOf(client), 'tcp', ip, 80, 20);
      expect(Object.keys(seen).sort()).toEqual(['echo-1', 'echo-2']);
    }, 30_000);
  });

  test('a node reaches the service through ovn0, balanced too', async () => {
    const node = nodeOf('node2');
    const route = await execa('ip', ['-n', node.netns, 'route', 'get', ip]);
    expect(route.stdout).toMatch(/dev ovn0/);
    await eventually(async () => {
      const seen = await probe(node.netns, 'tcp', ip, 80, 20);
      expect(Object.keys(seen).sort()).toEqual(['echo-1', 'echo-2']);
    }, 15_000);
  });

  test('UDP is balanced the same way', async () => {
    await eventually(async () => {
      const seen = await probe(netnsOf(client), 'udp', ip, 53, 20);
      expect(Object.keys(seen).sort()).toEqual(['echo-1', 'echo-2']);
    }, 15_000);
  });

  test('sessionAffinity ClientIP keeps one client on one backend', async () => {
    const sticky = await service('echo-sticky', {
      selector: { app: 'echo' },
      ports: echoPorts,
      sessionAffinity: 'ClientIP',
    });
    await eventually(async () => {
      const seen = await probe(netnsOf(client), 'tcp', sticky, 80, 20);
      expect(Object.values(seen)).toEqual([20]);
      expect(Object.keys(seen)[0]).toMatch(/^echo-[12]$/);
    }, 30_000);
  });

  test('a deleted backend stops receiving; the rest take every connection', async () => {
    await core.deleteNamespacedPod({ name: 'echo-2', namespace: 'default' });
    await eventually(async () => {
      expect(await probe(netnsOf(client), 'tcp', ip, 80, 20)).toEqual({ 'echo-1': 20 });
    }, 30_000);
  });
});
