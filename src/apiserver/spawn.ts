// Runs the API server as its own process (the CLI in main.ts), for benchmarks and a lab that keep
// clients and server on separate cores. Resolves once the server printed its URL and wrote the kubeconfig.
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';

export interface ApiServerProcessOptions {
  kubeconfigPath: string;
  stateFile?: string;
  historySize?: number;
  manifests?: string[];
  /** LOG_LEVEL of the server (default warn). */
  logLevel?: string;
}

export interface ApiServerProcess {
  url: string;
  pid: number;
  child: ResultPromise;
  /** SIGTERM (the server flushes its state file) and wait for the exit. */
  stop(): Promise<void>;
}

const repoRoot = join(import.meta.dirname, '../..');

export async function startApiServerProcess(o: ApiServerProcessOptions): Promise<ApiServerProcess> {
  const args = ['--import', 'tsx', 'src/apiserver/main.ts', '--port', '0', '--kubeconfig', o.kubeconfigPath];
  if (o.stateFile) args.push('--state-file', o.stateFile);
  if (o.historySize) args.push('--history-size', String(o.historySize));
  for (const m of o.manifests ?? []) args.push('--manifests', m);
  const child = execa(process.execPath, args, {
    cwd: repoRoot,
    reject: false,
    env: { LOG_LEVEL: o.logLevel ?? 'warn' },
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m && out.includes('kubeconfig written')) resolve(m[1]!);
    });
    void child.then((r) => reject(new Error(`apiserver exited before listening: ${r.stderr}`)));
  });
  return {
    url,
    pid: child.pid!,
    child,
    async stop() {
      child.kill('SIGTERM');
      await child;
    },
  };
}
