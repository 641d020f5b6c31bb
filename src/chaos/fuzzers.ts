// The fuzzers, run on the chaos lab after the faults, so that whatever they leave behind is caught by the
// same invariants. `scale` multiplies each target's case count.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Cluster } from '../lab/cluster.ts';
import { CONTROLLERS } from './faults.ts';
import { fuzzApiObjects } from './fuzz/api-objects.ts';
import { fuzzCniPlugin } from './fuzz/cni-plugin.ts';
import { fuzzDaemonSocket } from './fuzz/daemon-socket.ts';
import { fuzzOvsdbClient } from './fuzz/ovsdb-peer.ts';
import type { FuzzReport } from './fuzz/report.ts';

export async function runFuzzers(
  cluster: Cluster,
  kc: KubeConfig,
  opts: { seed: number; scale: number; say: (line: string) => void },
): Promise<FuzzReport[]> {
  const n = (base: number) => Math.max(1, Math.round(base * opts.scale));
  const reports: FuzzReport[] = [];
  const run = async (target: string, fuzz: () => Promise<FuzzReport>) => {
    const t0 = Date.now();
    const r = await fuzz();
    reports.push(r);
    opts.say(
      `  fuzz ${target}: ${r.cases} cases in ${Math.round((Date.now() - t0) / 1000)} s, ${r.crashes} crashes, ${r.hangs} hangs, ${r.violations} violations`,
    );
  };
  const controllersAlive = () => CONTROLLERS.every((c) => cluster.servicePid(c) !== undefined);
  await run('api-objects', () =>
    fuzzApiObjects({
      kubeconfig: kc,
      nbRemote: cluster.manifest.nbRemote,
      isControllerAlive: controllersAlive,
      cases: n(300),
      seed: opts.seed,
    }),
  );
  const node = cluster.manifest.nodes[0]!;
  await run('cni-plugin', () => fuzzCniPlugin({ cluster, node: node.name, cases: n(300), seed: opts.seed }));
  await run('daemon-socket', () =>
    fuzzDaemonSocket({
      socket: node.socket,
      cases: n(1000),
      seed: opts.seed,
      isDaemonAlive: () => cluster.servicePid(`${node.name}/ovnk/daemon`) !== undefined,
    }),
  );
  await run('ovsdb-client', () => fuzzOvsdbClient({ cases: n(2000), seed: opts.seed }));
  return reports;
}
