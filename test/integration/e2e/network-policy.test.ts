// NetworkPolicies on a real two-node lab: the controller turns them into port groups, address sets and
// ACLs, northd compiles them, and TCP and ICMP between pods in their network namespaces are let through
// or dropped as the upstream semantics say, following label changes and policy deletion.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CoreV1Api,
  KubeConfig,
  NetworkingV1Api,
  type V1NetworkPolicySpec,
  type V1Pod,
} from '@kubernetes/client-node';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Cluster } from '../../../src/lab/cluster.ts';
import { podNetnsName } from '../../../src/lab/pod-sandboxes.ts';
import { eventually } from '../helpers.ts';

let cluster: Cluster;
let core: CoreV1Api;
let net: NetworkingV1Api;
const listeners: ResultPromise[] = [];

/** The pods, by "<ns>/<name>", once Running. */
const pods = new Map<string, V1Pod>();

const SPECS: { ns: string; name: string; node: string; labels: Record<string, string>; http?: number }[] = [
  { ns: 'default', name: 'server', node: 'node1', labels: { app: 'server' }, http: 8080 },
  { ns: 'default', name: 'client', node: 'node2', labels: { app: 'client' } },
  { ns: 'np-b', name: 'remote', node: 'node2', labels: { app: 'client' } },
  { ns: 'np-c', name: 'stranger', node: 'node1', labels: { app: 'client' } },
];
const TCP_PORTS = [8080, 9090];

/**
 * Accepts every connection on TCP_PORTS and closes it at once; says "ready" when bound. Not `nc -l -k`: it
 * serves one connection at a time with a backlog of 1, so a single connection whose FIN a policy change
 * dropped (OVN blocks an established connection a new rule denies) kept it busy, and the port looked
 * closed for the rest of the file.
 */
const LISTENER = `
const net = require('node:net');
const ports = ${JSON.stringify(TCP_PORTS)};
let bound = 0;
for (const port of ports)
  net.createServer((s) => s.destroy()).listen(port, '0.0.0.0', () => { if (++bound === ports.length) console.log('ready'); });
`;

async function listen(netns: string): Promise<void> {
  const child = execa('ip', ['netns', 'exec', netns, 'node', '-e', LISTENER], { reject: false });
  listeners.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    void child.then((r) => reject(new Error(`listener in ${netns} exited: ${r.stderr}`)));
  });
}

beforeAll(async () => {
  cluster = await Cluster.start({ nodes: 2 });
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.manifest.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  net = kc.makeApiClient(NetworkingV1Api);
  await core.createNamespace({ body: { metadata: { name: 'np-b', labels: { team: 'b' } } } });
  await core.createNamespace({ body: { metadata: { name: 'np-c', labels: { team: 'c' } } } });
  for (const s of SPECS)
    await core.createNamespacedPod({
      namespace: s.ns,
      body: {
        metadata: { name: s.name, namespace: s.ns, labels: s.labels },
        spec: {
          nodeName: s.node,
          containers: [
            {
              name: 'c',
              image: 'pause',
              ports: s.http ? [{ name: 'http', containerPort: s.http, protocol: 'TCP' }] : [],
            },
          ],
        },
      },
    });
  for (const s of SPECS) {
    await eventually(async () => {
      const p = await core.readNamespacedPod({ name: s.name, namespace: s.ns });
      expect(p.status?.phase).toBe('Running');
      pods.set(`${s.ns}/${s.name}`, p);
    }, 30_000);
  }
  // every pod listens on both ports (a listener per pod, ended by pid in afterAll)
  for (const key of pods.keys()) await listen(netnsOf(key));
}, 120_000);

afterAll(async () => {
  for (const l of listeners) l.kill('SIGKILL');
  await Promise.all(listeners);
  await cluster?.stop();
}, 60_000);

function netnsOf(key: string): string {
  const p = pods.get(key)!;
  const node = cluster.manifest.nodes.find((n) => n.name === p.spec!.nodeName)!;
  return podNetnsName(node.podNetnsPrefix, p.metadata!.namespace!, p.metadata!.name!);
}
const ipOf = (key: string) => pods.get(key)!.status!.podIP!;

/** Whether a TCP connection from one pod to another's port opens (within a second). */
async function tcp(from: string, to: string, port: number): Promise<boolean> {
  const r = await execa(
    'ip',
    ['netns', 'exec', netnsOf(from), 'nc', '-z', '-w', '1', ipOf(to), String(port)],
    {
      reject: false,
    },
  );
  return r.exitCode === 0;
}

async function ping(fromNetns: string, ip: string): Promise<boolean> {
  const r = await execa('ip', ['netns', 'exec', fromNetns, 'ping', '-c', '1', '-W', '1', ip], {
    reject: false,
  });
  return r.exitCode === 0;
}

/** Waits until every connection is allowed or denied as listed ([from, to, port, allowed]). */
async function expectReach(cases: [string, string, number, boolean][], timeoutMs = 15_000): Promise<void> {
  await eventually(async () => {
    const got = await Promise.all(cases.map(([from, to, port]) => tcp(from, to, port)));
    expect(cases.map(([from, to, port], i) => `${from} -> ${to}:${port} ${got[i]}`)).toEqual(
      cases.map(([from, to, port, want]) => `${from} -> ${to}:${port} ${want}`),
    );
  }, timeoutMs);
}

async function createPolicy(namespace: string, name: string, spec: V1NetworkPolicySpec): Promise<void> {
  await net.createNamespacedNetworkPolicy({ namespace, body: { metadata: { name, namespace }, spec } });
}
const deletePolicy = (namespace: string, name: string) =>
  net.deleteNamespacedNetworkPolicy({ namespace, name });

/** Runs `fn` while the policy exists; it is deleted afterwards even when `fn` fails. */
async function withPolicy(
  namespace: string,
  name: string,
  spec: V1NetworkPolicySpec,
  fn: () => Promise<unknown>,
): Promise<void> {
  await createPolicy(namespace, name, spec);
  try {
    await fn();
  } finally {
    await deletePolicy(namespace, name);
  }
}

async function label(key: string, labels: Record<string, string | null>): Promise<void> {
  const [namespace, name] = key.split('/') as [string, string];
  const p = await core.readNamespacedPod({ namespace, name });
  const merged: Record<string, string> = { ...p.metadata!.labels };
  for (const [k, v] of Object.entries(labels)) {
    if (v === null) delete merged[k];
    else merged[k] = v;
  }
  await core.replaceNamespacedPod({
    namespace,
    name,
    body: { ...p, metadata: { ...p.metadata, labels: merged } },
  });
}

/**
 * Lines where northd or an ovn-controller could not compile a match: a bad match is not an error anywhere
 * else, its flows are just missing.
 */
function compileErrors(): string[] {
  const logs = [
    join(cluster.lab.central.dir, 'ovn-northd.log'),
    ...cluster.lab.chassis.map((c) => join(c.cfg.dir, 'ovn-controller.log')),
  ];
  return logs.flatMap((f) =>
    readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) =>
        /syntax error|error parsing|parse error|unknown (field|address set|port group)/i.test(l),
      ),
  );
}

describe('NetworkPolicy on a real multi-node stack', () => {
  test('without policies every pod reaches the server', async () => {
    await expectReach([
      ['default/client', 'default/server', 8080, true],
      ['np-b/remote', 'default/server', 9090, true],
      ['np-c/stranger', 'default/server', 8080, true],
    ]);
  });

  test('default deny ingress (empty podSelector, no rules) blocks TCP and ICMP in; the node still gets in; egress stays open', async () => {
    await createPolicy('default', 'deny', { podSelector: {}, policyTypes: ['Ingress'] });
    await expectReach([
      ['default/client', 'default/server', 8080, false],
      ['np-b/remote', 'default/server', 8080, false],
      ['default/server', 'np-b/remote', 8080, true],
    ]);
    expect(await ping(netnsOf('default/client'), ipOf('default/server'))).toBe(false);
    const node1 = cluster.manifest.nodes.find((n) => n.name === 'node1')!;
    expect(await ping(node1.netns, ipOf('default/server'))).toBe(true);
  });

  test('allow within the namespace', async () => {
    await withPolicy(
      'default',
      'same-ns',
      { podSelector: {}, ingress: [{ _from: [{ podSelector: {} }] }] },
      async () => {
        await expectReach([
          ['default/client', 'default/server', 8080, true],
          ['np-b/remote', 'default/server', 8080, false],
        ]);
        expect(await ping(netnsOf('default/client'), ipOf('default/server'))).toBe(true);
      },
    );
    await expectReach([['default/client', 'default/server', 8080, false]]);
  });

  test('allow from a namespace selector (two namespaces)', async () => {
    const spec = {
      podSelector: { matchLabels: { app: 'server' } },
      ingress: [{ _from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }] }],
    };
    await withPolicy('default', 'from-b', spec, () =>
      expectReach([
        ['np-b/remote', 'default/server', 8080, true],
        ['np-c/stranger', 'default/server', 8080, false],
        ['default/client', 'default/server', 8080, false],
      ]),
    );
  });

  test('a named port opens the port its pod names; a numbered port opens that number only', async () => {
    const spec = (port: string | number) => ({
      podSelector: { matchLabels: { app: 'server' } },
      ingress: [{ _from: [{ podSelector: {} }], ports: [{ port, protocol: 'TCP' }] }],
    });
    await withPolicy('default', 'web', spec('http'), async () => {
      await expectReach([
        ['default/client', 'default/server', 8080, true],
        ['default/client', 'default/server', 9090, false],
      ]);
      const old = await net.readNamespacedNetworkPolicy({ namespace: 'default', name: 'web' });
      await net.replaceNamespacedNetworkPolicy({
        namespace: 'default',
        name: 'web',
        body: { ...old, spec: spec(9090) },
      });
      await expectReach([
        ['default/client', 'default/server', 9090, true],
        ['default/client', 'default/server', 8080, false],
      ]);
    });
  });

  test('label changes move pods into and out of the allowed peers and the selected pods; traffic follows', async () => {
    const spec = {
      podSelector: { matchLabels: { app: 'server' } },
      ingress: [{ _from: [{ namespaceSelector: {}, podSelector: { matchLabels: { role: 'trusted' } } }] }],
    };
    await withPolicy('default', 'trusted', spec, async () => {
      await expectReach([['np-c/stranger', 'default/server', 8080, false]]);
      await label('np-c/stranger', { role: 'trusted' });
      try {
        await expectReach([
          ['np-c/stranger', 'default/server', 8080, true],
          ['default/client', 'default/server', 8080, false],
        ]);
        // the server leaves the policy's pods: only the default deny applies to it now
        await label('default/server', { app: 'moved' });
        await expectReach([['np-c/stranger', 'default/server', 8080, false]]);
        await label('default/server', { app: 'server' });
        await expectReach([['np-c/stranger', 'default/server', 8080, true]]);
      } finally {
        await label('default/server', { app: 'server' });
        await label('np-c/stranger', { role: null });
      }
      await expectReach([['np-c/stranger', 'default/server', 8080, false]]);
    });
  });

  test('egress to an ipBlock with except: the pod network minus the server', async () => {
    await createPolicy('np-b', 'egress', {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '10.16.0.0/16', except: [`${ipOf('default/server')}/32`] } }] }],
    });
    // the server is behind the default deny: lift it so only the egress policy decides
    await deletePolicy('default', 'deny');
    await expectReach([
      ['np-b/remote', 'np-c/stranger', 8080, true],
      ['np-b/remote', 'default/client', 9090, true],
      ['np-b/remote', 'default/server', 8080, false],
      ['np-c/stranger', 'default/server', 8080, true],
    ]);
    expect(await ping(netnsOf('np-b/remote'), ipOf('default/server'))).toBe(false);
    expect(await ping(netnsOf('np-b/remote'), ipOf('np-c/stranger'))).toBe(true);
    expect(compileErrors()).toEqual([]);
  });

  test('deleting the policies restores traffic and removes their rows; northd compiled every ACL', async () => {
    await deletePolicy('np-b', 'egress');
    await expectReach([
      ['np-b/remote', 'default/server', 8080, true],
      ['default/client', 'default/server', 9090, true],
    ]);
    await eventually(async () => {
      const groups = await cluster.lab.nbctl('--bare', '--columns=name', 'list', 'Port_Group');
      expect(groups).not.toMatch(/^np\./m);
      const matches = await cluster.lab.nbctl('--bare', '--columns=match', 'list', 'ACL');
      expect(matches).not.toMatch(/@np\./);
    });
    expect(compileErrors()).toEqual([]);
  });
});
