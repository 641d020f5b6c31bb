// The lab's node agents in one process: a kubelet per simulated node, the scheduler and the EndpointSlice
// controller (the lab has no kube-controller-manager). One process for all nodes keeps the lab light (each
// Node.js process costs ~60 MB). Configured by a JSON file:
// `node --import tsx src/lab/kubelet-main.ts <dir>/kubelets.json`.
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { logProcessExit } from '../controller/exit-log.ts';
import { ApiHealth } from '../controller/k8s/api-health.ts';
import { startEndpointSlices } from './endpoint-slices.ts';
import { type Kubelet, startKubelet } from './kubelet.ts';
import { startScheduler } from './scheduler.ts';

export interface KubeletsConfig {
  kubeconfig: string;
  nodes: {
    name: string;
    netns: string;
    ip: string;
    cniConf: string;
    cacheDir: string;
    podNetnsPrefix: string;
  }[];
  cniBinDirs: string[];
}

const file = process.argv[2];
if (!file) throw new Error('usage: kubelet-main.ts <config.json>');
const cfg = JSON.parse(readFileSync(file, 'utf8')) as KubeletsConfig;
const log = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { component: 'lab-kubelet' } });
logProcessExit(log);
// one view of the API server for every watch of this process: an outage is one log line, not one per watch
const health = new ApiHealth(log);

const kubelets: Kubelet[] = cfg.nodes.map((n) =>
  startKubelet({
    kube: cfg.kubeconfig,
    nodeName: n.name,
    nodeNetns: n.netns,
    nodeIp: n.ip,
    podNetnsPrefix: n.podNetnsPrefix,
    cniConf: n.cniConf,
    cniBinDirs: cfg.cniBinDirs,
    cacheDir: n.cacheDir,
    log: log.child({ node: n.name }),
    health,
  }),
);
const scheduler = startScheduler({
  kube: cfg.kubeconfig,
  log: log.child({ component: 'lab-scheduler' }),
  health,
});
const endpointSlices = startEndpointSlices({
  kube: cfg.kubeconfig,
  log: log.child({ component: 'lab-endpointslices' }),
  health,
});
await Promise.all([...kubelets.map((k) => k.ready), scheduler.ready, endpointSlices.ready]);
log.info({ nodes: cfg.nodes.map((n) => n.name) }, 'kubelets ready');

const shutdown = async () => {
  await Promise.allSettled([scheduler.stop(), endpointSlices.stop(), ...kubelets.map((k) => k.stop())]);
  process.exit(0);
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
