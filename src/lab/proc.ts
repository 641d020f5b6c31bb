// Running the stock OVS/OVN programs: one-shot commands and --detach daemons tracked by pidfile.
// Everything goes through execa with argument arrays; a network namespace is entered with `ip netns exec`.
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';

export interface RunOptions {
  /** Run inside this network namespace. */
  netns?: string;
  /** Extra environment (OVS_RUNDIR and friends). */
  env?: Record<string, string>;
  /** Give up after this many milliseconds. */
  timeoutMs?: number;
  /** Feed this to stdin. */
  input?: string;
}

/** Runs a command to completion and returns its stdout; throws with stderr on failure. */
export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const [file, argv] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, cmd, ...args]] : [cmd, args];
  const res = await execa(file, argv, {
    env: opts.env,
    timeout: opts.timeoutMs ?? 30_000,
    input: opts.input,
    stdin: opts.input === undefined ? 'ignore' : undefined,
  });
  return res.stdout;
}

/** Alive and not a zombie: on these machines PID 1 reaps reparented daemons late. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the state follows the parenthesised command name, which may itself contain spaces or parentheses
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The pid in a pidfile if that process is alive and is the expected program. */
export function livePid(pidfile: string, comm: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(pidfile, 'utf8').trim(), 10);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  try {
    if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== comm) return undefined;
  } catch {
    return undefined;
  }
  return pid;
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 10_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(intervalMs);
  }
}

/** Waits until pid is gone; returns false on timeout. */
export async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/**
 * Waits until none of the pids has an entry in the process table any more: not even a zombie, which ps and
 * pgrep still list. Detached daemons are reaped by init, which on these machines takes a second or two
 * after they die. Returns the pids still present at the deadline.
 */
export async function waitReaped(pids: readonly number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const present = pids.filter((pid) => existsSync(`/proc/${pid}`));
    if (present.length === 0 || Date.now() > deadline) return present;
    await sleep(20);
  }
}

/** TERM, wait, then KILL. Only ever called with pids this lab started (read from its own pidfiles). */
export async function terminate(pid: number, graceMs = 5_000): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await waitGone(pid, graceMs)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitGone(pid, 5_000);
}

export interface Daemon {
  /** Program name as it appears in /proc/PID/comm. */
  comm: string;
  pidfile: string;
}

/** Starts a program that daemonizes itself (--detach --pidfile=...) and returns its pid. */
export async function startDaemon(d: Daemon, args: string[], opts: RunOptions = {}): Promise<number> {
  await run(d.comm, [...args, `--pidfile=${d.pidfile}`, '--detach', '--no-chdir', '-vconsole:off'], opts);
  return waitFor(`${d.comm} pidfile ${d.pidfile}`, () => livePid(d.pidfile, d.comm), 5_000);
}
