// Integration runs take the machine's integration lock and get their own lab root; at the end anything
// left behind (a daemon, a network namespace, a link in the root namespace, a lab directory) is removed and
// fails the run.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { teardownLabDir } from '../../src/lab/lab.ts';
import { added, type HostSnapshot, processesMentioning, snapshotHost } from '../../src/lab/leaks.ts';
import { acquireMachineLock, releaseMachineLock } from '../../src/lab/machine-lock.ts';
import { delNetns } from '../../src/lab/netns.ts';
import { terminate } from '../../src/lab/proc.ts';

export default async function setup(): Promise<() => Promise<void>> {
  await acquireMachineLock('integration run');
  const root = `/tmp/ovnk-t${process.pid}`;
  process.env.OVNK_LAB_ROOT = root;
  const before: HostSnapshot = await snapshotHost();

  return async function teardown() {
    const leaks: string[] = [];
    const labs = existsSync(root) ? readdirSync(root) : [];
    for (const id of labs) {
      leaks.push(`lab directory ${join(root, id)}`);
      await teardownLabDir(join(root, id)).catch((e: unknown) => leaks.push(String(e)));
    }
    for (const p of processesMentioning(root)) {
      leaks.push(`process ${p.pid}: ${p.cmd}`);
      await terminate(p.pid, 2_000);
    }
    const extra = added(before, await snapshotHost());
    for (const ns of extra.netns) {
      leaks.push(`network namespace ${ns}`);
      if (ns.startsWith('ovnk-')) await delNetns(ns).catch(() => undefined);
    }
    for (const l of extra.rootLinks) leaks.push(`link ${l} in the root namespace`);
    rmSync(root, { recursive: true, force: true });
    releaseMachineLock();
    if (leaks.length > 0) {
      // vitest reports an error thrown here but still exits 0: set the exit code ourselves
      console.error(`integration tests leaked (now cleaned up):\n  ${leaks.join('\n  ')}`);
      process.exitCode = 1;
      throw new Error('integration tests leaked resources');
    }
  };
}
