// Underlay against overlay, pod to pod across the two nodes of the lab, in one run: round-trip time (ping
// every 10 ms, percentiles of each reply) and TCP throughput (iperf3, one stream), the two paths taking
// turns for several rounds; the figures are the medians. The underlay pair
// is on a VLAN 10 subnet of the lab's fabric (the nodes' eth1, tagged frames, no encapsulation); the
// overlay pair on the default subnet (geneve over the management network, eth0). Both datapaths are OVS in
// userspace: what is compared is the encapsulation and the path, not kernel against userspace.
//   npm run bench -- underlay [pings per round] [iperf seconds per round] [rounds]
import { CoreV1Api, CustomObjectsApi, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { execa } from 'execa';
import { Cluster } from '../src/lab/cluster.ts';
import { podNetnsName } from '../src/lab/pod-sandboxes.ts';
import { setUpVlan10 } from '../src/lab/vlan10.ts';
import { printFigures, printTable, type Row } from './_report.ts';

const PINGS = Number(process.argv[2] ?? 300);
const SECONDS = Number(process.argv[3] ?? 3);
const ROUNDS = Number(process.argv[4] ?? 5);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};
const round2 = (x: number) => Math.round(x * 100) / 100;

const cluster = await Cluster.start({ nodes: 2 });
try {
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.manifest.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  await setUpVlan10(cluster, custom, { name: 'ul10' });

  const nodeOf = (name: string) => cluster.manifest.nodes.find((n) => n.name === name)!;
  async function pod(name: string, node: string, subnet?: string): Promise<{ ip: string; netns: string }> {
    const annotations: Record<string, string> = subnet ? { 'ovn.kubernetes.io/logical_switch': subnet } : {};
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name, annotations },
        spec: { nodeName: node, containers: [{ name: 'c', image: 'pause' }] },
      },
    });
    for (let i = 0; i < 300; i++) {
      const p: V1Pod = await core.readNamespacedPod({ name, namespace: 'default' });
      if (p.status?.phase === 'Running' && p.status.podIP) {
        return { ip: p.status.podIP, netns: podNetnsName(nodeOf(node).podNetnsPrefix, 'default', name) };
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`pod ${name} not running`);
  }
  const inNs = (netns: string, cmd: string, args: string[]) =>
    execa('ip', ['netns', 'exec', netns, cmd, ...args]);

  async function rtts(from: string, to: string): Promise<number[]> {
    await inNs(from, 'ping', ['-c', '5', '-W', '1', '-q', to]); // warm: ARP, flows
    const r = await inNs(from, 'ping', ['-n', '-c', String(PINGS), '-i', '0.01', '-W', '1', to]);
    return [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  }

  async function throughputMbps(from: string, to: { ip: string; netns: string }): Promise<number> {
    const server = execa('ip', ['netns', 'exec', to.netns, 'iperf3', '-s'], { reject: false });
    try {
      // listening once a connection gets through (the server shrugs off a connection that sends nothing)
      for (let i = 0; i < 50; i++) {
        const r = await execa('ip', ['netns', 'exec', from, 'nc', '-z', '-w', '1', to.ip, '5201'], {
          reject: false,
        });
        if (r.exitCode === 0) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      const r = await inNs(from, 'iperf3', ['-c', to.ip, '-t', String(SECONDS), '-J']);
      const j = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
      return j.end.sum_received.bits_per_second / 1e6;
    } finally {
      server.kill();
      await server;
    }
  }

  const [ua, ub, oa, ob] = await Promise.all([
    pod('ul-a', 'node1', 'ul10'),
    pod('ul-b', 'node2', 'ul10'),
    pod('ov-a', 'node1'),
    pod('ov-b', 'node2'),
  ]);
  // the paths take turns, round after round: the machine's speed drifts over minutes (another tenant's
  // load), and one measurement of each would compare two moments rather than two paths
  const paths = [
    { key: 'underlay', label: 'underlay (VLAN 10, no encapsulation)', a: ua, b: ub },
    { key: 'overlay', label: 'overlay (geneve)', a: oa, b: ob },
  ] as const;
  const rows: Row[] = [];
  const samples = new Map<string, { rtt: number[]; p99: number[]; mbps: number[] }>(
    paths.map((p) => [p.key, { rtt: [], p99: [], mbps: [] }]),
  );
  for (let round = 1; round <= ROUNDS; round++) {
    for (const p of paths) {
      const t = await rtts(p.a.netns, p.b.ip);
      const mbps = await throughputMbps(p.a.netns, p.b);
      const s = samples.get(p.key)!;
      s.rtt.push(pct(t, 50));
      s.p99.push(pct(t, 99));
      s.mbps.push(mbps);
      rows.push({
        round,
        path: p.label,
        replies: t.length,
        rtt_p50_ms: round2(pct(t, 50)),
        rtt_p99_ms: round2(pct(t, 99)),
        tcp_mbps: Math.round(mbps),
      });
    }
  }
  const median = (xs: number[]) => pct(xs, 50);
  const figures: Record<string, number | string> = { rounds: ROUNDS, pings: PINGS, iperf_seconds: SECONDS };
  for (const p of paths) {
    const s = samples.get(p.key)!;
    figures[`${p.key}_rtt_p50_ms`] = round2(median(s.rtt));
    figures[`${p.key}_rtt_p99_ms`] = round2(median(s.p99));
    figures[`${p.key}_tcp_mbps`] = Math.round(median(s.mbps));
  }
  figures.rtt_p50_ratio_overlay_vs_underlay = round2(
    (figures.overlay_rtt_p50_ms as number) / (figures.underlay_rtt_p50_ms as number),
  );
  figures.tcp_ratio_underlay_vs_overlay = round2(
    (figures.underlay_tcp_mbps as number) / (figures.overlay_tcp_mbps as number),
  );
  printTable(
    'pod to pod across nodes (userspace OVS datapath on both paths); figures are medians of the rounds',
    rows,
  );
  printFigures(figures);
} finally {
  await cluster.stop();
}
