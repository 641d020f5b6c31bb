// The machine-wide lock of runs that make labs and check the whole machine for leaks.
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * One lab-using run at a time on a machine (integration tests, the chaos run): the tests' leak check
 * compares the whole machine's namespaces and links before and after, so a second run at the same time
 * would see (and remove) the first one's. mkdir is atomic; a lock whose holder is gone is taken over.
 */
const LOCK = '/tmp/ovnk-integration.lock';

export async function acquireMachineLock(what: string): Promise<void> {
  const deadline = Date.now() + 30 * 60_000;
  let announced = false;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      return;
    } catch {
      let holder = 0;
      try {
        holder = Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
      } catch {
        // taken a moment ago: its pid is not written yet
      }
      const young = Date.now() - (statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs ?? 0) < 5_000;
      if ((holder && !existsSync(`/proc/${holder}`)) || (!holder && !young)) {
        rmSync(LOCK, { recursive: true, force: true });
        continue;
      }
      if (!announced) console.error(`${what}: waiting for the run of pid ${holder} to finish`);
      announced = true;
      if (Date.now() > deadline) throw new Error(`integration lock held by ${holder} for 30 minutes`);
      await sleep(500);
    }
  }
}

export function releaseMachineLock(): void {
  rmSync(LOCK, { recursive: true, force: true });
}
