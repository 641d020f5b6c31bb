// Pod networking latency on the lab cluster (2 nodes, geneve): from the Pod's creation in the API to the
// first ping that reaches it from the other node's ovn0, for 100 pods created one by one and for 50 created
// at once; the daemon's CNI ADD time (from its per-pod log line); and the plugin process's own cost.
//   npm run bench -- cni [pods-one-by-one] [burst]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, type V1Pod, Watch } from '@kubernetes/client-node';
import { execa } from 'execa';
import { Cluster } from '../src/lab/cluster.ts';
import { measureCniOverhead } from './_cni-overhead.ts';
import { printFigures, printTable } from './_report.ts';

const ONE_BY_ONE = Number(process.argv[2] ?? 100);
const BURST = Number(process.argv[3] ?? 50);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : Number.NaN;
};
const round = (x: number) => Math.round(x);

const cluster = await Cluster.start({ nodes: 2 });
try {
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.manifest.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const nodes = cluster.manifest.nodes;

  // pod IPs as the kubelets report them, from one watch (no polling of the API)
  const ipOf = new Map<string, string>();
  const ipWaiters = new Map<string, (ip: string) => void>();
  const watch = await new Watch(kc).watch(
    '/api/v1/namespaces/default/pods',
    {},
    (_t, p: V1Pod) => {
      const ip = p.status?.podIP;
      const name = p.metadata!.name!;
      if (ip && !ipOf.has(name)) {
        ipOf.set(name, ip);
        ipWaiters.get(name)?.(ip);
      }
    },
    () => undefined,
  );
  const podIp = (name: string) =>
    ipOf.has(name) ? Promise.resolve(ipOf.get(name)!) : new Promise<string>((r) => ipWaiters.set(name, r));

  /** Pings from the other node's ovn0 until a reply comes back; returns when it did. */
  async function firstPing(ip: string, fromNode: number): Promise<void> {
    const ns = nodes[fromNode]!.netns;
    for (let i = 0; i < 600; i++) {
      const r = await execa('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-W', '0.2', '-q', ip], {
        reject: false,
      });
      if (r.exitCode === 0) return;
    }
    throw new Error(`no ping reply from ${ip}`);
  }

  async function createAndReach(name: string, k: number): Promise<number> {
    const t0 = performance.now();
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name },
        spec: { nodeName: nodes[k % nodes.length]!.name, containers: [{ name: 'c', image: 'pause' }] },
      },
    });
    const ip = await podIp(name);
    await firstPing(ip, (k + 1) % nodes.length);
    return performance.now() - t0;
  }

  // warm-up: the first pod pays for connection set-up everywhere
  await createAndReach('warm', 0);

  const sequential: number[] = [];
  for (let i = 0; i < ONE_BY_ONE; i++) sequential.push(await createAndReach(`seq-${i}`, i));

  const tBurst = performance.now();
  const burst = await Promise.all(Array.from({ length: BURST }, (_, i) => createAndReach(`burst-${i}`, i)));
  const burstAll = performance.now() - tBurst;
  watch.abort();

  // the daemons' own account of each ADD
  // the daemons' own account of each ADD, for the pods made one by one and for the burst apart: a burst's
  // ADDs queue behind each other for the two cores
  type Add = { total: number; wait: number; iface: number; ovs: number };
  const adds: { seq: Add[]; burst: Add[] } = { seq: [], burst: [] };
  for (const n of nodes) {
    for (const line of readFileSync(join(cluster.dir, n.name, 'ovnk', 'daemon.log'), 'utf8').split('\n')) {
      if (!line.includes('"msg":"cni add"')) continue;
      const j = JSON.parse(line) as Record<string, number> & { pod: string };
      const a = {
        total: j.total_ms!,
        wait: j.wait_address_ms!,
        iface: j.interface_ms!,
        ovs: j.ovs_installed_ms!,
      };
      if (j.pod.startsWith('default/seq-')) adds.seq.push(a);
      else if (j.pod.startsWith('default/burst-')) adds.burst.push(a);
    }
  }

  const overhead = await measureCniOverhead({ runs: 40 });

  printTable('pod creation in the API to first successful ping from the other node (ms)', [
    {
      case: `${ONE_BY_ONE} pods one by one`,
      p50: round(pct(sequential, 50)),
      p90: round(pct(sequential, 90)),
      p99: round(pct(sequential, 99)),
      max: round(Math.max(...sequential)),
    },
    {
      case: `${BURST} pods at once (each)`,
      p50: round(pct(burst, 50)),
      p90: round(pct(burst, 90)),
      p99: round(pct(burst, 99)),
      max: round(Math.max(...burst)),
    },
    { case: `${BURST} pods at once (all reachable)`, p50: round(burstAll), p90: '', p99: '', max: '' },
  ]);
  const part = (name: string, f: (a: Add) => number) => ({
    part: name,
    one_by_one_p50: round(pct(adds.seq.map(f), 50)),
    one_by_one_p99: round(pct(adds.seq.map(f), 99)),
    burst_p50: round(pct(adds.burst.map(f), 50)),
    burst_p99: round(pct(adds.burst.map(f), 99)),
  });
  printTable('daemon CNI ADD (ms, from its log)', [
    part('total (request to result)', (a) => a.total),
    part('waiting for the controller', (a) => a.wait),
    part('veth + pod interface', (a) => a.iface),
    part('OVS port until ovn-installed', (a) => a.ovs),
  ]);

  printTable('CNI plugin process (ms, p50)', [
    { what: 'node -e 0 (Node startup)', ms: overhead.baseline_node_ms },
    { what: 'plugin VERSION', ms: overhead.version_p50_ms },
    { what: 'plugin ADD, daemon answering at once', ms: overhead.add_p50_ms },
  ]);
  printFigures({
    pods_one_by_one: ONE_BY_ONE,
    burst: BURST,
    pod_ready_p50_ms: round(pct(sequential, 50)),
    pod_ready_p99_ms: round(pct(sequential, 99)),
    burst50_all_ready_ms: round(burstAll),
    cni_add_p50_ms: round(
      pct(
        adds.seq.map((a) => a.total),
        50,
      ),
    ),
    cni_add_p99_ms: round(
      pct(
        adds.seq.map((a) => a.total),
        99,
      ),
    ),
    cni_add_burst_p50_ms: round(
      pct(
        adds.burst.map((a) => a.total),
        50,
      ),
    ),
    cni_binary_overhead_ms: overhead.add_p50_ms,
    node_startup_ms: overhead.baseline_node_ms,
  });
} finally {
  await cluster.stop();
}
