// The name of a pod's host-side veth end: deterministic from the CNI attachment (container id, ifname),
// so DEL and CHECK find it without any state, and at most 15 characters (IFNAMSIZ - 1).
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from './netdev-errors.ts';

const IFNAMSIZ_MAX = 15;
/** The CNI spec's container id: alphanumeric, then alphanumeric, underscore, dot or hyphen. */
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** An interface name short and plain enough to appear as itself in the host name. */
const SHORT_IFNAME = /^[A-Za-z0-9]{1,4}$/;
const HASH_TAG_LENGTH = 5;

/**
 * eth0: Kube-OVN's `<first 12 of containerId>_h`. Any other ifname: `<containerId prefix>_<tag>_h`, where
 * the tag is the ifname itself when it is 1-4 letters or digits (net1 -> `0123abcd_net1_h`), else 5 hex
 * digits of its SHA-256. Literal tags are at most 4 long and hashed ones exactly 5, so they never collide.
 */
export function hostVethName(containerId: string, ifName: string): string {
  if (!CONTAINER_ID.test(containerId)) throw new InvalidArgumentError(`invalid container id ${containerId}`);
  if (ifName === '') throw new InvalidArgumentError('empty interface name');
  if (ifName === 'eth0') return `${containerId.slice(0, 12)}_h`;
  const tag = SHORT_IFNAME.test(ifName)
    ? ifName
    : createHash('sha256').update(ifName).digest('hex').slice(0, HASH_TAG_LENGTH);
  const room = IFNAMSIZ_MAX - '_h'.length - '_'.length - tag.length;
  return `${containerId.slice(0, room)}_${tag}_h`;
}

/** Whether a link name has the shape hostVethName produces (GC still has to check it is unwanted). */
export function looksLikeHostVethName(name: string): boolean {
  return name.length <= IFNAMSIZ_MAX && /^[A-Za-z0-9][A-Za-z0-9_.-]*_h$/.test(name);
}
