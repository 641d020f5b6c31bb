// The kernel side of a pod's interface: a veth pair whose host end stays in the node's netns (where
// ovs-vswitchd runs; attaching it to br-int is done elsewhere) and whose other end is the pod's interface.
//
// Processes per ADD: one `ip -batch` in the node netns (pair, host end up), then in parallel one `ip
// -batch` in the pod netns (addresses, up, routes) and one `ethtool -K tx off` (the userspace datapath
// forwards CHECKSUM_PARTIAL frames with bad checksums, so TCP fails without it); plus, not awaited, one
// arping per IPv4 address. DEL: one `ip link del`.
import type { Logger } from '../controller/deps.ts';
import { announcePodAddresses } from './address-announce.ts';
import { looksLikeHostVethName } from './host-veth-name.ts';
import { type IpLink, isUp, parseIpJsonLines } from './ip-json.ts';
import { deleteLink, linksOfKind, showLink } from './ip-links.ts';
import { CommandFailedError, InterfaceExistsError, NetnsNotFoundError } from './netdev-errors.ts';
import { netnsExists, netnsPath, runInNetns } from './netns-exec.ts';
import {
  checkIfName,
  hostSideBatch,
  type PodInterfaceSpec,
  parseOwnerAlias,
  podSideBatch,
  validatePodInterface,
} from './pod-netdev-commands.ts';

export { hostVethName } from './host-veth-name.ts';
export {
  CommandFailedError,
  InterfaceExistsError,
  InvalidArgumentError,
  NetdevError,
  NetnsNotFoundError,
} from './netdev-errors.ts';
export { checkPodInterface } from './pod-netdev-check.ts';
export type { PodInterfaceSpec, PodRoute } from './pod-netdev-commands.ts';

export interface CreatePodInterfaceOptions extends PodInterfaceSpec {
  /**
   * Send a gratuitous ARP per IPv4 address in the background (default true). It only reaches OVN once the
   * host end is on br-int, so a caller that attaches afterwards should pass false and call
   * announcePodAddresses itself after the attach.
   */
  announce?: boolean;
  /** Where announce failures go (default: warnings on stderr). */
  log?: Logger;
}

export interface CreatedPodInterface {
  /** The pod interface's ifindex inside the pod netns (the CNI result's interface index is not this). */
  podIfIndex?: number;
  /** Settles when the gratuitous ARPs are done; never rejects. */
  announced: Promise<void>;
}

const stderrLog: Logger = {
  info() {},
  debug() {},
  warn: (obj, msg) => console.warn(msg ?? '', obj),
  error: (obj, msg) => console.error(msg ?? '', obj),
};

const FILE_EXISTS = /File exists/;

/**
 * Makes the pair and configures the pod end. A host end left by an earlier, half-done attempt is deleted
 * (with its peer) and the work redone; a podIf in the pod netns that is not the peer of our host end
 * fails with InterfaceExistsError. On any other failure what this call made is removed again.
 */
export async function createPodInterface(opts: CreatePodInterfaceOptions): Promise<CreatedPodInterface> {
  validatePodInterface(opts);
  const node = opts.nodeNetns;
  if (node !== undefined && !netnsExists(node)) throw new NetnsNotFoundError(node);
  if (!netnsExists(opts.podNetns)) throw new NetnsNotFoundError(opts.podNetns);

  await makePair(opts, true);
  let podIfIndex: number | undefined;
  try {
    const [podSide, offload] = await Promise.allSettled([
      runInNetns(opts.podNetns, 'ip', ['-j', '-d', '-batch', '-'], { input: podSideBatch(opts) }),
      runInNetns(opts.podNetns, 'ethtool', ['-K', opts.podIf, 'tx', 'off']),
    ]);
    if (podSide.status === 'rejected') throw podSide.reason;
    if (offload.status === 'rejected') throw offload.reason;
    const [shown] = parseIpJsonLines(podSide.value);
    podIfIndex = (shown?.[0] as IpLink | undefined)?.ifindex;
  } catch (e) {
    await deleteLink(node, opts.hostIf).catch(() => undefined);
    throw e;
  }
  const announced =
    opts.announce === false
      ? Promise.resolve()
      : announcePodAddresses({
          podNetns: opts.podNetns,
          podIf: opts.podIf,
          addresses: opts.addresses,
          log: opts.log ?? stderrLog,
        });
  return { podIfIndex, announced };
}

/** The pair, host end up, pod end already in the pod netns with its name, MAC and MTU. */
async function makePair(opts: PodInterfaceSpec, mayRetry: boolean): Promise<void> {
  const node = opts.nodeNetns;
  try {
    await runInNetns(node, 'ip', ['-batch', '-'], { input: hostSideBatch(opts, netnsPath(opts.podNetns)) });
    return;
  } catch (e) {
    if (!(e instanceof CommandFailedError && FILE_EXISTS.test(e.stderr))) {
      // the batch may have stopped after `link add` (at the alias): do not leave that pair behind
      await deleteLink(node, opts.hostIf).catch(() => undefined);
      throw e;
    }
    // "File exists": our host end from an earlier attempt, or podIf taken in the pod netns
    if (mayRetry && (await showLink(node, opts.hostIf))) {
      await deleteLink(node, opts.hostIf);
      return makePair(opts, false);
    }
    if (await showLink(opts.podNetns, opts.podIf)) throw new InterfaceExistsError(opts.podIf, opts.podNetns);
    throw e;
  }
}

export interface DeletePodInterfaceOptions {
  nodeNetns?: string;
  hostIf: string;
  /**
   * Not needed: deleting the host end deletes its peer wherever it is, and when the host end is gone so is
   * the peer (a veth end never outlives its peer). Accepted so callers can pass the whole attachment; it
   * may be empty, missing or already deleted.
   */
  podNetns?: string;
  podIf?: string;
}

/** Removes the pair; succeeds when it is already gone (also when the node netns is). */
export async function deletePodInterface(opts: DeletePodInterfaceOptions): Promise<void> {
  checkIfName('host', opts.hostIf);
  if (opts.nodeNetns !== undefined && !netnsExists(opts.nodeNetns)) return;
  await deleteLink(opts.nodeNetns, opts.hostIf);
}

export interface HostVeth {
  name: string;
  ifIndex: number;
  up: boolean;
  mtu: number;
  /** From the ifalias createPodInterface sets when given an owner. */
  owner?: { containerId: string; ifName: string };
}

/** Veths in the node netns that look like host ends of ours: our ifalias, or a hostVethName-shaped name. */
export async function listHostVeths(nodeNetns?: string): Promise<HostVeth[]> {
  const out: HostVeth[] = [];
  for (const l of await linksOfKind(nodeNetns, 'veth')) {
    const owner = parseOwnerAlias(l.ifalias);
    if (!owner && !looksLikeHostVethName(l.ifname)) continue;
    out.push({ name: l.ifname, ifIndex: l.ifindex, up: isUp(l), mtu: l.mtu, ...(owner ? { owner } : {}) });
  }
  return out;
}
