// npm run bench -- controller [pods]
// The controller as its own process against the embedded API server (its own process) and a real
// OVN_Northbound ovsdb-server: 100 subnets bound to 100 namespaces, 100 nodes, then pods created as fast as
// the API accepts them (64 in flight) in two steps (1k, then up to 10k), each followed by a controller
// restart timed from process start to its first idle queue ("synced").
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig, type V1Pod, Watch } from '@kubernetes/client-node';
import { startApiServerProcess } from '../src/apiserver/spawn.ts';
import { Ann } from '../src/controller/k8s/annotations.ts';
import { Lab } from '../src/lab/lab.ts';
import { memMb, startController } from './_controller.ts';
import { printFigures, printTable, type Row } from './_report.ts';

const TOTAL = Number(process.argv[2] ?? 10_000);
const STEPS = [Math.min(1_000, TOTAL), TOTAL];
const SUBNETS = 100;
const NODES = 100;
const root = join(import.meta.dirname, '..');

async function pool<T>(items: T[], width: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

const lab = await Lab.start({ northd: false });
const dir = mkdtempSync(join(tmpdir(), 'ovnk-bench-'));
const kubeconfig = join(dir, 'kubeconfig');
const apiserver = await startApiServerProcess({
  kubeconfigPath: kubeconfig,
  manifests: [join(root, 'deploy/crds')],
});
let controller = startController(kubeconfig, lab.central.nb.unixRemotes);
const rows: Row[] = [];
const figures: Record<string, number> = { pods: TOTAL, subnets: SUBNETS, nodes: NODES };
try {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  await controller.synced;
  console.error(`controller up; creating ${SUBNETS} subnets and ${NODES} nodes`);
  for (let i = 0; i < SUBNETS; i++) {
    await core.createNamespace({ body: { metadata: { name: `ns${i}` } } });
    await custom.createClusterCustomObject({
      group: 'kubeovn.io',
      version: 'v1',
      plural: 'subnets',
      body: {
        apiVersion: 'kubeovn.io/v1',
        kind: 'Subnet',
        metadata: { name: `s${i}` },
        spec: { cidrBlock: `10.${100 + Math.floor(i / 50)}.${(i % 50) * 4}.0/22`, namespaces: [`ns${i}`] },
      },
    });
  }
  await pool(
    Array.from({ length: NODES }, (_, i) => i),
    16,
    (i) => core.createNode({ body: { metadata: { name: `node${i}` } } }),
  );

  // latency: from the create call to the moment a watch sees the pod routed
  const sent = new Map<string, number>();
  const done = new Map<string, number>();
  let wake: (() => void) | undefined;
  const watch = await new Watch(kc).watch(
    '/api/v1/pods',
    {},
    (_type: string, obj: V1Pod) => {
      const key = `${obj.metadata?.namespace}/${obj.metadata?.name}`;
      if (obj.metadata?.annotations?.[Ann.routed] === 'true' && !done.has(key)) {
        done.set(key, Date.now());
        wake?.();
      }
    },
    () => undefined,
  );

  let created = 0;
  let busyMs = 0;
  for (const target of STEPS) {
    const batch = Array.from({ length: target - created }, (_, k) => created + k);
    const t0 = Date.now();
    await pool(batch, 64, async (i) => {
      const ns = `ns${i % SUBNETS}`;
      const name = `p${i}`;
      sent.set(`${ns}/${name}`, Date.now());
      await core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name, namespace: ns },
          spec: { nodeName: `node${i % NODES}`, containers: [{ name: 'c', image: 'x' }] },
        },
      });
    });
    const createdAt = Date.now();
    while (done.size < target) {
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 500);
      });
      if (Date.now() - t0 > 600_000)
        throw new Error(`only ${done.size} of ${target} pods annotated after 10 min`);
      process.stderr.write(`\r${done.size}/${target} pods annotated`);
    }
    const allAt = Date.now();
    busyMs += allAt - t0;
    const rss = memMb(controller.child.pid!, 'VmHWM');
    rows.push({
      step: `create ${target - created} pods (to ${target})`,
      api_create_ms: createdAt - t0,
      all_annotated_ms: allAt - t0,
      pods_per_s: Math.round(((target - created) * 1000) / (allAt - t0)),
      controller_peak_rss_mb: Math.round(rss),
    });
    created = target;

    // restart with `target` pods present: spawn to first idle queue
    controller.child.kill('SIGTERM');
    await controller.child;
    controller = startController(kubeconfig, lab.central.nb.unixRemotes);
    const resync = await controller.synced;
    figures[`restart_resync_${target}_ms`] = resync;
    rows.push({
      step: `restart with ${target} pods (spawn to synced)`,
      api_create_ms: 0,
      all_annotated_ms: resync,
      pods_per_s: 0,
      controller_peak_rss_mb: Math.round(memMb(controller.child.pid!, 'VmHWM')),
    });
  }
  watch.abort();
  const lat = [...sent].map(([k, t]) => (done.get(k) ?? Number.NaN) - t).sort((a, b) => a - b);
  figures.pods_per_s = Math.round((TOTAL * 1000) / busyMs);
  figures.p50_pod_annotated_ms = percentile(lat, 50);
  figures.p99_pod_annotated_ms = percentile(lat, 99);
  figures.restart_resync_ms = figures[`restart_resync_${TOTAL}_ms`]!;
  figures.controller_rss_mb = Math.round(Math.max(...rows.map((r) => Number(r.controller_peak_rss_mb))));
} finally {
  controller.child.kill('SIGTERM');
  await controller.child;
  await apiserver.stop();
  await lab.stop();
  rmSync(dir, { recursive: true, force: true });
}
printTable(
  `controller: ${TOTAL} pods over ${SUBNETS} subnets and ${NODES} nodes (API server and controller in their own processes, NB standalone, no northd)`,
  rows,
);
printFigures(figures);
