// Services without OVN load balancers (the controller's --enable-lb=false): kube-proxy on the node does the
// job. A pod's connection to a ClusterIP leaves through the egress reroute to its node's ovn0, the node
// DNATs it to a backend (here an nftables rule written as kube-proxy would), and the daemon's masquerade
// brings the reply back through the node to be un-DNATed. Backends on the same node and on the other one.
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Cluster } from '../../../src/lab/cluster.ts';
import { eventually } from '../helpers.ts';
import { podNetns, runningPod, startServer } from './pods.ts';

const PORT = 8080;
/** Answers every TCP connection with the pod's name (argv[1]) and the address the connection came from. */
const SERVER = `
require('node:net').createServer((s) => s.end(process.argv[1] + ' ' + s.remoteAddress + '\\n'))
  .listen(${PORT}, '0.0.0.0', () => console.log('ready'));
`;
/** argv: host port. Prints what the server answered, or the error. */
const CLIENT = `
const s = require('node:net').connect({ host: process.argv[1], port: Number(process.argv[2]) });
let data = '';
s.setTimeout(1500, () => { console.log('timeout'); process.exit(0); });
s.on('data', (c) => { data += c; });
s.on('end', () => console.log(data.trim()));
s.on('error', (e) => console.log(e.code));
`;

let cluster: Cluster;
let core: CoreV1Api;
const servers: ResultPromise[] = [];

beforeAll(async () => {
  cluster = await Cluster.start({ nodes: 2, controllerArgs: ['--enable-lb=false'] });
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

async function connect(from: V1Pod, host: string, port: number): Promise<string> {
  const r = await execa('ip', [
    'netns',
    'exec',
    podNetns(cluster, from),
    'node',
    '-e',
    CLIENT,
    host,
    String(port),
  ]);
  return r.stdout.trim();
}

describe('ClusterIP services through kube-proxy on the nodes (--enable-lb=false)', () => {
  test('a pod reaches backends on its own node and on the other one; they see the node as the source', async () => {
    const [near, far, client] = await Promise.all([
      runningPod(core, { name: 'near', node: 'node1', labels: { app: 'web' } }),
      runningPod(core, { name: 'far', node: 'node2', labels: { app: 'web' } }),
      runningPod(core, { name: 'client', node: 'node1' }),
    ]);
    await Promise.all(
      [near, far].map((p) => startServer(podNetns(cluster, p), SERVER, [p.metadata!.name!], servers)),
    );
    const svc = await core.createNamespacedService({
      namespace: 'default',
      body: {
        metadata: { name: 'web' },
        spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: PORT as never, protocol: 'TCP' }] },
      },
    });
    const vip = svc.spec!.clusterIP!;
    // what kube-proxy would write on node1 (one port per backend, so each path is tested on its own)
    const node1 = nodeOf('node1');
    const rules = [
      'table ip kube-proxy-test {',
      '  chain prerouting {',
      '    type nat hook prerouting priority dstnat; policy accept;',
      `    ip daddr ${vip} tcp dport 80 dnat to ${near.status!.podIP}:${PORT}`,
      `    ip daddr ${vip} tcp dport 81 dnat to ${far.status!.podIP}:${PORT}`,
      '  }',
      '}',
    ].join('\n');
    await execa('ip', ['netns', 'exec', node1.netns, 'nft', '-f', '-'], { input: rules });
    const node = await core.readNode({ name: 'node1' });
    const nodeJoinIp = node.metadata!.annotations!['ovn.kubernetes.io/ip_address']!;
    expect(nodeJoinIp).toMatch(/^100\.64\./);

    await eventually(async () => expect(await connect(client, vip, 80)).toBe(`near ${nodeJoinIp}`), 20_000);
    await eventually(async () => expect(await connect(client, vip, 81)).toBe(`far ${nodeJoinIp}`), 20_000);
    // the flag really took the load balancers away: nothing in OVN answers for the VIP
    expect(await cluster.lab.nbctl('--bare', '--columns=vips', 'list', 'Load_Balancer')).not.toContain(vip);
  });
});
