// npm run bench -- ovsdb
// The native OVSDB client against a real OVN_Northbound ovsdb-server (standalone, no northd, so nothing
// else loads the server), side by side with ovn-nbctl in the same run.
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { Lab } from '../src/lab/lab.ts';
import { JsonFramer } from '../src/ovsdb/framer.ts';
import type { Tables } from '../src/ovsdb/generated/ovn-nb.ts';
import { named, Ops, OvsdbClient } from '../src/ovsdb/index.ts';
import { printFigures, printTable, type Row, timeMs } from './_report.ts';

const execFileP = promisify(execFile);
const nb = new Ops<Tables>();
const N = Number(process.env.BENCH_N ?? 1000);

function lsp(name: string, i: number) {
  const mac = `0a:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}:01`;
  return {
    name,
    addresses: [`${mac} 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`],
    external_ids: { vendor: 'kube-ovn', pod: `ns/${name}`, ls: 'bench' },
  };
}

async function monitorLoad(remote: string, rows: number) {
  const { stdout } = await execFileP(
    process.execPath,
    ['--import', 'tsx', 'bench/_monitor-load.ts', remote, String(rows)],
    {
      maxBuffer: 1 << 20,
    },
  );
  return JSON.parse(stdout.trim().split('\n').pop()!) as {
    ms: number;
    rss_mb: number;
    baseline_rss_mb: number;
  };
}

/** Time until the last byte of a monitor_cond reply on a bare unix socket: no parsing at all. */
function rawReplyMs(path: string, requests: object): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    const framer = new JsonFramer();
    let t0 = 0n;
    sock.on('connect', () => {
      t0 = process.hrtime.bigint();
      sock.write(
        JSON.stringify({ method: 'monitor_cond', params: ['OVN_Northbound', 'raw', requests], id: 1 }),
      );
    });
    sock.on('data', (d: Buffer) => {
      if (framer.push(d).length > 0) {
        resolve(Number(process.hrtime.bigint() - t0) / 1e6);
        sock.destroy();
      }
    });
    sock.on('error', reject);
  });
}

async function fill(client: OvsdbClient<Tables>, sw: string, from: number, to: number) {
  for (let start = from; start < to; start += 10_000) {
    const end = Math.min(start + 10_000, to);
    const ops = [];
    const refs = [];
    for (let i = start; i < end; i++) {
      ops.push(nb.insert('Logical_Switch_Port', lsp(`fill-${i}`, i), { uuidName: `p${i}` }));
      refs.push(named(`p${i}`));
    }
    ops.push(nb.mutate('Logical_Switch', [['name', '==', sw]], [['ports', 'insert', refs]]));
    await client.transact(ops, 120_000);
  }
}

const lab = await Lab.start({ northd: false });
const rows: Row[] = [];
const figures: Record<string, number> = {};
try {
  const server = lab.central.nb.servers[0]!;
  const client = await OvsdbClient.connect<Tables>({
    remotes: server.unixRemote,
    database: 'OVN_Northbound',
  });
  await client.transact([
    nb.insert('Logical_Switch', { name: 'single' }),
    nb.insert('Logical_Switch', { name: 'seq' }),
  ]);

  // 1. N LSP inserts in one transaction
  figures.single_txn_1000_ms = await timeMs(async () => {
    const ops = [];
    for (let i = 0; i < N; i++)
      ops.push(nb.insert('Logical_Switch_Port', lsp(`single-${i}`, i), { uuidName: `p${i}` }));
    ops.push(
      nb.mutate(
        'Logical_Switch',
        [['name', '==', 'single']],
        [['ports', 'insert', Array.from({ length: N }, (_, i) => named(`p${i}`))]],
      ),
    );
    await client.transact(ops);
  });
  rows.push({
    case: `${N} LSP inserts, one transaction`,
    ms: figures.single_txn_1000_ms,
    per_op_us: (figures.single_txn_1000_ms * 1000) / N,
  });

  // 2. N sequential transactions on one connection (each: insert an LSP and add it to its switch),
  // starting from an empty database
  await client.transact([nb.delete('Logical_Switch', [])]);
  await client.transact([nb.insert('Logical_Switch', { name: 'seq' })]);
  figures.seq_txn_1000_ms = await timeMs(async () => {
    for (let i = 0; i < N; i++) {
      await client.transact([
        nb.insert('Logical_Switch_Port', lsp(`seq-${i}`, i), { uuidName: 'p' }),
        nb.mutate('Logical_Switch', [['name', '==', 'seq']], [['ports', 'insert', [named('p')]]]),
      ]);
    }
  });
  rows.push({
    case: `${N} sequential transactions`,
    ms: figures.seq_txn_1000_ms,
    per_op_us: (figures.seq_txn_1000_ms * 1000) / N,
  });

  // 3. N ovn-nbctl lsp-add processes, the way a controller shelling out would do it; each process
  // downloads the tables it touches, so it starts from the same empty database as case 2 did
  await client.transact([nb.delete('Logical_Switch', [])]);
  await lab.nbctl('ls-add', 'nbctl');
  const env = { ...process.env, ...lab.env };
  figures.nbctl_1000_ms = await timeMs(async () => {
    for (let i = 0; i < N; i++) {
      await execFileP(
        'ovn-nbctl',
        [
          '--no-wait',
          '--',
          'lsp-add',
          'nbctl',
          `nbctl-${i}`,
          '--',
          'lsp-set-addresses',
          `nbctl-${i}`,
          lsp('x', i).addresses[0]!,
        ],
        { env },
      );
    }
  });
  rows.push({
    case: `${N} ovn-nbctl lsp-add processes`,
    ms: figures.nbctl_1000_ms,
    per_op_us: (figures.nbctl_1000_ms * 1000) / N,
  });
  figures.nbctl_over_seq_txn = figures.nbctl_1000_ms / figures.seq_txn_1000_ms;

  // 4. initial monitor load at 10k and 100k rows (a fresh process each time)
  await client.transact([nb.delete('Logical_Switch', [])]);
  await client.transact([nb.insert('Logical_Switch', { name: 'fill' })]);
  let filled = 0;
  for (const target of [10_000, 100_000]) {
    await fill(client, 'fill', filled, target);
    filled = target;
    const m = await monitorLoad(server.unixRemote, target);
    const k = target === 10_000 ? '10k' : '100k';
    figures[`monitor_${k}_rows_ms`] = m.ms;
    figures[`monitor_${k}_rss_mb`] = m.rss_mb;
    rows.push({ case: `initial monitor load, ${k} LSP rows`, ms: m.ms, per_op_us: (m.ms * 1000) / target });
    // the server's own share: the same monitor request on a bare socket, timed to the reply's last byte
    const serverMs = await rawReplyMs(server.sock, { Logical_Switch_Port: [{}], Logical_Switch: [{}] });
    figures[`monitor_${k}_server_only_ms`] = serverMs;
    rows.push({
      case: `  of which ovsdb-server alone (raw socket)`,
      ms: serverMs,
      per_op_us: (serverMs * 1000) / target,
    });
  }
  figures.monitor_growth_100k_over_10k = figures.monitor_100k_rows_ms! / figures.monitor_10k_rows_ms!;
  client.close();
} finally {
  await lab.stop();
}

printTable('OVSDB client vs ovn-nbctl (OVN_Northbound, standalone ovsdb-server, unix socket)', rows);
printTable('memory of the monitoring process', [
  { rows: '10k', rss_mb: figures.monitor_10k_rss_mb! },
  { rows: '100k', rss_mb: figures.monitor_100k_rss_mb! },
]);
printFigures(Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, Math.round(v * 100) / 100])));
