// What the CNI plugin costs per invocation: p50 wall time of spawning the built `ovnk` for VERSION and for ADD
// against a daemon stand-in that answers at once, next to `node -e 0` (Node's own startup). ADD's figure is
// the plugin's share of a pod's CNI ADD, the daemon's work excluded.
//   node --import tsx bench/_cni-overhead.ts [runs]     (prints the figures as one JSON line)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildCniPlugin } from '../scripts/build-cni.ts';
import { printFigures } from './_report.ts';

export interface CniOverhead {
  baseline_node_ms: number;
  version_p50_ms: number;
  add_p50_ms: number;
}

const RESULT = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'eth0', mac: '0a:58:0a:10:00:05', sandbox: '/var/run/netns/bench' }],
  ips: [{ address: '10.16.0.5/16', gateway: '10.16.0.1', interface: 0 }],
  routes: [{ dst: '0.0.0.0/0', gw: '10.16.0.1' }],
  dns: {},
};

/**
 * Wall time of one run, spawn to exit, with the plugin's exit code and stdout. node:child_process rather than
 * execa: the thinnest spawn, as a runtime's fork/exec is, so that the figure is the plugin's.
 */
function timedRun(
  file: string,
  args: string[],
  env: Record<string, string>,
  stdin: string,
): Promise<{ ms: number; code: number | null; stdout: string }> {
  return new Promise((done, fail) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(file, args, { env, stdio: ['pipe', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.on('error', fail);
    // a program that exits without reading all of stdin (the baseline `node -e 0`, a plugin that fails
    // early) makes this write fail with EPIPE: that is its answer, not the benchmark's failure
    child.stdin.on('error', () => undefined);
    child.on('close', (code) => done({ ms: Number(process.hrtime.bigint() - t0) / 1e6, code, stdout }));
    child.stdin.end(stdin);
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number): number => Number(x.toFixed(1));

export async function measureCniOverhead(opts: { runs?: number } = {}): Promise<CniOverhead> {
  const runs = opts.runs ?? 40;
  const dir = mkdtempSync(join(tmpdir(), 'ovnk-cnibench-'));
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(req.url === '/api/v1/cni/add' ? JSON.stringify(RESULT) : '{}');
    });
  });
  try {
    const plugin = await buildCniPlugin(join(dir, 'bin'));
    const socket = join(dir, 'daemon.sock');
    await new Promise<void>((ok) => server.listen(socket, ok));
    // a runtime's environment: PATH for the shebang and the CNI variables, nothing inherited from here
    const path = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' };
    const cases = {
      baseline: { file: process.execPath, args: ['-e', '0'], env: path, stdin: '' },
      version: {
        file: plugin,
        args: [],
        env: { ...path, CNI_COMMAND: 'VERSION' },
        stdin: '{"cniVersion":"1.0.0"}',
      },
      add: {
        file: plugin,
        args: [],
        env: {
          ...path,
          CNI_COMMAND: 'ADD',
          CNI_CONTAINERID: 'bench0',
          CNI_NETNS: '/var/run/netns/bench',
          CNI_IFNAME: 'eth0',
          CNI_PATH: '/opt/cni/bin',
          CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=bench;K8S_POD_UID=u0',
        },
        stdin: JSON.stringify({ cniVersion: '1.0.0', name: 'ovnk', type: 'ovnk', server_socket: socket }),
      },
    };
    const times: Record<keyof typeof cases, number[]> = { baseline: [], version: [], add: [] };
    // interleaved, so that a burst of load on the machine hits all three alike; the first round warms caches
    for (let round = -1; round < runs; round++) {
      for (const [name, c] of Object.entries(cases) as [keyof typeof cases, (typeof cases)['add']][]) {
        const r = await timedRun(c.file, c.args, c.env, c.stdin);
        if (r.code !== 0 || (name !== 'baseline' && !r.stdout.startsWith('{"cniVersion"'))) {
          throw new Error(`${name} run failed (exit ${r.code}): ${r.stdout}`);
        }
        if (round >= 0) times[name].push(r.ms);
      }
    }
    return {
      baseline_node_ms: round(median(times.baseline)),
      version_p50_ms: round(median(times.version)),
      add_p50_ms: round(median(times.add)),
    };
  } finally {
    await new Promise<void>((ok) => server.close(() => ok()));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const runs = process.argv[2] ? Number(process.argv[2]) : undefined;
  printFigures({ ...(await measureCniOverhead({ runs })) });
}
