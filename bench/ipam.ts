// IPAM benchmark: `npm run bench -- ipam`. Prints tables, then one JSON line with the figures.
// Heap is measured after global.gc(), so the script re-runs itself under --expose-gc when needed.
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { type AllocationRecord, Ipam, SubnetExhaustedError } from '../src/ipam/index.ts';
import { printFigures, printTable, type Row, timeMs } from './_report.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  const self = fileURLToPath(import.meta.url);
  const run = spawnSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', self, ...process.argv.slice(2)],
    {
      stdio: 'inherit',
    },
  );
  process.exit(run.status ?? 1);
}
const collect = gc!;

const SLASH16 = { name: 'fill', cidrBlock: '10.16.0.0/16' };
const SLASH14 = { name: 'big', cidrBlock: '10.20.0.0/14' };
const DUAL = { name: 'dual', cidrBlock: '10.32.0.0/14,fd00:10:32::/64' };

const owners = (n: number, prefix = 'pod'): string[] =>
  Array.from({ length: n }, (_, i) => `${prefix}-${i}.default`);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

function fresh(spec: { name: string; cidrBlock: string }): Ipam {
  const ipam = new Ipam();
  ipam.setSubnet(spec);
  return ipam;
}

function fillAll(ipam: Ipam, names: string[]): number {
  let n = 0;
  try {
    for (const owner of names) {
      ipam.allocate({ subnet: SLASH16.name, owner });
      n++;
    }
  } catch (e) {
    if (!(e instanceof SubnetExhaustedError)) throw e; // the end of the fill
  }
  return n;
}

// ---- fill a /16 --------------------------------------------------------------------------------
const fillNames = owners(65_536);
let filled = 0;
const fillRuns: number[] = [];
for (let run = 0; run < 11; run++) {
  const ipam = fresh(SLASH16);
  const usable = ipam.status(SLASH16.name).v4availableIPs; // 65,534 minus the gateway
  fillRuns.push(
    await timeMs(() => {
      filled = fillAll(ipam, fillNames);
    }),
  );
  // the timed loop must have taken every usable address, each once (and then hit exhaustion once)
  if (filled !== usable || ipam.status(SLASH16.name).v4availableIPs !== 0) throw new Error('fill incomplete');
}
const fillCold = fillRuns[0]!;
const fillMs = median(fillRuns.slice(1));

// ---- restore 100k records ----------------------------------------------------------------------
function recordsFor(n: number): AllocationRecord[] {
  const source = fresh(SLASH14);
  const names = owners(n);
  for (const owner of names) source.allocate({ subnet: SLASH14.name, owner });
  return source
    .allocations()
    .map((a) => ({ subnet: a.subnet, owner: a.owner, ips: a.ipAddress, mac: a.mac }));
}
const records100k = recordsFor(100_000);
const restoreRuns: number[] = [];
for (let run = 0; run < 4; run++) {
  const ipam = fresh(SLASH14);
  restoreRuns.push(
    await timeMs(() => {
      const report = ipam.restore(records100k);
      if (report.restored !== records100k.length) throw new Error('restore lost records');
    }),
  );
}
const restoreCold = restoreRuns[0]!;
const restoreMs = median(restoreRuns.slice(1));

// ---- allocate + release churn ------------------------------------------------------------------
/** Steady state of `live` owners; each step allocates one new owner and releases the oldest. */
function churn(subnet: string, names: string[], live: number, steps: number): Promise<number> {
  const ipam = fresh(SLASH16);
  for (let i = 0; i < live; i++) ipam.allocate({ subnet, owner: names[i]! });
  return timeMs(() => {
    for (let i = 0; i < steps; i++) {
      ipam.allocate({ subnet, owner: names[(i + live) % names.length]! });
      ipam.release(subnet, names[i % names.length]!);
    }
  });
}
const churnNames = owners(100_000, 'churn');
const churnSteps = 500_000; // 1,000,000 operations
const churnRuns: number[] = [];
for (let run = 0; run < 3; run++) churnRuns.push(await churn(SLASH16.name, churnNames, 30_000, churnSteps));
const opsPerS = (2 * churnSteps) / (median(churnRuns) / 1e3);

// ---- heap per allocation -----------------------------------------------------------------------
function heapBytes(): number {
  collect();
  collect();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
function bytesPerAllocation(spec: { name: string; cidrBlock: string }, n: number): number {
  const names = owners(n, 'mem');
  const ipam = fresh(spec);
  const before = heapBytes();
  for (const owner of names) ipam.allocate({ subnet: spec.name, owner });
  const after = heapBytes();
  if (ipam.status(spec.name).v4usingIPs !== n) throw new Error('allocation count mismatch');
  return (after - before) / n;
}
const bytesV4 = bytesPerAllocation(SLASH14, 100_000);
const bytesDual = bytesPerAllocation(DUAL, 100_000);

// ---- per-operation time at 1k / 10k / 100k allocations ------------------------------------------
// Each figure is the median of 5 batches of K operations at a steady number N of held allocations:
// a pair allocates a new owner and releases the oldest, so N stays put while the batch runs.
const K = 10_000;
const nsPerOp = (fn: () => void, ops: number): number => {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / ops;
};
function scaleRow(n: number): Row {
  const spec = SLASH14;
  const dualSpec = DUAL;
  const held = owners(n, 'held');
  const fresh1 = owners(5 * K, 'new');
  const ipam = fresh(spec);
  const dual = fresh(dualSpec);
  for (const owner of held) {
    ipam.allocate({ subnet: spec.name, owner });
    dual.allocate({ subnet: dualSpec.name, owner });
  }
  const queue = [...held];
  const pairs: number[] = [];
  const dualPairs: number[] = [];
  const statics: number[] = [];
  const same: number[] = [];
  let next = 0;
  for (let batch = 0; batch < 5; batch++) {
    const start = next;
    pairs.push(
      nsPerOp(() => {
        for (let i = 0; i < K; i++) {
          const owner = fresh1[next++]!;
          ipam.allocate({ subnet: spec.name, owner });
          ipam.release(spec.name, queue[i % queue.length]!);
          queue[i % queue.length] = owner;
        }
      }, 2 * K),
    );
    dualPairs.push(
      nsPerOp(() => {
        for (let i = start; i < start + K; i++) {
          dual.allocate({ subnet: dualSpec.name, owner: fresh1[i]! });
          dual.release(dualSpec.name, fresh1[i]!);
        }
      }, 2 * K),
    );
    // static: a fixed address in 10.23.x.x (above every dynamic one), taken then released
    statics.push(
      nsPerOp(() => {
        for (let i = 0; i < K; i++) {
          const ip = `10.23.${(i >>> 8) & 255}.${(i & 255) | 1}`;
          ipam.allocate({ subnet: spec.name, owner: 'static.ns', ips: ip });
          ipam.release(spec.name, 'static.ns');
        }
      }, 2 * K),
    );
    same.push(
      nsPerOp(() => {
        for (let i = 0; i < K; i++) ipam.allocate({ subnet: spec.name, owner: queue[i % queue.length]! });
      }, K),
    );
  }
  if (ipam.status(spec.name).v4usingIPs !== n) throw new Error('held count drifted');
  const t = process.hrtime.bigint();
  ipam.status(spec.name);
  const statusMs = Number(process.hrtime.bigint() - t) / 1e6;
  const records = recordsFor(n);
  const restores = [0, 1, 2].map(() => {
    const target = fresh(spec);
    return nsPerOp(() => target.restore(records), n);
  });
  const us = (ns: number[]) => round(median(ns) / 1e3, 3);
  return {
    held: n,
    'alloc+release µs/op': us(pairs),
    'dual alloc+release µs/op': us(dualPairs),
    'static alloc+release µs/op': us(statics),
    'same-owner allocate µs': us(same),
    'restore µs/record': us(restores),
    'status ms (O(n) strings)': round(statusMs, 2),
  };
}
scaleRow(1000); // warm-up, so the 1k row is not the JIT's first look
const scale = [1000, 10_000, 100_000].map(scaleRow);

printTable('IPAM headline figures (median of runs after a warm-up run)', [
  { figure: `fill a /16 (${filled} allocations)`, value: round(fillMs), unit: 'ms', target: '<= 100' },
  { figure: 'fill a /16, first (cold) run', value: round(fillCold), unit: 'ms', target: '' },
  { figure: 'restore 100k records', value: round(restoreMs), unit: 'ms', target: '<= 300' },
  { figure: 'restore 100k records, first (cold) run', value: round(restoreCold), unit: 'ms', target: '' },
  {
    figure: 'allocate+release, each counted',
    value: Math.round(opsPerS),
    unit: 'ops/s',
    target: '>= 1,000,000',
  },
  { figure: 'heap per allocation (IPv4)', value: round(bytesV4, 1), unit: 'bytes', target: '<= 200' },
  { figure: 'heap per allocation (dual stack)', value: round(bytesDual, 1), unit: 'bytes', target: '' },
]);
printTable(`Per-operation time at N held allocations (median of 5 batches of ${K} ops)`, scale);

const byN = Object.fromEntries(
  scale.flatMap((r) => [
    [`op_us_at_${r.held}`, r['alloc+release µs/op']!],
    [`dual_op_us_at_${r.held}`, r['dual alloc+release µs/op']!],
    [`static_op_us_at_${r.held}`, r['static alloc+release µs/op']!],
    [`restore_us_per_record_at_${r.held}`, r['restore µs/record']!],
  ]),
);
const load = loadavg().map((x) => round(x));
console.log(`\nload average at the end (1/5/15 min): ${load.join(' / ')} on ${cpus().length} cores`);
printFigures({
  fill_slash16_ms: round(fillMs),
  fill_slash16_cold_ms: round(fillCold),
  fill_slash16_allocations: filled,
  restore_100k_ms: round(restoreMs),
  restore_100k_cold_ms: round(restoreCold),
  alloc_release_1m_ops_per_s: Math.round(opsPerS),
  bytes_per_allocation: round(bytesV4, 1),
  bytes_per_allocation_dual: round(bytesDual, 1),
  ...byN,
  load_avg_1m: load[0]!,
});
