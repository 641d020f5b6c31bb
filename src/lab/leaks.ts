// Leak accounting for test runs: what a run left behind in the machine's shared state (processes whose
// command line names the run's directory, network namespaces and links in the root namespace).
import { readdirSync, readFileSync } from 'node:fs';
import { listLinks, listNetns } from './netns.ts';
import { isAlive } from './proc.ts';

export interface HostSnapshot {
  netns: string[];
  rootLinks: string[];
}

export async function snapshotHost(): Promise<HostSnapshot> {
  return { netns: listNetns(), rootLinks: await listLinks() };
}

/** Live processes whose command line mentions `marker` (e.g. a run's state directory). */
export function processesMentioning(marker: string): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const e of readdirSync('/proc')) {
    const pid = Number(e);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      continue;
    }
    if (cmd.includes(marker) && isAlive(pid)) out.push({ pid, cmd });
  }
  return out;
}

/** What is in `after` but not in `before`. */
export function added(before: HostSnapshot, after: HostSnapshot): HostSnapshot {
  const nb = new Set(before.netns);
  const lb = new Set(before.rootLinks);
  return {
    netns: after.netns.filter((n) => !nb.has(n)),
    rootLinks: after.rootLinks.filter((l) => !lb.has(l)),
  };
}
