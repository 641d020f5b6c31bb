// The project's own long-running processes in a lab (API server, controller, daemons, kubelets): started
// detached so they outlive the command that brought the lab up, each with a pidfile and a log file in the
// lab directory, so `down` (or a test's teardown) finds and ends them like the OVS/OVN daemons.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, terminate } from './proc.ts';

const repoRoot = join(import.meta.dirname, '../..');

export interface ServiceSpec {
  /** Directory for <name>.pid and <name>.log. */
  dir: string;
  name: string;
  /** A TypeScript entry point of this project (run through tsx), or a bundle (.mjs, run by plain node). */
  entry: string;
  args: string[];
  env?: Record<string, string>;
  /** Run inside this network namespace (ip netns exec). */
  netns?: string;
  /** Started once a line of the log matches. */
  readyLog: RegExp;
  timeoutMs?: number;
}

export interface Service {
  name: string;
  pid: number;
  log: string;
  stop(): Promise<void>;
}

export async function startService(s: ServiceSpec): Promise<Service> {
  const log = join(s.dir, `${s.name}.log`);
  const pidfile = join(s.dir, `${s.name}.pid`);
  // a restarted service appends to its old log: only what this start writes counts as ready
  const offset = existsSync(log) ? statSync(log).size : 0;
  const fd = openSync(log, 'a');
  const node = s.entry.endsWith('.ts')
    ? [process.execPath, '--import', 'tsx', s.entry, ...s.args]
    : [process.execPath, s.entry, ...s.args];
  const [file, ...argv] = s.netns ? ['ip', 'netns', 'exec', s.netns, ...node] : node;
  // node's spawn, not execa: the child must get the log file's descriptor itself and outlive us
  const child = spawn(file!, argv, {
    cwd: repoRoot,
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, ...s.env, OVNK_SERVICE: s.name },
  });
  closeSync(fd);
  child.unref();
  const pid = child.pid;
  if (!pid) throw new Error(`${s.name} did not start`);
  // the lab directory on the command line marks the process as the lab's (see labProcesses)
  writeFileSync(pidfile, `${pid}\n`);
  const deadline = Date.now() + (s.timeoutMs ?? 30_000);
  for (;;) {
    const text = readFileSync(log).subarray(offset).toString('utf8');
    if (s.readyLog.test(text)) break;
    if (!isAlive(pid))
      throw new Error(`${s.name} exited while starting; its log ${log} ends with:\n${tail(text)}`);
    if (Date.now() > deadline) {
      await terminate(pid, 2_000);
      throw new Error(
        `${s.name} not ready after ${s.timeoutMs ?? 30_000} ms; its log ${log} ends with:\n${tail(text)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { name: s.name, pid, log, stop: () => terminate(pid, 5_000) };
}

function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
