// Measures who reaches whom in a running cluster: ICMP and TCP from every pod to every other pod, from every
// node (through ovn0) to every pod, and from every pod to every node. A TCP listener runs in each pod for the
// duration of the measurement and is ended after it.
import type { ResultPromise } from 'execa';
import { execa } from 'execa';
import type { ClusterManifest } from './cluster.ts';
import { podNetnsName } from './pod-sandboxes.ts';

export interface Endpoint {
  /** "default/web-1" or "node/node1". */
  name: string;
  ip: string;
  netns: string;
  kind: 'pod' | 'node';
}

export interface Probe {
  from: string;
  to: string;
  ping: boolean;
  tcp: boolean | undefined;
  pingMs?: number;
}

const TCP_PORT = '7777';

/**
 * Accepts every connection and closes it at once; prints "ready" once bound. Not `nc -l -k`, which serves
 * one connection at a time with a backlog of 1: a connection that never closes would make the port look
 * closed to every later probe.
 */
const LISTENER = `require('node:net').createServer((s) => s.destroy())
  .listen(${TCP_PORT}, '0.0.0.0', () => console.log('ready'));`;

/** Starts the listener in a pod's namespace (into `running`) and waits until it is bound (or it exits). */
async function listen(netns: string, running: ResultPromise[]): Promise<void> {
  const child = execa('ip', ['netns', 'exec', netns, process.execPath, '-e', LISTENER], { reject: false });
  running.push(child);
  await new Promise<void>((resolve) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    // a listener that could not start: the probes to this pod report the TCP failure
    void child.then(() => resolve());
  });
}

/** The pods (Running, with an address, on one of the cluster's nodes) and nodes as endpoints. */
export function endpoints(
  m: ClusterManifest,
  pods: { namespace: string; name: string; node: string; ip: string }[],
): Endpoint[] {
  const out: Endpoint[] = [];
  for (const p of pods) {
    const node = m.nodes.find((n) => n.name === p.node);
    if (!node || !p.ip) continue;
    out.push({
      name: `${p.namespace}/${p.name}`,
      ip: p.ip,
      netns: podNetnsName(node.podNetnsPrefix, p.namespace, p.name),
      kind: 'pod',
    });
  }
  for (const n of m.nodes) out.push({ name: `node/${n.name}`, ip: n.ip, netns: n.netns, kind: 'node' });
  return out;
}

async function ping(from: Endpoint, to: Endpoint): Promise<{ ok: boolean; ms?: number }> {
  const r = await execa('ip', ['netns', 'exec', from.netns, 'ping', '-c', '1', '-W', '2', '-q', to.ip], {
    reject: false,
  });
  const ms = /= [\d.]+\/([\d.]+)\//.exec(r.stdout)?.[1];
  return { ok: r.exitCode === 0, ms: ms ? Number(ms) : undefined };
}

async function tcp(from: Endpoint, to: Endpoint): Promise<boolean> {
  const r = await execa('ip', ['netns', 'exec', from.netns, 'nc', '-z', '-w', '2', to.ip, TCP_PORT], {
    reject: false,
  });
  return r.exitCode === 0;
}

/** Runs every probe (bounded parallelism) and returns them in a stable order. */
export async function measure(eps: Endpoint[], parallel = 8): Promise<Probe[]> {
  const listeners: ResultPromise[] = [];
  try {
    await Promise.all(eps.filter((e) => e.kind === 'pod').map((e) => listen(e.netns, listeners)));
    const pairs: [Endpoint, Endpoint][] = [];
    for (const a of eps)
      for (const b of eps) if (a !== b && !(a.kind === 'node' && b.kind === 'node')) pairs.push([a, b]);
    const probes: Probe[] = new Array(pairs.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < pairs.length) {
          const i = next++;
          const [a, b] = pairs[i]!;
          const p = await ping(a, b);
          probes[i] = {
            from: a.name,
            to: b.name,
            ping: p.ok,
            pingMs: p.ms,
            tcp: b.kind === 'pod' ? await tcp(a, b) : undefined,
          };
        }
      }),
    );
    return probes;
  } finally {
    for (const l of listeners) l.kill('SIGKILL');
    await Promise.allSettled(listeners);
  }
}

/** The matrix as text: a row per source, a column per destination, "ping/tcp" marks per cell. */
export function formatMatrix(eps: Endpoint[], probes: Probe[]): string {
  const names = eps.map((e) => e.name);
  const cell = (from: string, to: string) => {
    if (from === to) return '-';
    const p = probes.find((x) => x.from === from && x.to === to);
    if (!p) return '';
    const mark = (v: boolean | undefined) => (v === undefined ? '' : v ? 'ok' : 'FAIL');
    return p.tcp === undefined ? mark(p.ping) : `${mark(p.ping)}/${mark(p.tcp)}`;
  };
  const header = ['from \\ to (ping/tcp)', ...names];
  const rows = eps.map((a) => [a.name, ...names.map((b) => cell(a.name, b))]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cols: string[]) => cols.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
