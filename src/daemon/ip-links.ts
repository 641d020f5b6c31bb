// Single-link queries and removal in a network namespace, through `ip` in a child process.
import { type IpLink, parseIpJsonLines } from './ip-json.ts';
import { CommandFailedError } from './netdev-errors.ts';
import { runInNetns } from './netns-exec.ts';

const NO_SUCH_DEVICE = /does not exist|Cannot find device/;

function isNoSuchDevice(e: unknown): boolean {
  return e instanceof CommandFailedError && NO_SUCH_DEVICE.test(e.stderr);
}

/** The link with its details (`ip -d`: linkinfo, ifalias), or undefined when there is none of that name. */
export async function showLink(netns: string | undefined, name: string): Promise<IpLink | undefined> {
  try {
    const [links] = parseIpJsonLines(
      await runInNetns(netns, 'ip', ['-j', '-d', 'link', 'show', 'dev', name]),
    );
    return links?.[0] as IpLink | undefined;
  } catch (e) {
    if (isNoSuchDevice(e)) return undefined;
    throw e;
  }
}

/** Every link of a kind (`veth`, ...) in the namespace, with details. */
export async function linksOfKind(netns: string | undefined, kind: string): Promise<IpLink[]> {
  const [links] = parseIpJsonLines(await runInNetns(netns, 'ip', ['-j', '-d', 'link', 'show', 'type', kind]));
  return (links ?? []) as IpLink[];
}

/** Deletes a link; returns false when it was already gone. Deleting one end of a veth deletes both. */
export async function deleteLink(netns: string | undefined, name: string): Promise<boolean> {
  try {
    await runInNetns(netns, 'ip', ['link', 'del', 'dev', name]);
    return true;
  } catch (e) {
    if (isNoSuchDevice(e)) return false;
    throw e;
  }
}
