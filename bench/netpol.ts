// npm run bench -- netpol [--northd]
// NetworkPolicies and Services at scale: the controller as its own process against the embedded API server
// (its own process) and a real standalone OVN_Northbound ovsdb-server (ovn-northd only with --northd; it
// reads NB and changes nothing the bench measures). 20 namespaces, 1000 pods addressed by the controller
// (no nodes or daemons: a pod counts as addressed once its ovn.kubernetes.io/routed annotation is seen and
// its port is in NB), then 100 Services with EndpointSlices written directly (there is no endpoint
// controller), 200 NetworkPolicies of ten shapes, and a label change on 500 pods.
//
// "Converged" is read from NB through a monitor of our own, never timed with a sleep: the NB contents must
// equal what this file computes on its own from the objects it created, with a model of each policy shape
// written here (not the controller's planner):
// - per policy (rows tagged external_ids:np=<ns>/<name>): exactly one Port_Group whose ports are the LSPs
//   of the pods the policy selects, exactly the expected number of ACLs, and Address_Sets whose contents
//   equal, as a multiset, the expected peer sets and named-port sets; no rows for any other policy;
// - for Services: the six cluster load balancers' VIPs equal the expected "<clusterIP>:<port>" ->
//   ready backends, exactly.
// A phase's time runs from its first API call to the NB update after which the contents matched.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1NetworkPolicy,
  type V1Pod,
  type V1Service,
  Watch,
} from '@kubernetes/client-node';
import { type ApiServerProcess, startApiServerProcess } from '../src/apiserver/spawn.ts';
import { Ann } from '../src/controller/k8s/annotations.ts';
import { Lab } from '../src/lab/lab.ts';
import type { Tables } from '../src/ovsdb/generated/ovn-nb.ts';
import { OvsdbClient, type Replica } from '../src/ovsdb/index.ts';
import { type ControllerProcess, memMb, startController } from './_controller.ts';
import { printFigures, printTable, type Row } from './_report.ts';

const NAMESPACES = 20;
const PODS_PER_NS = 50;
const POLICY_SHAPES = 10; // per namespace: 200 policies
const SERVICES_PER_NS = 5; // 100 services
const RELABELLED_PER_NS = 25; // 500 pods
const PHASE_TIMEOUT_MS = 300_000;
const NORTHD = process.argv.includes('--northd');
const root = join(import.meta.dirname, '..');

// ---------------------------------------------------------------------------------------------------------
// The world the bench creates, and what NB should hold for it

const TIERS = ['web', 'api', 'db'] as const;
const nsName = (i: number) => `ns${String(i).padStart(2, '0')}`;
const nsLabels = (i: number) => ({ team: `t${i % 4}`, env: i % 2 === 0 ? 'prod' : 'dev' });

interface PodModel {
  ns: number;
  j: number;
  name: string;
  labels: Record<string, string>;
  /** Container ports by name (fixed at creation: a relabel does not change them). */
  http: number;
  metrics?: number;
  ip: string;
}

function podLabels(j: number, relabelled: boolean): Record<string, string> {
  // a relabel moves the pod to the next tier and app and to ver v2: in and out of most policies' selections
  const k = relabelled ? 1 : 0;
  return { app: `a${(j + k) % 5}`, tier: TIERS[(j + k) % 3]!, ver: relabelled ? 'v2' : 'v1' };
}

function podBody(i: number, j: number): V1Pod {
  const tier = podLabels(j, false).tier;
  return {
    metadata: { name: `p${String(j).padStart(2, '0')}`, namespace: nsName(i), labels: podLabels(j, false) },
    spec: {
      containers: [
        {
          name: 'c',
          image: 'x',
          ports: [
            { name: 'http', containerPort: j % 2 === 0 ? 8080 : 80 },
            ...(tier === 'api' ? [{ name: 'metrics', containerPort: 9090 }] : []),
          ],
        },
      ],
    },
  };
}

/** Shape k of namespace i's policies (see expectPolicy for what each should make in NB). */
function policyBody(i: number, k: number): V1NetworkPolicy {
  const namespace = nsName(i);
  const tier = (t: string) => ({ matchLabels: { tier: t } });
  const meta = (name: string) => ({ name, namespace });
  switch (k) {
    case 0:
      return { metadata: meta('deny-all-ingress'), spec: { podSelector: {}, policyTypes: ['Ingress'] } };
    case 1:
      return {
        metadata: meta('db-from-api'),
        spec: {
          podSelector: tier('db'),
          ingress: [{ _from: [{ podSelector: tier('api') }], ports: [{ port: 5432 }] }],
        },
      };
    case 2:
      return {
        metadata: meta('web-from-team'),
        spec: {
          podSelector: tier('web'),
          ingress: [
            {
              _from: [
                { namespaceSelector: { matchLabels: { team: `t${(i + 1) % 4}` } }, podSelector: tier('web') },
              ],
              ports: [{ port: 'http' }],
            },
          ],
        },
      };
    case 3:
      return {
        metadata: meta('egress-external'),
        spec: {
          podSelector: { matchLabels: { app: `a${i % 5}` } },
          policyTypes: ['Egress'],
          egress: [
            {
              to: [
                { ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] } },
              ],
              ports: [{ port: 443 }, { protocol: 'UDP', port: 53 }],
            },
          ],
        },
      };
    case 4:
      return {
        metadata: meta('api-both'),
        spec: {
          podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['api'] }] },
          ingress: [{ _from: [{ namespaceSelector: { matchLabels: { env: 'prod' } } }] }],
          egress: [{ to: [{ podSelector: tier('db') }], ports: [{ port: 5432, endPort: 5440 }] }],
        },
      };
    case 5:
      return {
        metadata: meta('metrics-egress'),
        spec: {
          podSelector: { matchLabels: { app: `a${(i + 2) % 5}` } },
          policyTypes: ['Egress'],
          egress: [
            { to: [{ namespaceSelector: {}, podSelector: tier('api') }], ports: [{ port: 'metrics' }] },
          ],
        },
      };
    case 6:
      return {
        metadata: meta('web-mixed'),
        spec: {
          podSelector: tier('web'),
          ingress: [
            {
              _from: [
                { ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.1.0/24'] } },
                {
                  podSelector: {
                    matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['a0', 'a1'] }],
                  },
                },
              ],
              ports: [
                { protocol: 'TCP', port: 80 },
                { protocol: 'TCP', port: 'http' },
              ],
            },
          ],
        },
      };
    case 7:
      return {
        metadata: meta('egress-dns'),
        spec: {
          podSelector: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] },
          policyTypes: ['Egress'],
          egress: [
            { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': nsName(0) } } }] },
            {
              ports: [
                { protocol: 'UDP', port: 53 },
                { protocol: 'TCP', port: 53 },
              ],
            },
          ],
        },
      };
    case 8: {
      const app = `a${(i + 3) % 5}`;
      return {
        metadata: meta('same-app'),
        spec: {
          podSelector: { matchLabels: { app } },
          ingress: [{ _from: [{ podSelector: { matchLabels: { app } } }] }],
        },
      };
    }
    default:
      return {
        metadata: meta('v2-cross'),
        spec: {
          podSelector: { matchLabels: { ver: 'v2' } },
          ingress: [
            {
              _from: [
                {
                  namespaceSelector: { matchLabels: { team: `t${i % 4}` } },
                  podSelector: { matchLabels: { ver: 'v2' } },
                },
              ],
              ports: [
                { protocol: 'TCP', port: 8000, endPort: 8100 },
                { protocol: 'SCTP', port: 9999 },
              ],
            },
          ],
          egress: [
            {
              to: [
                { ipBlock: { cidr: '10.16.0.0/16', except: ['10.16.0.0/24', '10.16.255.0/24'] } },
                { podSelector: {} },
              ],
            },
          ],
        },
      };
  }
}

interface PolicyExpectation {
  /** "<pod>.<ns>" of the selected pods (their LSP names). */
  selected: string[];
  /** Every address set's contents, each sorted, the list sorted. */
  sets: string[];
  acls: number;
}

const lspOf = (p: PodModel) => `${p.name}.${nsName(p.ns)}`;
const setOf = (pods: PodModel[]) =>
  pods
    .map((p) => p.ip)
    .sort()
    .join(',');

/** Named-port sets: the pods grouped by the number they give the port (pods without it left out). */
function byNumber(pods: PodModel[], port: (p: PodModel) => number | undefined): string[] {
  const groups = new Map<number, PodModel[]>();
  for (const p of pods) {
    const n = port(p);
    if (n !== undefined) groups.set(n, [...(groups.get(n) ?? []), p]);
  }
  return [...groups.values()].map(setOf);
}

/**
 * What policy k of namespace i should make, from the pods as labelled now. ACLs per direction: drop, nd and
 * (ingress) the nodes' allow or (egress) DHCP, then one per numbered port (or one for all ports) of each
 * rule, and one per distinct number a named port resolves to.
 */
function expectPolicy(i: number, k: number, pods: PodModel[]): PolicyExpectation {
  const here = pods.filter((p) => p.ns === i);
  const where = (list: PodModel[], pred: (l: Record<string, string>) => boolean) =>
    list.filter((p) => pred(p.labels));
  const tierIs = (t: string) => (l: Record<string, string>) => l.tier === t;
  let selected: PodModel[];
  let sets: string[];
  let acls: number;
  switch (k) {
    case 0:
      [selected, sets, acls] = [here, [], 3];
      break;
    case 1:
      [selected, sets, acls] = [where(here, tierIs('db')), [setOf(where(here, tierIs('api')))], 4];
      break;
    case 2: {
      selected = where(here, tierIs('web'));
      const peers = where(
        pods.filter((p) => nsLabels(p.ns).team === `t${(i + 1) % 4}`),
        tierIs('web'),
      );
      const named = byNumber(selected, (p) => p.http);
      [sets, acls] = [[setOf(peers), ...named], 3 + named.length];
      break;
    }
    case 3:
      [selected, sets, acls] = [where(here, (l) => l.app === `a${i % 5}`), [], 5];
      break;
    case 4:
      selected = where(here, tierIs('api'));
      sets = [setOf(pods.filter((p) => nsLabels(p.ns).env === 'prod')), setOf(where(here, tierIs('db')))];
      acls = 8;
      break;
    case 5: {
      selected = where(here, (l) => l.app === `a${(i + 2) % 5}`);
      const peers = where(pods, tierIs('api'));
      const named = byNumber(peers, (p) => p.metrics);
      [sets, acls] = [[setOf(peers), ...named], 3 + named.length];
      break;
    }
    case 6: {
      selected = where(here, tierIs('web'));
      const named = byNumber(selected, (p) => p.http);
      sets = [setOf(where(here, (l) => l.app !== 'a0' && l.app !== 'a1')), ...named];
      acls = 3 + 1 + named.length;
      break;
    }
    case 7:
      [selected, sets, acls] = [here, [setOf(pods.filter((p) => p.ns === 0))], 6];
      break;
    case 8:
      selected = where(here, (l) => l.app === `a${(i + 3) % 5}`);
      [sets, acls] = [[setOf(selected)], 4];
      break;
    default:
      selected = where(here, (l) => l.ver === 'v2');
      sets = [
        setOf(
          where(
            pods.filter((p) => nsLabels(p.ns).team === `t${i % 4}`),
            (l) => l.ver === 'v2',
          ),
        ),
        setOf(here),
      ];
      acls = 5 + 4;
  }
  return { selected: selected.map(lspOf), sets: sets.sort(), acls };
}

function expectAll(pods: PodModel[]): Map<string, PolicyExpectation> {
  const out = new Map<string, PolicyExpectation>();
  for (let i = 0; i < NAMESPACES; i++)
    for (let k = 0; k < POLICY_SHAPES; k++)
      out.set(`${nsName(i)}/${policyBody(i, k).metadata!.name}`, expectPolicy(i, k, pods));
  return out;
}

/** Service m of a namespace: its ports, the slice's resolved ports, and which app's pods back it. */
function serviceBody(
  i: number,
  m: number,
): { svc: V1Service; slicePorts: { name?: string; port: number; protocol: string }[] } {
  const metadata = { name: `svc${m}`, namespace: nsName(i) };
  const shapes: [V1Service['spec'], { name?: string; port: number; protocol: string }[]][] = [
    [
      { ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
      [{ name: 'http', port: 8080, protocol: 'TCP' }],
    ],
    [
      {
        ports: [
          { name: 'http', port: 80, targetPort: 8080 },
          { name: 'metrics', port: 9090, targetPort: 9090 },
        ],
      },
      [
        { name: 'http', port: 8080, protocol: 'TCP' },
        { name: 'metrics', port: 9090, protocol: 'TCP' },
      ],
    ],
    [
      { ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353 }] },
      [{ name: 'dns', port: 5353, protocol: 'UDP' }],
    ],
    [
      { sessionAffinity: 'ClientIP', ports: [{ name: 'https', port: 443, targetPort: 8443 }] },
      [{ name: 'https', port: 8443, protocol: 'TCP' }],
    ],
    [{ ports: [{ port: 8080, targetPort: 8080 }] }, [{ port: 8080, protocol: 'TCP' }]],
  ];
  const [spec, slicePorts] = shapes[m]!;
  return { svc: { metadata, spec }, slicePorts };
}

/** Backends of service m: the pods of app a<m> in its namespace; in svc4 the first one is not ready. */
const backendsOf = (i: number, m: number, pods: PodModel[]) =>
  pods.filter((p) => p.ns === i && p.j % 5 === m);

// ---------------------------------------------------------------------------------------------------------
// NB: a monitor of our own, and the comparison with the expectation

type Nb = Replica<Tables>;

/** The first difference between NB and the expected policies, or undefined when they agree. */
function policyMismatch(nb: Nb, want: Map<string, PolicyExpectation>): string | undefined {
  const groups = new Map<string, { ports: string[]; n: number }>();
  for (const pg of nb.rows('Port_Group')) {
    const np = pg.external_ids.np;
    if (!np) continue;
    if (!want.has(np)) return `port group ${pg.name} of unexpected policy ${np}`;
    if (groups.has(np)) return `two port groups for ${np}`;
    groups.set(np, { ports: [...pg.ports], n: pg.acls.length });
  }
  const sets = new Map<string, string[]>();
  for (const as of nb.rows('Address_Set')) {
    const np = as.external_ids.np;
    if (!np) continue;
    if (!want.has(np)) return `address set ${as.name} of unexpected policy ${np}`;
    sets.set(np, [...(sets.get(np) ?? []), [...as.addresses].sort().join(',')]);
  }
  const acls = new Map<string, number>();
  for (const acl of nb.rows('ACL')) {
    const np = acl.external_ids.np;
    if (np) acls.set(np, (acls.get(np) ?? 0) + 1);
  }
  for (const [np, w] of want) {
    const pg = groups.get(np);
    if (!pg) return `${np}: no port group`;
    const ports = new Set(pg.ports);
    const wantPorts = w.selected.map((lsp) => nb.byName('Logical_Switch_Port', lsp)[0]?._uuid);
    if (ports.size !== wantPorts.length || wantPorts.some((u) => !u || !ports.has(u)))
      return `${np}: port group has ${ports.size} ports, want ${wantPorts.length}`;
    if ((acls.get(np) ?? 0) !== w.acls || pg.n !== w.acls)
      return `${np}: ${acls.get(np) ?? 0} ACLs (${pg.n} on its port group), want ${w.acls}`;
    const got = (sets.get(np) ?? []).sort();
    if (got.length !== w.sets.length) return `${np}: ${got.length} address sets, want ${w.sets.length}`;
    const bad = got.findIndex((s, x) => s !== w.sets[x]);
    if (bad >= 0)
      return `${np}: address set contents differ (${got[bad]!.split(',').length} addresses vs ${w.sets[bad]!.split(',').length})`;
  }
  return undefined;
}

function lbMismatch(nb: Nb, want: Map<string, Record<string, string>>): string | undefined {
  for (const [name, vips] of want) {
    const lb = nb.byName('Load_Balancer', name)[0];
    if (!lb) return `no load balancer ${name}`;
    const got = lb.vips as Record<string, string>;
    const keys = Object.keys(vips);
    if (Object.keys(got).length !== keys.length)
      return `${name}: ${Object.keys(got).length} VIPs, want ${keys.length}`;
    const bad = keys.find((k) => got[k] !== vips[k]);
    if (bad) return `${name}: VIP ${bad} is ${got[bad]}, want ${vips[bad]}`;
  }
  return undefined;
}

/**
 * Resolves with the time of the NB update after which `mismatch` first reported nothing. Checks run after
 * updates, at most every 20 ms (so the bench does not compete with the controller for the two cores); the
 * time is that of the last update before the passing check, so the throttle does not add to it.
 */
function convergence(nb: Nb, mismatch: () => string | undefined, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let lastChange = Date.now();
    let timer: NodeJS.Timeout | undefined;
    let last: string | undefined;
    const check = () => {
      timer = undefined;
      last = mismatch();
      if (last === undefined) {
        finish();
        resolve(lastChange);
      }
    };
    const off = nb.onChange(() => {
      lastChange = Date.now();
      timer ??= setTimeout(check, 20);
    });
    const giveUp = setTimeout(() => {
      finish();
      reject(new Error(`${what}: NB not converged after ${PHASE_TIMEOUT_MS} ms: ${last ?? mismatch()}`));
    }, PHASE_TIMEOUT_MS);
    const finish = () => {
      off();
      clearTimeout(giveUp);
      if (timer) clearTimeout(timer);
    };
    check();
  });
}

/** Rows changed per table (inserted, modified, deleted) while counting is on. */
class RowChanges {
  readonly counts = new Map<string, number>();
  private readonly off: () => void;
  constructor(nb: Nb) {
    this.off = nb.onChange((c) => this.counts.set(c.table, (this.counts.get(c.table) ?? 0) + 1));
  }
  stop(): Record<string, number> {
    this.off();
    return Object.fromEntries(this.counts);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Processes

/** Sum of a Prometheus series over the label sets that contain `labels` (e.g. 'queue="pods"'). */
async function metric(address: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`http://${address}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || !line.includes(labels)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

async function pool<T>(items: T[], width: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------
// The run

const dir = mkdtempSync(join(tmpdir(), 'ovnk-bench-netpol-'));
const kubeconfig = join(dir, 'kubeconfig');
let lab: Lab | undefined;
let apiserver: ApiServerProcess | undefined;
let controller: ControllerProcess | undefined;
// On Ctrl-C the lab's own signal handler stops the lab and ends the process with process.exit, before the
// finally below runs: our children and the temp dir go here then (a controller told SIGTERM with its NB
// gone does not exit by itself).
process.once('exit', () => {
  for (const c of [controller?.child, apiserver?.child])
    if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});
let nbClient: OvsdbClient<Tables> | undefined;
const rows: Row[] = [];
const figures: Record<string, number | string> = {
  policies: NAMESPACES * POLICY_SHAPES,
  pods: NAMESPACES * PODS_PER_NS,
  services: NAMESPACES * SERVICES_PER_NS,
  namespaces: NAMESPACES,
  northd: NORTHD ? 'yes' : 'no',
};
let failed = false;
try {
  lab = await Lab.start({ northd: NORTHD });
  apiserver = await startApiServerProcess({
    kubeconfigPath: kubeconfig,
    manifests: [join(root, 'deploy/crds')],
  });
  controller = startController(kubeconfig, lab.central.nb.unixRemotes);
  nbClient = await OvsdbClient.connect<Tables>({
    remotes: lab.central.nb.unixRemotes,
    database: 'OVN_Northbound',
  });
  const nb = await nbClient.monitor({
    Logical_Switch_Port: { columns: ['name'] },
    Port_Group: {},
    Address_Set: {},
    ACL: {},
    Load_Balancer: {},
  });
  await controller.synced;
  const debug = await controller.debugAddress;
  const ctlPid = controller.child.pid!;

  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const networking = kc.makeApiClient(NetworkingV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);

  // 1. namespaces and pods, until every pod is routed and its port is in NB
  const nsIdx = Array.from({ length: NAMESPACES }, (_, i) => i);
  const podIdx = nsIdx.flatMap((i) => Array.from({ length: PODS_PER_NS }, (_, j) => [i, j] as const));
  const routed = new Set<string>();
  let wake: (() => void) | undefined;
  const watch = await new Watch(kc).watch(
    '/api/v1/pods',
    {},
    (_type: string, obj: V1Pod) => {
      if (obj.metadata?.annotations?.[Ann.routed] !== 'true') return;
      routed.add(`${obj.metadata.namespace}/${obj.metadata.name}`);
      wake?.();
    },
    () => undefined,
  );
  let txns0 = await metric(debug, 'ovnk_ovsdb_transaction_seconds_count');
  let t0 = Date.now();
  for (const i of nsIdx)
    await core.createNamespace({ body: { metadata: { name: nsName(i), labels: nsLabels(i) } } });
  await pool(podIdx, 64, ([i, j]) => core.createNamespacedPod({ namespace: nsName(i), body: podBody(i, j) }));
  const podApiMs = Date.now() - t0;
  while (routed.size < podIdx.length) {
    await new Promise<void>((r) => {
      wake = r;
      setTimeout(r, 500);
    });
    if (Date.now() - t0 > PHASE_TIMEOUT_MS) throw new Error(`only ${routed.size} pods routed`);
  }
  const routedMs = Date.now() - t0;
  watch.abort();
  const pods: PodModel[] = [];
  for (const p of (await core.listPodForAllNamespaces()).items) {
    const i = Number(p.metadata!.namespace!.slice(2));
    const j = Number(p.metadata!.name!.slice(1));
    const ports = Object.fromEntries(
      (p.spec!.containers[0]!.ports ?? []).map((c) => [c.name, c.containerPort]),
    );
    pods.push({
      ns: i,
      j,
      name: p.metadata!.name!,
      labels: podLabels(j, false),
      http: ports.http!,
      metrics: ports.metrics,
      ip: p.metadata!.annotations![Ann.ipAddress]!,
    });
  }
  const missingPorts = pods.filter((p) => nb.byName('Logical_Switch_Port', lspOf(p)).length === 0);
  if (missingPorts.length > 0) throw new Error(`${missingPorts.length} routed pods have no LSP in NB`);
  rows.push({
    phase: `${pods.length} pods in ${NAMESPACES} namespaces, all routed`,
    api_ms: podApiMs,
    converged_ms: routedMs,
    txns: (await metric(debug, 'ovnk_ovsdb_transaction_seconds_count')) - txns0,
    acl: 0,
    port_group: 0,
    address_set: 0,
    rss_mb: Math.round(memMb(ctlPid, 'VmRSS')),
  });

  // 2. Services and their EndpointSlices, until the load balancers carry every VIP
  const wantLbs = new Map<string, Record<string, string>>();
  for (const proto of ['tcp', 'udp', 'sctp'])
    for (const session of [false, true])
      wantLbs.set(session ? `cluster-${proto}-session-loadbalancer` : `cluster-${proto}-loadbalancer`, {});
  const svcIdx = nsIdx.flatMap((i) => Array.from({ length: SERVICES_PER_NS }, (_, m) => [i, m] as const));
  txns0 = await metric(debug, 'ovnk_ovsdb_transaction_seconds_count');
  t0 = Date.now();
  await pool(svcIdx, 16, async ([i, m]) => {
    const { svc, slicePorts } = serviceBody(i, m);
    const created = await core.createNamespacedService({ namespace: nsName(i), body: svc });
    const backends = backendsOf(i, m, pods);
    await discovery.createNamespacedEndpointSlice({
      namespace: nsName(i),
      body: {
        metadata: {
          name: `${svc.metadata!.name}-x1`,
          labels: { 'kubernetes.io/service-name': svc.metadata!.name! },
        },
        addressType: 'IPv4',
        ports: slicePorts,
        endpoints: backends.map((p, n) => ({
          addresses: [p.ip],
          conditions: { ready: !(m === 4 && n === 0) },
        })),
      },
    });
    // expected VIPs: every Service port, to the ready backends with the slice's port of the same name
    const ip = created.spec!.clusterIP!;
    for (const sp of created.spec!.ports!) {
      const proto = (sp.protocol ?? 'TCP').toLowerCase();
      const lb =
        created.spec!.sessionAffinity === 'ClientIP'
          ? `cluster-${proto}-session-loadbalancer`
          : `cluster-${proto}-loadbalancer`;
      const target = slicePorts.find((s) => (s.name ?? '') === (sp.name ?? ''))!.port;
      const ready = backends.filter((_, n) => !(m === 4 && n === 0));
      wantLbs.get(lb)![`${ip}:${sp.port}`] = ready
        .map((p) => `${p.ip}:${target}`)
        .sort()
        .join(',');
    }
  });
  const svcApiMs = Date.now() - t0;
  const svcAt = await convergence(nb, () => lbMismatch(nb, wantLbs), 'services');
  figures.services_converge_ms = svcAt - t0;
  figures.vips = [...wantLbs.values()].reduce((n, v) => n + Object.keys(v).length, 0);
  rows.push({
    phase: `${svcIdx.length} services + slices (${figures.vips} VIPs)`,
    api_ms: svcApiMs,
    converged_ms: svcAt - t0,
    txns: (await metric(debug, 'ovnk_ovsdb_transaction_seconds_count')) - txns0,
    acl: 0,
    port_group: 0,
    address_set: 0,
    rss_mb: Math.round(memMb(ctlPid, 'VmRSS')),
  });

  // 3. the policies, until NB holds exactly what they make
  const count = (table: 'ACL' | 'Port_Group' | 'Address_Set') => nb.size(table);
  let want = expectAll(pods);
  const polIdx = nsIdx.flatMap((i) => Array.from({ length: POLICY_SHAPES }, (_, k) => [i, k] as const));
  txns0 = await metric(debug, 'ovnk_ovsdb_transaction_seconds_count');
  let reconciles0 = await metric(debug, 'ovnk_workqueue_reconcile_seconds_count', 'queue="network-policies"');
  t0 = Date.now();
  await pool(polIdx, 16, ([i, k]) =>
    networking.createNamespacedNetworkPolicy({ namespace: nsName(i), body: policyBody(i, k) }),
  );
  const polApiMs = Date.now() - t0;
  const polAt = await convergence(nb, () => policyMismatch(nb, want), 'policies');
  figures.converge_ms = polAt - t0;
  figures.converge_after_api_ms = polAt - t0 - polApiMs;
  figures.converge_txns = (await metric(debug, 'ovnk_ovsdb_transaction_seconds_count')) - txns0;
  figures.converge_np_reconciles =
    (await metric(debug, 'ovnk_workqueue_reconcile_seconds_count', 'queue="network-policies"')) - reconciles0;
  figures.acls = count('ACL');
  figures.port_groups = count('Port_Group');
  figures.address_sets = count('Address_Set');
  figures.address_set_entries = [...nb.rows('Address_Set')].reduce((n, a) => n + a.addresses.length, 0);
  rows.push({
    phase: `${polIdx.length} policies`,
    api_ms: polApiMs,
    converged_ms: polAt - t0,
    txns: figures.converge_txns,
    acl: figures.acls,
    port_group: figures.port_groups,
    address_set: figures.address_sets,
    rss_mb: Math.round(memMb(ctlPid, 'VmRSS')),
  });

  // 4. relabel 500 pods (the first 25 of each namespace), until NB reflects the new membership
  const moved = pods.filter((p) => p.j < RELABELLED_PER_NS);
  for (const p of moved) p.labels = podLabels(p.j, true);
  const before = want;
  want = expectAll(pods);
  figures.relabel_policies_affected = [...want].filter(
    ([np, w]) => JSON.stringify(w) !== JSON.stringify(before.get(np)),
  ).length;
  // the check must be able to tell the two states apart, or the time below would measure nothing
  if (policyMismatch(nb, want) === undefined) throw new Error('the relabel changes nothing NB should hold');
  txns0 = await metric(debug, 'ovnk_ovsdb_transaction_seconds_count');
  reconciles0 = await metric(debug, 'ovnk_workqueue_reconcile_seconds_count', 'queue="network-policies"');
  const podReconciles0 = await metric(debug, 'ovnk_workqueue_reconcile_seconds_count', 'queue="pods"');
  const rowChanges = new RowChanges(nb);
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  t0 = Date.now();
  await pool(moved, 64, (p) =>
    core.patchNamespacedPod(
      { name: p.name, namespace: nsName(p.ns), body: { metadata: { labels: p.labels } } },
      mergePatch,
    ),
  );
  const relabelApiMs = Date.now() - t0;
  const relAt = await convergence(nb, () => policyMismatch(nb, want), 'relabel');
  figures.relabel_500_ms = relAt - t0;
  figures.relabel_api_ms = relabelApiMs;
  figures.relabel_after_api_ms = relAt - t0 - relabelApiMs;
  // rows changed up to now (just after convergence); transactions and reconciles too, read right after
  const changes = rowChanges.stop();
  figures.relabel_txns = (await metric(debug, 'ovnk_ovsdb_transaction_seconds_count')) - txns0;
  figures.relabel_np_reconciles =
    (await metric(debug, 'ovnk_workqueue_reconcile_seconds_count', 'queue="network-policies"')) - reconciles0;
  figures.relabel_pod_reconciles =
    (await metric(debug, 'ovnk_workqueue_reconcile_seconds_count', 'queue="pods"')) - podReconciles0;
  figures.relabel_rows_changed = Object.values(changes).reduce((a, b) => a + b, 0);
  for (const [t, n] of Object.entries(changes)) figures[`relabel_rows_${t.toLowerCase()}`] = n;
  rows.push({
    phase: `relabel ${moved.length} pods`,
    api_ms: relabelApiMs,
    converged_ms: relAt - t0,
    txns: figures.relabel_txns,
    acl: count('ACL'),
    port_group: count('Port_Group'),
    address_set: count('Address_Set'),
    rss_mb: Math.round(memMb(ctlPid, 'VmRSS')),
  });
  figures.controller_rss_mb = Math.round(memMb(ctlPid, 'VmRSS'));
  figures.controller_peak_rss_mb = Math.round(memMb(ctlPid, 'VmHWM'));
} catch (e) {
  failed = true;
  console.error(e instanceof Error ? e.message : e);
} finally {
  nbClient?.close();
  if (controller) {
    controller.child.kill('SIGTERM');
    await controller.child;
  }
  await apiserver?.stop();
  await lab?.stop();
  rmSync(dir, { recursive: true, force: true });
}
if (failed) process.exit(1);
printTable(
  `netpol: ${figures.policies} policies, ${figures.pods} pods, ${figures.services} services (controller and API server in their own processes, NB standalone, northd ${figures.northd})`,
  rows,
);
printFigures(figures);
