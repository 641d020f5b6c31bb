// Whether a chaos lab is whole again: every process of it alive, both Raft clusters formed with a leader,
// and every long-lived pinger answered. A fault is over, and the next may start, only then.
import type { Cluster } from '../lab/cluster.ts';
import type { Pinger } from './pinger.ts';

export async function unhealthy(cluster: Cluster, pingers: readonly Pinger[]): Promise<string[]> {
  const problems: string[] = [];
  for (const name of cluster.serviceNames())
    if (!cluster.servicePid(name)) problems.push(`${name} is not running`);
  for (const c of cluster.lab.chassis)
    if (c.pids().length < 3) problems.push(`a daemon of ${c.name} is not running`);
  if (!cluster.lab.central.northdRunning) problems.push('ovn-northd is not running');
  for (const db of [cluster.lab.central.nb, cluster.lab.central.sb]) {
    if (!(await db.isFormed())) problems.push(`${db.kind} has no formed Raft cluster`);
  }
  for (const p of pingers) if (!p.answering(1_000)) problems.push(`${p.label} gets no replies`);
  return problems;
}
