// One chaos run: a lab with clustered NB and SB and two controller replicas, long-lived pods pinging each
// other, a churn of pods, and each fault injected in turn, round after round, within a time budget. Per
// fault it measures the longest silence of the long-lived pings and the time until a pod created at the
// fault is ready and reachable; at the end it judges the invariants from outside (invariants.ts).
import { cpSync, lstatSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { Cluster } from '../lab/cluster.ts';
import { atExit } from '../lab/exit-cleanup.ts';
import { allFaults, type Fault, type FaultContext } from './faults.ts';
import { unhealthy } from './health.ts';
import { type Findings, judge } from './invariants.ts';
import { longestSilenceMs } from './outage.ts';
import { Pinger } from './pinger.ts';
import { snapshotCluster } from './snapshot.ts';
import { type ReadyPod, sleep, Workload } from './workload.ts';

export interface ChaosOptions {
  rounds: number;
  /** Stop starting faults once this much time has gone by (the run then cleans up and judges). */
  budgetMs: number;
  /** Only these faults (by name); all by default. */
  only?: string[];
  nodes?: number;
  root?: string;
  say: (line: string) => void;
  /** Copy the lab's logs here before it is torn down. */
  keepLogs?: string;
  /** Runs after the faults, on the same lab (the fuzzers); its result lands in the report. */
  extra?: (cluster: Cluster, kc: KubeConfig) => Promise<unknown>;
}

export interface FaultResult {
  fault: string;
  round: number;
  node: string;
  /** Longest silence of any long-lived pinger from injection until the lab was whole again. */
  outageMs: number;
  /** From injection until a pod created then was ready and answered a ping; undefined if it never did. */
  newPodReadyMs?: number;
  /** From injection until the lab was whole again. */
  recoveredMs: number;
  error?: string;
}

export interface ChaosReport {
  faults: FaultResult[];
  skipped: number;
  findings: Findings;
  /** Leaks found after every pod was deleted at the end. */
  leaksAfterCleanup: string[];
  churn: { created: number; deleted: number; apiErrors: number };
  extra?: unknown;
  durationMs: number;
}

const PROBE_TIMEOUT_MS = 90_000;
const HEALTH_TIMEOUT_MS = 90_000;
const ELECTION_TIMER_MS = 1_000;

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const t0 = Date.now();
  const say = opts.say;
  say('starting the lab: 3-member NB and SB Raft clusters, 2 controller replicas, 2 nodes');
  const cluster = await Cluster.start({
    nodes: opts.nodes ?? 2,
    root: opts.root,
    nbMembers: 3,
    sbMembers: 3,
    electionTimerMs: ELECTION_TIMER_MS,
    controllers: 2,
    // shorter than client-go's 15 s / 10 s / 2 s, so a standby's takeover is measured in this budget
    lease: { durationSeconds: 8, renewDeadlineMs: 5_000, retryPeriodMs: 1_000 },
    progress: (m) => say(`  ${m}`),
  });
  const pingers: Pinger[] = [];
  // Ctrl-C, a kill or a crash must not leave a lab behind: its pingers first (they hold pod namespaces);
  // the lab itself is registered by Lab.start
  const forgetPingers = atExit(() => Promise.allSettled(pingers.map((p) => p.stop())));
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.manifest.kubeconfig);
    const work = new Workload(cluster, kc);
    await work.createNamespace();
    const longLived = await startLongLived(work);
    pingers.push(...pairs(longLived).map(([a, b]) => new Pinger(`${a.name}->${b.name}`, a.netns, b.ip)));
    work.startChurn(1_000, 6_000);
    await waitHealthy(cluster, pingers, 30_000);

    const faults = allFaults({ pauseMs: 4 * ELECTION_TIMER_MS }).filter(
      (f) => !opts.only || opts.only.includes(f.name),
    );
    const results: FaultResult[] = [];
    let skipped = 0;
    let seq = 0;
    for (let round = 1; round <= opts.rounds; round++) {
      for (const fault of faults) {
        if (Date.now() - t0 > opts.budgetMs) {
          skipped++;
          continue;
        }
        const node = work.nodes[seq % work.nodes.length]!;
        const from = longLived.find((p) => p.node !== node) ?? longLived[0]!;
        const r = await runFault(fault, { cluster, kc, node }, work, pingers, from, `probe-${seq++}`);
        r.round = round;
        results.push(r);
        say(
          `  ${fault.name.padEnd(22)} ${node}  outage ${r.outageMs} ms, new pod ready ${r.newPodReadyMs ?? 'never'} ms, whole again ${r.recoveredMs} ms${r.error ? `  ERROR ${r.error}` : ''}`,
        );
      }
    }
    work.stopChurn();

    const extra = opts.extra ? await opts.extra(cluster, kc) : undefined;

    say('removing churn and probe pods; waiting for the lab to settle');
    for (const role of ['churn', 'probe'])
      for (const name of await work.podsWithRole(role)) await work.deletePod(name);
    const findings = await settledFindings(cluster, kc, 120_000);
    say('deleting the long-lived pods too: nothing of any pod may remain');
    for (const p of longLived) await work.deletePod(p.name);
    const after = await settledFindings(cluster, kc, 120_000);
    return {
      faults: results,
      skipped,
      findings,
      leaksAfterCleanup: after.leaks,
      churn: work.churn,
      extra,
      durationMs: Date.now() - t0,
    };
  } finally {
    await Promise.all(pingers.map((p) => p.stop()));
    if (opts.keepLogs) {
      // the logs only: no sockets, databases or pidfiles
      cpSync(cluster.dir, opts.keepLogs, {
        recursive: true,
        filter: (src) => {
          const st = lstatSync(src);
          return st.isDirectory() || (st.isFile() && src.endsWith('.log'));
        },
      });
      say(`logs copied to ${opts.keepLogs}`);
    }
    say('stopping the lab');
    await cluster.stop();
    forgetPingers();
  }
}

/** Two pods per node; they ping each other for the whole run. */
async function startLongLived(work: Workload): Promise<ReadyPod[]> {
  const names = work.nodes.flatMap((n) => [`ll-${n}-a`, `ll-${n}-b`]);
  await Promise.all(names.map((name) => work.createPod(name, name.split('-')[1]!, { role: 'long-lived' })));
  const ready = await Promise.all(names.map((n) => work.waitReady(n, 60_000)));
  const missing = names.filter((_, i) => !ready[i]);
  if (missing.length > 0) throw new Error(`long-lived pods not ready: ${missing.join(', ')}`);
  return ready as ReadyPod[];
}

/** Across nodes both ways (a of one node to a of the next) and within each node (a to b). */
function pairs(pods: ReadyPod[]): [ReadyPod, ReadyPod][] {
  const as = pods.filter((p) => p.name.endsWith('-a'));
  const out: [ReadyPod, ReadyPod][] = [];
  for (let i = 0; i < as.length; i++) {
    const next = as[(i + 1) % as.length]!;
    if (next !== as[i]) out.push([as[i]!, next]);
    const b = pods.find((p) => p.name === as[i]!.name.replace(/-a$/, '-b'));
    if (b) out.push([as[i]!, b]);
  }
  return out;
}

async function runFault(
  fault: Fault,
  ctx: FaultContext,
  work: Workload,
  pingers: Pinger[],
  from: ReadyPod,
  probeName: string,
): Promise<FaultResult> {
  const result: FaultResult = { fault: fault.name, round: 0, node: ctx.node, outageMs: 0, recoveredMs: 0 };
  const errors: string[] = [];
  try {
    await fault.inject(ctx);
  } catch (e) {
    errors.push(`inject: ${(e as Error).message}`);
  }
  const start = Date.now();
  // the probe pod is created the moment the fault is in effect, as a user's next pod would be, while the
  // supervisor does its part
  const probe = work.probe(probeName, ctx.node, from, PROBE_TIMEOUT_MS);
  const recovered = fault
    .recover?.(ctx)
    .catch((e: unknown) => errors.push(`recover: ${(e as Error).message}`));
  const readyAt = await probe;
  await recovered;
  result.newPodReadyMs = readyAt === undefined ? undefined : readyAt - start;
  try {
    await fault.restore?.(ctx);
    await waitHealthy(ctx.cluster, pingers, HEALTH_TIMEOUT_MS);
  } catch (e) {
    errors.push(`restore: ${(e as Error).message}`);
  }
  if (errors.length > 0) result.error = errors.join('; ');
  const end = Date.now();
  result.recoveredMs = end - start;
  result.outageMs = Math.max(...pingers.map((p) => longestSilenceMs(p.replies, start, end, p.intervalMs)));
  await work.deletePod(probeName);
  // a moment of calm, so that one fault's tail is not counted in the next one's figures
  await sleep(1_000);
  return result;
}

async function waitHealthy(cluster: Cluster, pingers: Pinger[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let problems: string[] = [];
  while (Date.now() < deadline) {
    problems = await unhealthy(cluster, pingers);
    if (problems.length === 0) return;
    await sleep(200);
  }
  throw new Error(`not whole after ${timeoutMs} ms: ${problems.join('; ')}`);
}

/**
 * The invariants once the lab has settled: no terminating pod left and every pod ready, or the deadline
 * passed (then what is still wrong is what the findings say).
 */
async function settledFindings(cluster: Cluster, kc: KubeConfig, timeoutMs: number): Promise<Findings> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await snapshotCluster(cluster, kc);
    const f = judge(s);
    const clean = f.duplicates.length + f.leaks.length + f.stuck.length === 0;
    const terminating = s.pods.some((p) => p.terminating);
    if ((clean && !terminating) || Date.now() > deadline) return f;
    await sleep(1_000);
  }
}
