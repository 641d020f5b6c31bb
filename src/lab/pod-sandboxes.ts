// The lab kubelet's record of the pod sandboxes it made, one JSON file each, written before the sandbox's
// network namespace and CNI ADD so that a kubelet that crashes at any point finds, at its next start, every
// namespace and attachment it may have left (a container runtime keeps the same record in its metadata store).
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CniConfList } from './cni-runtime.ts';

export interface SandboxRecord {
  namespace: string;
  name: string;
  uid: string;
  /** CNI_CONTAINERID and K8S_POD_INFRA_CONTAINER_ID: 64 hex digits, new for every sandbox, as containerd's. */
  containerId: string;
  /** Name of the network namespace (under /var/run/netns). */
  netns: string;
  ifName: string;
  /** True once CNI ADD succeeded; false means the sandbox was being made or failed and must be torn down. */
  ready: boolean;
  podIPs: string[];
  /** Secondary networks added after the first interface (Multus-style), deleted before it. */
  attachments?: { ifName: string; conf: CniConfList }[];
}

/**
 * `<prefix>-<pod namespace>-<10 hex digits of the pod name's hash>`: the name is bounded whatever the pod's
 * name, and the namespace makes it readable in `ip netns list`.
 */
export function podNetnsName(prefix: string, namespace: string, name: string): string {
  return `${prefix}-${namespace}-${createHash('sha256').update(name).digest('hex').slice(0, 10)}`;
}

/** True for a name podNetnsName could have made with this prefix (and nothing else that starts with it). */
export function isPodNetnsName(prefix: string, netns: string): boolean {
  if (!netns.startsWith(`${prefix}-`)) return false;
  return /^[a-z0-9]([a-z0-9-]*[a-z0-9])?-[0-9a-f]{10}$/.test(netns.slice(prefix.length + 1));
}

export function podKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export class SandboxStore {
  private readonly byKey = new Map<string, SandboxRecord>();

  private constructor(private readonly dir: string) {}

  /** Loads every record in dir (made if missing); unreadable files are dropped and reported. */
  static load(dir: string, onBad: (file: string, error: unknown) => void): SandboxStore {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const store = new SandboxStore(dir);
    for (const f of readdirSync(dir)) {
      if (!f.endsWith('.json')) continue;
      try {
        const r = JSON.parse(readFileSync(join(dir, f), 'utf8')) as SandboxRecord;
        store.byKey.set(podKey(r.namespace, r.name), r);
      } catch (e) {
        onBad(f, e);
        rmSync(join(dir, f), { force: true });
      }
    }
    return store;
  }

  get(key: string): SandboxRecord | undefined {
    return this.byKey.get(key);
  }

  all(): SandboxRecord[] {
    return [...this.byKey.values()];
  }

  save(r: SandboxRecord): void {
    const path = join(this.dir, `${r.netns}.json`);
    writeFileSync(`${path}.tmp`, JSON.stringify(r), { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
    this.byKey.set(podKey(r.namespace, r.name), r);
  }

  remove(r: SandboxRecord): void {
    rmSync(join(this.dir, `${r.netns}.json`), { force: true });
    if (this.byKey.get(podKey(r.namespace, r.name)) === r) this.byKey.delete(podKey(r.namespace, r.name));
  }
}
