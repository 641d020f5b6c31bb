// The controller as its own process for the benchmarks that measure it (controller, netpol): started with
// tsx against a kubeconfig and a northbound remote, watched for its "synced" line and its debug address.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';

const root = join(import.meta.dirname, '..');

/** A process's resident memory now (VmRSS) or at its peak (VmHWM), in MB. */
export function memMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

export interface ControllerProcess {
  child: ResultPromise;
  /** Milliseconds from spawn until its queues first went idle ("synced"); rejects if it exits first. */
  synced: Promise<number>;
  /** Where its debug endpoint (metrics) listens. */
  debugAddress: Promise<string>;
}

export function startController(kubeconfig: string, nb: string): ControllerProcess {
  const t0 = Date.now();
  const child = execa(
    process.execPath,
    [
      // BENCH_PROFILE=<dir> writes a CPU profile of each controller process there
      ...(process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []),
      '--import',
      'tsx',
      'src/controller/main.ts',
      `--kubeconfig=${kubeconfig}`,
      `--ovn-nb-addr=${nb}`,
      '--leader-elect=false',
      '--debug-addr=127.0.0.1:0',
      // at info there is a line per pod: the output is read line by line, never kept
    ],
    { cwd: root, reject: false, stdin: 'ignore', buffer: { stdout: false } },
  );
  let onSynced!: (ms: number) => void;
  let onAddress!: (a: string) => void;
  const synced = new Promise<number>((r) => (onSynced = r));
  const debugAddress = new Promise<string>((r) => (onAddress = r));
  let partial = '';
  child.stdout?.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.includes('"msg":"synced"')) onSynced(Date.now() - t0);
      const m = /"address":"([^"]+)","msg":"debug endpoint"/.exec(line);
      if (m) onAddress(m[1]!);
    }
  });
  const exited = child.then((r) => {
    throw new Error(`controller exited (${r.exitCode}): ${r.stderr.slice(-2000)}`);
  });
  exited.catch(() => undefined);
  return {
    child,
    synced: Promise.race([synced, exited]),
    debugAddress: Promise.race([debugAddress, exited]),
  };
}
