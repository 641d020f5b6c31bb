// One process's view of whether its list/watch loops reach the API server. An outage is logged once when
// it begins and once when it ends (not once per retry of every watch), and work that failed meanwhile can
// be woken the moment a watch is back instead of waiting out its backoff.
import type { Logger } from '../deps.ts';

export class ApiHealth {
  /** Resource paths whose last list or watch attempt failed. */
  private readonly failing = new Map<string, string>();
  private readonly listeners = new Set<(path: string) => void>();
  private outageSince = 0;

  constructor(private readonly log?: Logger) {}

  /** Whether every watched path reached the API server on its last attempt. */
  get healthy(): boolean {
    return this.failing.size === 0;
  }

  failed(path: string, error: unknown): void {
    const why = error instanceof Error ? error.message : String(error);
    if (this.failing.size === 0) {
      this.outageSince = Date.now();
      this.log?.warn({ path, err: why }, 'API server unreachable; watches retry with backoff');
    }
    this.failing.set(path, why);
  }

  reached(path: string): void {
    if (!this.failing.delete(path)) return;
    if (this.failing.size === 0)
      this.log?.info({ ms: Date.now() - this.outageSince }, 'API server reachable again; watches resumed');
    for (const fn of this.listeners) {
      try {
        fn(path);
      } catch (e) {
        this.log?.error({ err: String(e) }, 'API recovery listener failed');
      }
    }
  }

  /** fn(path) runs whenever a path that had failed reaches the API server again. */
  onRecovered(fn: (path: string) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
