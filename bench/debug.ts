// npm run bench -- debug
// The debug endpoint against ovn-nbctl on the same northbound, in one run: a switch of 10,000 ports,
// then `show` and `lsp-list` served (a) from the replica through the HTTP router, (b) by the real
// ovn-nbctl processes (each one connects and downloads the tables it needs). p50 of several runs.
import type { AddressInfo } from 'node:net';
import { execa } from 'execa';
import express from 'express';
import { Lab } from '../src/lab/lab.ts';
import { nbctlRouter } from '../src/nbctl/http.ts';
import { runView } from '../src/nbctl/views.ts';
import type { Tables } from '../src/ovsdb/generated/ovn-nb.ts';
import { type MonitorSpec, named, Ops, OvsdbClient } from '../src/ovsdb/index.ts';
import { printFigures, printTable, type Row, timeMs } from './_report.ts';

const nb = new Ops<Tables>();
const PORTS = Number(process.env.BENCH_PORTS ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 9);
const SWITCH = 'bench';

function p50(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function runs(fn: () => Promise<unknown>): Promise<number[]> {
  await fn(); // warm-up: first connection, JIT, page cache
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) out.push(await timeMs(fn));
  return out;
}

function mac(i: number): string {
  return `0a:00:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
}

async function fill(client: OvsdbClient<Tables>): Promise<void> {
  await client.transact([
    nb.insert('Logical_Router', { name: 'ovn-cluster' }),
    nb.insert('Logical_Switch', { name: SWITCH, other_config: { subnet: '10.16.0.0/16' } }),
  ]);
  for (let start = 0; start < PORTS; start += 5_000) {
    const end = Math.min(start + 5_000, PORTS);
    const ops = [];
    const refs = [];
    for (let i = start; i < end; i++) {
      const ip = `10.16.${(i >> 8) & 255}.${i & 255}`;
      ops.push(
        nb.insert(
          'Logical_Switch_Port',
          {
            name: `pod-${i}.bench`,
            addresses: [`${mac(i)} ${ip}`],
            port_security: [`${mac(i)} ${ip}`],
            external_ids: { vendor: 'kube-ovn', pod: `bench/pod-${i}`, ls: SWITCH },
          },
          { uuidName: `p${i}` },
        ),
      );
      refs.push(named(`p${i}`));
    }
    ops.push(nb.mutate('Logical_Switch', [['name', '==', SWITCH]], [['ports', 'insert', refs]]));
    await client.transact(ops, 120_000);
  }
}

/** Blocks of show output in a fixed order: ovn-nbctl orders switches and routers by hash. */
const showBlocks = (s: string) => s.split(/^(?=switch |router )/m).sort();

const lab = await Lab.start({ northd: false });
const rows: Row[] = [];
const figures: Record<string, number | boolean> = {};
try {
  const remote = lab.central.nb.unixRemotes;
  const client = await OvsdbClient.connect<Tables>({ remotes: remote, database: 'OVN_Northbound' });
  figures.fill_ms = await timeMs(() => fill(client));
  const all = Object.fromEntries([...client.schema.tables.keys()].map((t) => [t, {}])) as MonitorSpec<Tables>;
  let replica!: Awaited<ReturnType<typeof client.monitor>>;
  figures.replica_load_ms = await timeMs(async () => {
    replica = await client.monitor(all);
  });

  const app = express();
  app.use(nbctlRouter(replica));
  const server = await new Promise<ReturnType<typeof app.listen>>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const get = async (path: string) => {
    const res = await fetch(`${base}${path}`);
    if (!res.ok) throw new Error(`${path}: ${res.status}`);
    return res.text();
  };
  const nbctl = async (...args: string[]) =>
    String(
      (await execa('ovn-nbctl', [`--db=${remote}`, '--timeout=60', ...args], { stripFinalNewline: false }))
        .stdout,
    );

  // the same answers first, then the timings
  figures.show_identical =
    JSON.stringify(showBlocks(await get('/nbctl/show'))) === JSON.stringify(showBlocks(await nbctl('show')));
  figures.lsp_list_identical =
    (await get(`/nbctl/lsp-list?arg=${SWITCH}`)) === (await nbctl('lsp-list', SWITCH));

  const cases: [string, () => Promise<unknown>][] = [
    ['show: endpoint (HTTP, replica)', () => get('/nbctl/show')],
    ['show: ovn-nbctl process', () => nbctl('show')],
    ['lsp-list: endpoint (HTTP, replica)', () => get(`/nbctl/lsp-list?arg=${SWITCH}`)],
    ['lsp-list: ovn-nbctl process', () => nbctl('lsp-list', SWITCH)],
    ['show: runView in process (no HTTP)', async () => runView(replica, 'show', [], 'text')],
    ['lsp-list: runView in process (no HTTP)', async () => runView(replica, 'lsp-list', [SWITCH], 'text')],
  ];
  const p: number[] = [];
  for (const [name, fn] of cases) {
    const times = await runs(fn);
    p.push(p50(times));
    rows.push({ case: name, p50_ms: p50(times), min_ms: Math.min(...times), max_ms: Math.max(...times) });
  }
  [figures.show_ms, figures.nbctl_show_ms, figures.lsp_list_ms, figures.nbctl_lsp_list_ms] = p as [
    number,
    number,
    number,
    number,
  ];
  figures.show_inprocess_ms = p[4]!;
  figures.lsp_list_inprocess_ms = p[5]!;
  figures.show_ratio_vs_nbctl = figures.nbctl_show_ms / figures.show_ms;
  figures.lsp_list_ratio_vs_nbctl = figures.nbctl_lsp_list_ms / figures.lsp_list_ms;
  figures.show_bytes = Buffer.byteLength(await get('/nbctl/show'));
  server.close();
  client.close();
} finally {
  await lab.stop();
}

printTable(`show and lsp-list of a switch with ${PORTS} ports, p50 of ${RUNS} runs`, rows);
printFigures({
  ports: PORTS,
  runs: RUNS,
  ...Object.fromEntries(
    Object.entries(figures).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v * 100) / 100 : v]),
  ),
});
