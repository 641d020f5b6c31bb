// Embedded API server throughput, measured from a separate client process as the controller sees it:
// 10k pods created over @kubernetes/client-node, 10 concurrent watchers, a 10k-pod list.
// The server runs as its own process (src/apiserver/main.ts) so client and server each have a core.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, type V1Pod, Watch } from '@kubernetes/client-node';
import { startApiServerProcess } from '../src/apiserver/spawn.ts';
import { printFigures, printTable, type Row, timeMs } from './_report.ts';

const pods = Number(process.env.BENCH_PODS ?? 10_000);
const watchers = 10;
const concurrency = 64;
const ns = 'bench';

const dir = mkdtempSync(join(tmpdir(), 'bench-apiserver-'));
const kubeconfigPath = join(dir, 'kubeconfig');
const server = await startApiServerProcess({ kubeconfigPath, historySize: pods * 2 + 100 });
const url = server.url;

/** CPU seconds (user + system) the server process has used so far. */
function cpuSeconds(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssMb(pid: number | undefined): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

const kc = new KubeConfig();
kc.loadFromFile(kubeconfigPath);
const core = kc.makeApiClient(CoreV1Api);
await core.createNamespace({ body: { metadata: { name: ns } } });

const pod = (i: number): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: `pod-${String(i).padStart(5, '0')}`,
    labels: { app: `app-${i % 50}`, 'pod-template-hash': 'abc123' },
    annotations: { 'ovn.kubernetes.io/logical_switch': 'ovn-default' },
  },
  spec: {
    nodeName: `node-${i % 20}`,
    containers: [{ name: 'main', image: 'registry.local/app:1.0', ports: [{ containerPort: 8080 }] }],
  },
});

interface Counter {
  n: number;
  stop(): void;
}

async function watch(resourceVersion: string, until: number, done: () => void): Promise<Counter> {
  const c: Counter = { n: 0, stop: () => {} };
  const ctl = await new Watch(kc).watch(
    `/api/v1/namespaces/${ns}/pods`,
    { resourceVersion },
    (type) => {
      if (type === 'ADDED' && ++c.n === until) done();
    },
    () => {},
  );
  c.stop = () => ctl.abort();
  return c;
}

function allDone(n: number): { promise: Promise<void>; one: () => void } {
  let left = n;
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, one: () => --left === 0 && resolve() };
}

// Phase 1: creates, with 10 live watchers following along.
const startRv = (await core.listNamespacedPod({ namespace: ns })).metadata!.resourceVersion!;
const live = allDone(watchers);
const liveWatchers = await Promise.all(
  Array.from({ length: watchers }, () => watch(startRv, pods, live.one)),
);
let next = 0;
let lastCreateAt = 0;
const cpuBefore = cpuSeconds(server.pid);
const createMs = await timeMs(async () => {
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < pods) await core.createNamespacedPod({ namespace: ns, body: pod(next++) });
    }),
  );
  lastCreateAt = performance.now();
});
await live.promise;
const serverCreateCpu = cpuSeconds(server.pid) - cpuBefore;
const liveLagMs = performance.now() - lastCreateAt;
for (const w of liveWatchers) w.stop();

// Phase 2: fan-out alone: 10 new watchers resume from before the creates and receive all 10k events each.
const replay = allDone(watchers);
let replayWatchers: Counter[] = [];
const fanoutMs = await timeMs(async () => {
  replayWatchers = await Promise.all(
    Array.from({ length: watchers }, () => watch(startRv, pods, replay.one)),
  );
  await replay.promise;
});
for (const w of replayWatchers) w.stop();

// Phase 3: lists of all pods, through client-node (typed objects) and as raw JSON.
let listed = 0;
const listMs = await timeMs(async () => {
  listed = (await core.listNamespacedPod({ namespace: ns })).items.length;
});
let rawBytes = 0;
const rawListMs = await timeMs(async () => {
  rawBytes = (await (await fetch(`${url}/api/v1/namespaces/${ns}/pods`)).arrayBuffer()).byteLength;
});
const selectorMs = await timeMs(() =>
  core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=node-3', labelSelector: 'app=app-3' }),
);
const serverRss = rssMb(server.pid);

await server.stop();
rmSync(dir, { recursive: true, force: true });
if (listed !== pods) throw new Error(`listed ${listed} pods, created ${pods}`);

const rows: Row[] = [
  {
    phase: `create ${pods} pods (client-node, ${concurrency} in flight)`,
    ms: createMs,
    rate_per_s: (pods / createMs) * 1000,
  },
  {
    phase: '  server CPU for those creates and live fan-out',
    ms: serverCreateCpu * 1000,
    rate_per_s: pods / serverCreateCpu,
  },
  { phase: `  ${watchers} live watchers: lag after last create`, ms: liveLagMs, rate_per_s: 0 },
  {
    phase: `watch fan-out: ${watchers} x ${pods} events (resume)`,
    ms: fanoutMs,
    rate_per_s: ((watchers * pods) / fanoutMs) * 1000,
  },
  { phase: `list ${pods} pods (client-node, typed)`, ms: listMs, rate_per_s: (pods / listMs) * 1000 },
  {
    phase: `list ${pods} pods (raw JSON, ${(rawBytes / 1e6).toFixed(1)} MB)`,
    ms: rawListMs,
    rate_per_s: (pods / rawListMs) * 1000,
  },
  { phase: 'list all namespaces with field+label selector', ms: selectorMs, rate_per_s: 0 },
];
printTable(`embedded apiserver (server RSS ${serverRss.toFixed(0)} MB after the run)`, rows);
printFigures({
  create_pods_per_s: Math.round((pods / createMs) * 1000),
  watch_fanout_events_per_s: Math.round(((watchers * pods) / fanoutMs) * 1000),
  list_10k_pods_ms: Math.round(listMs),
  list_10k_pods_raw_ms: Math.round(rawListMs),
  watch_live_lag_ms: Math.round(liveLagMs),
  server_cpu_us_per_create: Math.round((serverCreateCpu / pods) * 1e6),
  server_rss_mb: Math.round(serverRss),
  pods,
  watchers,
});
