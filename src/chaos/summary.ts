// The chaos run's tables and its one-line JSON figures.
import type { FuzzReport } from './fuzz/report.ts';
import type { ChaosReport, FaultResult } from './run.ts';

export interface ChaosSummary {
  faults: number;
  fault_kinds: number;
  skipped_faults: number;
  fault_errors: number;
  duplicate_ips: number;
  leaked_objects: number;
  stuck_pods: number;
  max_existing_pod_outage_ms: number;
  max_new_pod_recovery_ms: number;
  per_fault: Record<string, { runs: number; max_outage_ms: number; max_new_pod_ready_ms: number | null }>;
  churn_pods_created: number;
  churn_pods_deleted: number;
  fuzz_cases: number;
  fuzz_crashes: number;
  fuzz_hangs: number;
  fuzz_violations: number;
  seed: number;
  duration_s: number;
}

export function fuzzReports(r: ChaosReport): FuzzReport[] {
  return Array.isArray(r.extra) ? (r.extra as FuzzReport[]) : [];
}

export function summary(r: ChaosReport, seed: number): ChaosSummary {
  const perFault: ChaosSummary['per_fault'] = {};
  for (const f of r.faults) {
    perFault[f.fault] ??= { runs: 0, max_outage_ms: 0, max_new_pod_ready_ms: 0 };
    const e = perFault[f.fault]!;
    e.runs++;
    e.max_outage_ms = Math.max(e.max_outage_ms, f.outageMs);
    e.max_new_pod_ready_ms =
      f.newPodReadyMs === undefined || e.max_new_pod_ready_ms === null
        ? null
        : Math.max(e.max_new_pod_ready_ms, f.newPodReadyMs);
  }
  const fuzz = fuzzReports(r);
  const sum = (k: 'cases' | 'crashes' | 'hangs' | 'violations') => fuzz.reduce((a, x) => a + x[k], 0);
  return {
    faults: r.faults.length,
    fault_kinds: Object.keys(perFault).length,
    skipped_faults: r.skipped,
    // a probe pod that never became ready counts here as well as in the outage figures
    fault_errors: r.faults.filter((f) => f.error || f.newPodReadyMs === undefined).length,
    duplicate_ips: r.findings.duplicates.length,
    leaked_objects: r.findings.leaks.length + r.leaksAfterCleanup.length,
    stuck_pods: r.findings.stuck.length,
    max_existing_pod_outage_ms: Math.max(0, ...r.faults.map((f) => f.outageMs)),
    max_new_pod_recovery_ms: Math.max(0, ...r.faults.map((f) => f.newPodReadyMs ?? Number.POSITIVE_INFINITY)),
    per_fault: perFault,
    churn_pods_created: r.churn.created,
    churn_pods_deleted: r.churn.deleted,
    fuzz_cases: sum('cases'),
    fuzz_crashes: sum('crashes'),
    fuzz_hangs: sum('hangs'),
    fuzz_violations: sum('violations'),
    seed,
    duration_s: Math.round(r.durationMs / 1000),
  };
}

function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return `${cells.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n')}\n`;
}

const ms = (v: number | undefined) => (v === undefined ? 'never' : String(v));

export function formatReport(r: ChaosReport): string {
  const faultRows = r.faults.map((f: FaultResult) => [
    f.fault,
    f.round,
    f.node,
    f.outageMs,
    ms(f.newPodReadyMs),
    f.recoveredMs,
    f.error ?? '',
  ]);
  const out = [
    '\nFaults (ms: longest silence of the long-lived pings; a pod created at the fault until ready and reachable; until the lab was whole again)\n',
    table(['fault', 'round', 'node', 'outage_ms', 'new_pod_ready_ms', 'whole_again_ms', 'error'], faultRows),
  ];
  const fuzz = fuzzReports(r);
  if (fuzz.length > 0) {
    out.push('\nFuzzing\n');
    out.push(
      table(
        ['target', 'cases', 'crashes', 'hangs', 'violations'],
        fuzz.map((f) => [f.target, f.cases, f.crashes, f.hangs, f.violations]),
      ),
    );
    for (const f of fuzz) for (const line of f.failures) out.push(`  ${f.target}: ${line}\n`);
  }
  out.push('\nInvariants\n');
  out.push(
    table(
      ['invariant', 'count'],
      [
        ['duplicate addresses', r.findings.duplicates.length],
        ['leaked objects (pods still there)', r.findings.leaks.length],
        ['leaked objects (every pod deleted)', r.leaksAfterCleanup.length],
        ['stuck pods', r.findings.stuck.length],
      ],
    ),
  );
  for (const line of [
    ...r.findings.duplicates,
    ...r.findings.leaks,
    ...r.leaksAfterCleanup,
    ...r.findings.stuck,
  ])
    out.push(`  ${line}\n`);
  out.push(
    `\nchurn: ${r.churn.created} pods created, ${r.churn.deleted} deleted, ${r.churn.apiErrors} API calls failed during faults; ${r.skipped} faults skipped for time\n`,
  );
  return out.join('');
}
