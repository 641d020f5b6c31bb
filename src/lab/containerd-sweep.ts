// What a private containerd can leave behind when it is killed rather than asked to clean up: shims (they
// outlive containerd by design) and the pause processes under them, mounts under its directory (sandbox
// rootfs and /dev/shm), and the pod network namespaces it pinned under /run/netns. Everything is found from
// the containerd's own directory (or names derived from it), so nothing another runtime on the machine owns
// is touched.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { processesMentioning } from './leaks.ts';
import { delNetns, listNetns } from './netns.ts';
import { run, terminate, waitGone } from './proc.ts';

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the ppid is the second field after the parenthesised command name
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** All live descendants of the given processes, deepest last. */
export function descendantsOf(roots: number[]): number[] {
  const children = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    const pid = Number(e);
    if (!Number.isInteger(pid)) continue;
    const ppid = parentOf(pid);
    if (ppid === undefined) continue;
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const out: number[] = [];
  const queue = [...roots];
  while (queue.length > 0) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/**
 * Processes that belong to the containerd living in `dir`: containerd itself and its shims, by command line
 * (the shims are not containerd's children: they daemonize and are reparented).
 */
export function containerdProcesses(dir: string): number[] {
  return processesMentioning(`${dir}/`).map((p) => p.pid);
}

function netnsInode(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}

/** Names under /run/netns of the network namespaces these processes are in (never the host's own). */
export function netnsOf(pids: number[]): string[] {
  const inodes = new Set(pids.map((p) => netnsInode(`/proc/${p}/ns/net`)));
  inodes.delete(undefined);
  inodes.delete(netnsInode('/proc/1/ns/net'));
  return listNetns().filter((n) => {
    const ino = netnsInode(`/run/netns/${n}`);
    return ino !== undefined && inodes.has(ino);
  });
}

/** Mount points at or under dir, deepest first (the order they can be unmounted in). */
export function mountsUnder(dir: string): string[] {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((m): m is string => !!m && (m === dir || m.startsWith(`${dir}/`)));
  return [...new Set(mounts)].reverse();
}

/**
 * Kills what is left of the containerd in `dir` (shims and, first, everything under them), unmounts what
 * is mounted under dir, and deletes the given network namespaces (names under /run/netns) if they remain.
 */
export async function sweepContainerd(dir: string, netns: Iterable<string>): Promise<void> {
  const owners = containerdProcesses(dir);
  const under = descendantsOf(owners);
  // first what runs under containerd and the shims (pause processes, CNI plugins still at work), deepest first
  for (const pid of [...under].reverse()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await Promise.all(under.map((pid) => waitGone(pid, 5_000)));
  await Promise.all(owners.map((pid) => terminate(pid, 3_000)));
  for (const m of mountsUnder(dir)) {
    await run('umount', [m]).catch(() => run('umount', ['-l', m]));
  }
  const present = new Set(listNetns());
  for (const n of netns) if (present.has(n)) await delNetns(n);
}

/** Deletes a cgroup (and any sub-cgroups left in it) from every mounted hierarchy. Its processes must be gone. */
export function removeCgroup(path: string): void {
  const base = '/sys/fs/cgroup';
  const hierarchies = readdirSync(base, { withFileTypes: true }).filter((e) => e.isDirectory());
  for (const h of hierarchies) removeCgroupDir(join(base, h.name, path));
}

function removeCgroupDir(dir: string): void {
  if (!existsSync(dir)) return;
  // a cgroup directory holds only control files and sub-cgroups; rmdir removes it once the sub-cgroups are gone
  for (const e of readdirSync(dir, { withFileTypes: true }))
    if (e.isDirectory()) removeCgroupDir(join(dir, e.name));
  rmdirSync(dir);
}

/**
 * Sandbox ids this containerd ever dealt with, from its log: including sandboxes it gave up on, whose CNI
 * DEL may have failed. (Ids are 64 random hex digits; image digests in the log match no cache entry.)
 */
export function idsInLog(logFile: string): Set<string> {
  try {
    return new Set(readFileSync(logFile, 'utf8').match(/\b[0-9a-f]{64}\b/g) ?? []);
  } catch {
    return new Set();
  }
}

/**
 * Removes libcni's cached results (<network>-<container id>-<ifname>) of the given containers: containerd
 * 1.6 keeps them in /var/lib/cni/results whatever its config says, and only a successful DEL drops them.
 */
export function removeCniCache(ids: Set<string>, cacheDir = '/var/lib/cni/results'): void {
  let entries: string[];
  try {
    entries = readdirSync(cacheDir);
  } catch {
    return;
  }
  for (const e of entries) {
    const id = /-([0-9a-f]{64})-[^-]+$/.exec(e)?.[1];
    if (id && ids.has(id)) rmSync(join(cacheDir, e), { force: true });
  }
}

/**
 * Removes the sockets of this containerd's shims from /run/containerd/s, where containerd 1.6 puts them
 * whatever its config says (a shim removes its own on a clean exit, not when it is killed). The name is
 * sha256(<containerd address>/<namespace>/<id>), as in containerd's shim.SocketAddress.
 */
export function removeShimSockets(address: string, ids: Set<string>, namespace = 'k8s.io'): void {
  for (const id of ids) {
    const name = createHash('sha256')
      .update(join(address, namespace, id))
      .digest('hex');
    rmSync(join('/run/containerd/s', name), { force: true });
  }
}

/**
 * Of the given directories (outside the containerd's own), which do not exist yet: containerd and its shims
 * create them on the way (/run/containerd/s for shim sockets, /var/lib/cni/results for the CNI cache).
 */
export function missingDirs(dirs: string[]): string[] {
  return dirs.filter((d) => !existsSync(d));
}

/** Removes those of the directories that are empty now, children before parents; others are in use. */
export function removeEmptyDirs(dirs: string[]): void {
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
    try {
      rmdirSync(d);
    } catch {
      // not empty (another runtime's sockets or cache) or already gone
    }
  }
}
