// Optional persistence to one JSON file, so a lab survives a restart: written atomically (temp file +
// rename), at most once per debounce interval after a change, and once more on close.
// A restored server starts with an empty watch history: a client resuming from an older version gets 410.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { crdsKey } from './crd.ts';
import { namespacesKey } from './objects.ts';
import type { Store } from './store.ts';
import type { KObject } from './types.ts';

interface StateFile {
  version: 1;
  resourceVersion: number;
  resources: Record<string, KObject[]>;
}

export interface Restored {
  resourceVersion: number;
  /** Store key -> objects, CRDs and namespaces first. */
  resources: [string, KObject[]][];
}

export function readState(file: string): Restored | undefined {
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, 'utf8')) as StateFile;
  if (state.version !== 1) throw new Error(`${file}: unknown state file version ${state.version}`);
  const order = (k: string) => (k === crdsKey ? 0 : k === namespacesKey ? 1 : 2);
  const resources = Object.entries(state.resources).sort((a, b) => order(a[0]) - order(b[0]));
  return { resourceVersion: state.resourceVersion, resources };
}

export class Persistence {
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly file: string,
    private readonly store: Store,
    private readonly debounceMs: number,
  ) {
    mkdirSync(dirname(file), { recursive: true });
    this.unsubscribe = store.subscribeAll(() => this.changed());
  }

  private changed(): void {
    this.dirty = true;
    if (!this.timer) this.timer = setTimeout(() => this.flush(), this.debounceMs);
  }

  /** Writes the state now if anything changed since the last write. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.dirty) return;
    this.dirty = false;
    const parts: string[] = [];
    for (const resource of this.store.resources()) {
      const items = this.store.list(resource).map((e) => e.json);
      parts.push(`${JSON.stringify(resource)}:[${items.join(',')}]`);
    }
    const text = `{"version":1,"resourceVersion":${this.store.resourceVersion},"resources":{${parts.join(',')}}}`;
    const tmp = `${this.file}.tmp-${process.pid}`;
    writeFileSync(tmp, text);
    renameSync(tmp, this.file);
  }

  close(): void {
    this.unsubscribe();
    this.flush();
  }
}
