// Gratuitous ARP from a pod's interface, so neighbours drop a stale MAC for a reused address. Best effort:
// nothing here may fail a CNI ADD, so failures (no arping installed, netns gone) are logged, not thrown.
//
// Timing: iputils arping (20221126) waits one whole interval after its last probe and takes no interval
// below 1 s, so each call lasts about 1 s; callers that care about ADD latency should not await it.
// The frame only reaches OVN once the host end is on br-int, so the useful moment is after the port is
// attached. IPv6 is skipped: no unsolicited-NA sender is installed on these machines (ndisc6 cannot send
// one), and the kernel's own ndisc_notify fires only when the address is added, before the attach.
import type { Logger } from '../controller/deps.ts';
import { runInNetns } from './netns-exec.ts';
import { parseCidr } from './pod-netdev-commands.ts';

export interface AnnounceOptions {
  podNetns: string;
  podIf: string;
  /** CIDR form, as given to createPodInterface; IPv6 entries are skipped. */
  addresses: string[];
  log: Logger;
}

/** One `arping -U -c 1` per IPv4 address, in parallel; resolves when all have finished, never rejects. */
export async function announcePodAddresses(o: AnnounceOptions): Promise<void> {
  const v4 = o.addresses.map((a) => parseCidr(a)).filter((a) => a.family === 4);
  await Promise.all(
    v4.map(async ({ ip }) => {
      try {
        await runInNetns(o.podNetns, 'arping', ['-U', '-c', '1', '-I', o.podIf, ip], { timeoutMs: 5_000 });
      } catch (e) {
        o.log.warn(
          { netns: o.podNetns, dev: o.podIf, ip, err: (e as Error).message },
          'gratuitous ARP failed',
        );
      }
    }),
  );
}
