// `npm run lab -- <subcommand>`: a whole cluster on this machine (see cluster.ts).
//   up [--nodes N] [--encap geneve|vxlan]   start it, apply deploy/examples, measure connectivity
//   down [<dir>]                             remove every cluster (or one): processes, namespaces, veths, taps
//   status                                   what runs
//   kubeconfig                               the kubeconfig path of the newest cluster (for kubectl)
//   exec <namespace>/<pod> -- <command...>   run a command in a pod's network namespace
//   host add NAME --vlan ID --ip CIDR [--gw IP] [--router] | host exec NAME -- CMD | host del NAME
//                                            hosts on the VLAN fabric the nodes' eth1 are trunks of
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { execa } from 'execa';
import { Cluster, type ClusterManifest, readClusterManifest } from './cluster.ts';
import { endpoints, formatMatrix, measure } from './connectivity.ts';
import {
  addFabricHost,
  fabricHostNetns,
  labNetns,
  labProcesses,
  labRoot,
  removeFabricHost,
  teardownLabDir,
} from './lab.ts';
import { podNetnsName } from './pod-sandboxes.ts';

const repoRoot = join(import.meta.dirname, '../..');

/** Cluster directories under the lab root, newest first. */
function clusterDirs(): string[] {
  const root = labRoot();
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((d) => join(root, d))
    .filter((d) => existsSync(join(d, 'cluster.json')))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
}

function newest(): ClusterManifest {
  const d = clusterDirs()[0];
  if (!d) throw new Error('no cluster is running: npm run lab -- up');
  return readClusterManifest(d);
}

interface PodView {
  namespace: string;
  name: string;
  node: string;
  ip: string;
  phase: string;
}

async function listPods(m: ClusterManifest): Promise<PodView[]> {
  const kc = new KubeConfig();
  kc.loadFromFile(m.kubeconfig);
  const pods = await kc.makeApiClient(CoreV1Api).listPodForAllNamespaces();
  return pods.items.map((p) => ({
    namespace: p.metadata?.namespace ?? '',
    name: p.metadata?.name ?? '',
    node: p.spec?.nodeName ?? '',
    ip: p.status?.podIP ?? '',
    phase: p.status?.phase ?? 'Pending',
  }));
}

async function waitRunning(m: ClusterManifest, timeoutMs: number): Promise<PodView[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pods = await listPods(m);
    const pending = pods.filter((p) => p.phase !== 'Running');
    if (pods.length > 0 && pending.length === 0) return pods;
    if (Date.now() > deadline)
      throw new Error(
        `pods not Running after ${timeoutMs} ms: ${pending.map((p) => `${p.namespace}/${p.name}`).join(', ')}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function up(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { nodes: { type: 'string', default: '2' }, encap: { type: 'string', default: 'geneve' } },
  });
  const t0 = Date.now();
  const say = (msg: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${msg}`);
  const cluster = await Cluster.start({
    nodes: Number(values.nodes),
    encap: values.encap === 'vxlan' ? 'vxlan' : 'geneve',
    progress: say,
  });
  const m = cluster.manifest;
  try {
    say('applying deploy/examples with kubectl');
    await execa('kubectl', [
      '--kubeconfig',
      m.kubeconfig,
      'create',
      '--validate=false',
      '-f',
      join(repoRoot, 'deploy/examples'),
    ]);
    const pods = await waitRunning(m, 60_000);
    say(`${pods.length} pods Running`);
    console.log(
      `\n${pods.map((p) => `  ${`${p.namespace}/${p.name}`.padEnd(20)} ${p.node.padEnd(8)} ${p.ip}`).join('\n')}\n`,
    );
    say('measuring connectivity (ping and TCP between every pair; nodes through ovn0)');
    const eps = endpoints(m, pods);
    const probes = await measure(eps);
    console.log(`\n${formatMatrix(eps, probes)}\n`);
    const failed = probes.filter((p) => !p.ping || p.tcp === false);
    say(
      failed.length === 0
        ? `all ${probes.length} probes passed`
        : `${failed.length} of ${probes.length} probes FAILED`,
    );
    console.log('\nnorthbound (ovn-nbctl show):\n');
    console.log((await execa('ovn-nbctl', ['show'], { env: m.env })).stdout);
    console.log(`
cluster up in ${((Date.now() - t0) / 1000).toFixed(1)} s (state in ${m.dir})
  export KUBECONFIG=${m.kubeconfig}
  kubectl get pods -A -o wide; kubectl get subnets,ips
  npm run lab -- exec default/web-1 -- ping -c 3 <pod ip>
  npm run lab -- down`);
    if (failed.length > 0) process.exitCode = 1;
  } catch (e) {
    console.error(
      `lab up failed: ${(e as Error).message}\n(the cluster is left running for inspection in ${m.dir}; npm run lab -- down)`,
    );
    process.exitCode = 1;
  }
}

async function down(argv: string[]): Promise<void> {
  const dirs = argv.length > 0 ? argv : clusterDirs();
  for (const d of dirs) {
    try {
      await teardownLabDir(d);
      console.log(`removed ${d}`);
    } catch (e) {
      console.error((e as Error).message);
      process.exitCode = 1;
    }
  }
}

async function status(): Promise<void> {
  const dirs = clusterDirs();
  if (dirs.length === 0) console.log('no cluster');
  for (const d of dirs) {
    const m = readClusterManifest(d);
    const pods = await listPods(m).catch(() => undefined);
    console.log(
      `${d}: ${m.nodes.length} nodes, ${labProcesses(d).length} processes, ${labNetns(d).length} namespaces, ` +
        `${pods ? `${pods.filter((p) => p.phase === 'Running').length}/${pods.length} pods Running` : 'API server not answering'}`,
    );
  }
}

async function exec(argv: string[]): Promise<void> {
  const sep = argv.indexOf('--');
  const target = argv[0];
  const cmd = sep >= 0 ? argv.slice(sep + 1) : argv.slice(1);
  if (!target?.includes('/') || cmd.length === 0)
    throw new Error('usage: exec <namespace>/<pod> -- <command...>');
  const [namespace, name] = target.split('/') as [string, string];
  const m = newest();
  const pod = (await listPods(m)).find((p) => p.namespace === namespace && p.name === name);
  const node = m.nodes.find((n) => n.name === pod?.node);
  if (!pod || !node) throw new Error(`pod ${target} is not running on a node of this cluster`);
  const r = await execa('ip', ['netns', 'exec', podNetnsName(node.podNetnsPrefix, namespace, name), ...cmd], {
    stdio: 'inherit',
    reject: false,
  });
  process.exitCode = r.exitCode ?? 1;
}

/**
 * host add NAME --vlan ID --ip CIDR [--gw IP] [--router] | host exec NAME -- CMD... | host del NAME: hosts
 * of the newest cluster's VLAN fabric, each an access port of one VLAN (src/lab/fabric.ts).
 */
async function host(argv: string[]): Promise<void> {
  const [sub, name, ...more] = argv;
  const usage =
    'usage: host add NAME --vlan ID --ip CIDR [--gw IP] [--router] | host exec NAME -- CMD... | host del NAME';
  if (!name) throw new Error(usage);
  const dir = newest().dir;
  if (sub === 'add') {
    const { values } = parseArgs({
      args: more,
      options: {
        vlan: { type: 'string' },
        ip: { type: 'string' },
        gw: { type: 'string' },
        router: { type: 'boolean', default: false },
      },
    });
    if (values.vlan === undefined || !/^\d+$/.test(values.vlan) || !values.ip?.includes('/'))
      throw new Error(usage);
    const h = await addFabricHost(dir, {
      name,
      vlan: Number(values.vlan),
      cidr: values.ip,
      gateway: values.gw,
      router: values.router,
    });
    console.log(
      `host ${name}: ${h.cidr} on VLAN ${h.vlan}${h.router ? ', forwarding' : ''} (netns ${h.netns})`,
    );
  } else if (sub === 'exec') {
    const sep = more.indexOf('--');
    const cmd = sep >= 0 ? more.slice(sep + 1) : more;
    const netns = fabricHostNetns(dir, name);
    if (!netns) throw new Error(`no host ${name}`);
    if (cmd.length === 0) throw new Error(usage);
    const r = await execa('ip', ['netns', 'exec', netns, ...cmd], { stdio: 'inherit', reject: false });
    process.exitCode = r.exitCode ?? 1;
  } else if (sub === 'del') {
    if (!fabricHostNetns(dir, name)) throw new Error(`no host ${name}`);
    await removeFabricHost(dir, name);
    console.log(`host ${name} removed`);
  } else throw new Error(usage);
}

const [cmd, ...rest] = process.argv.slice(2);
try {
  switch (cmd) {
    case 'up':
      await up(rest);
      break;
    case 'down':
      await down(rest);
      break;
    case 'status':
      await status();
      break;
    case 'kubeconfig':
      console.log(newest().kubeconfig);
      break;
    case 'exec':
      await exec(rest);
      break;
    case 'host':
      await host(rest);
      break;
    default:
      console.error(
        'usage: npm run lab -- up [--nodes N] | down [<dir>] | status | kubeconfig | exec <ns>/<pod> -- <cmd> | host add|exec|del ...',
      );
      process.exitCode = 2;
  }
} catch (e) {
  console.error((e as Error).message);
  process.exitCode = 1;
}
