// Network namespaces and links, through the `ip` tool.
import { readdirSync } from 'node:fs';
import { run } from './proc.ts';

export function listNetns(): string[] {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
}

export async function addNetns(name: string): Promise<void> {
  if (!listNetns().includes(name)) await run('ip', ['netns', 'add', name]);
  await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

/** Deletes a namespace if present; links inside it (veth ends, taps) go with it. */
export async function delNetns(name: string): Promise<void> {
  if (listNetns().includes(name)) await run('ip', ['netns', 'del', name]);
}

/** Names of the links in a namespace (or the current one). */
export async function listLinks(netns?: string): Promise<string[]> {
  const args = netns ? ['-n', netns, '-o', 'link', 'show'] : ['-o', 'link', 'show'];
  const out = await run('ip', args);
  return out
    .split('\n')
    .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1])
    .filter((n): n is string => !!n);
}
