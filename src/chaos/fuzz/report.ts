// What every fuzz target reports, so the chaos run can print one table and sum the figures.

export interface FuzzReport {
  /** e.g. 'cni-plugin', 'daemon-socket', 'api-objects', 'ovsdb-client'. */
  target: string;
  /** Cases tried. */
  cases: number;
  /** A process died, or an uncaught exception / unhandled rejection, or an undeclared error shape. */
  crashes: number;
  /** A case that did not settle within its time bound. */
  hangs: number;
  /** Any other broken expectation (wrong error code, a partial change left behind, a served object changed). */
  violations: number;
  /** The first few failures in words, with the seed and case number so they can be replayed. */
  failures: string[];
}

export function emptyReport(target: string): FuzzReport {
  return { target, cases: 0, crashes: 0, hangs: 0, violations: 0, failures: [] };
}

/** Records a failure of one kind, keeping only the first few descriptions. */
export function recordFailure(
  report: FuzzReport,
  kind: 'crashes' | 'hangs' | 'violations',
  description: string,
): void {
  report[kind]++;
  if (report.failures.length < 20) report.failures.push(`${kind}: ${description}`);
}
