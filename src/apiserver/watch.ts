// Watch streams: newline-delimited {"type","object"} events, headers flushed at once, writes batched per
// event-loop turn, resume from a resourceVersion through the history (ERROR 410 when it is too old),
// bookmarks, selector transitions (an object leaving the selector is DELETED for that watcher),
// server-side timeouts, and a hard cap on what a slow reader may leave buffered.
import type { ServerResponse } from 'node:http';
import { tooOldResourceVersion } from './errors.ts';
import type { ResourceInfo } from './registry.ts';
import { both, fieldMatcher, labelMatcher, type Matcher } from './selectors.ts';
import type { Entry, Store, StoreEvent } from './store.ts';
import { type TableRequest, toTable } from './table.ts';
import type { KObject, WatchEventType } from './types.ts';

export interface WatchParams {
  info: ResourceInfo;
  /** '' watches every namespace. */
  namespace: string;
  labelSelector?: string | null;
  fieldSelector?: string | null;
  resourceVersion?: string | null;
  allowWatchBookmarks?: boolean;
  sendInitialEvents?: boolean;
  timeoutSeconds?: number;
  table?: TableRequest;
}

export interface WatchHubOptions {
  bookmarkIntervalMs: number;
  /** Server-side close after a random time in [t, 2t] seconds, like --min-request-timeout. */
  watchTimeoutSeconds: number;
  maxBufferedBytes: number;
}

/** Event lines of the plain JSON case, shared by every watcher that sends the same thing. */
const lineCache = new WeakMap<Entry, string>();

function plainLine(type: WatchEventType, entry: Entry, apiVersion: string): string {
  if (entry.obj.apiVersion !== apiVersion) {
    return `{"type":"${type}","object":${JSON.stringify({ ...entry.obj, apiVersion })}}\n`;
  }
  const cached = lineCache.get(entry);
  if (cached?.startsWith(`{"type":"${type}"`)) return cached;
  const line = `{"type":"${type}","object":${entry.json}}\n`;
  lineCache.set(entry, line);
  return line;
}

class WatchStream {
  private pending: string[] = [];
  private scheduled = false;
  private closed = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly hub: WatchHub,
    private readonly res: ServerResponse,
    private readonly p: WatchParams,
    private readonly match: Matcher,
  ) {}

  private line(type: WatchEventType | 'BOOKMARK' | 'ERROR', entry: Entry | undefined, raw?: unknown): string {
    if (raw !== undefined) return `${JSON.stringify({ type, object: raw })}\n`;
    if (this.p.table) {
      const obj =
        entry!.obj.apiVersion === this.p.info.apiVersion
          ? entry!.obj
          : { ...entry!.obj, apiVersion: this.p.info.apiVersion };
      const table = toTable(this.p.info, [obj as KObject], this.p.table, {
        resourceVersion: String(entry!.rv),
      });
      return `${JSON.stringify({ type, object: table })}\n`;
    }
    return plainLine(type as WatchEventType, entry!, this.p.info.apiVersion);
  }

  send(s: string): void {
    if (this.closed) return;
    this.pending.push(s);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    if (this.closed || this.pending.length === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0]! : this.pending.join('');
    this.pending = [];
    this.res.write(chunk);
    if (this.res.writableLength > this.hub.opts.maxBufferedBytes) {
      // A watcher that cannot keep up is dropped; it re-lists or resumes, as with a real server.
      this.close(true);
    }
  }

  private inScope(ev: StoreEvent): boolean {
    return this.p.namespace === '' || ev.namespace === this.p.namespace;
  }

  onEvent(ev: StoreEvent): void {
    if (!this.inScope(ev)) return;
    const now = this.match(ev.entry.obj);
    if (ev.type === 'MODIFIED') {
      const before = ev.prev ? this.match(ev.prev.obj) : false;
      if (now && before) this.send(this.line('MODIFIED', ev.entry));
      else if (now) this.send(this.line('ADDED', ev.entry));
      else if (before) this.send(this.line('DELETED', ev.entry));
      return;
    }
    if (ev.type === 'DELETED') {
      if (ev.prev ? this.match(ev.prev.obj) : now) this.send(this.line('DELETED', ev.entry));
      return;
    }
    if (now) this.send(this.line('ADDED', ev.entry));
  }

  start(store: Store): void {
    const { res, p } = this;
    res.writeHead(200, {
      'Content-Type': p.table
        ? `application/json;as=Table;v=${p.table.version};g=meta.k8s.io`
        : 'application/json',
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
    });
    res.flushHeaders();
    res.on('close', () => this.close(false));
    const rvParam = p.resourceVersion ?? '';
    if (rvParam === '' || rvParam === '0' || p.sendInitialEvents) {
      for (const e of store.list(p.info.key, p.info.namespaced ? p.namespace || undefined : undefined)) {
        if (this.match(e.obj)) this.send(this.line('ADDED', e));
      }
      if (p.sendInitialEvents && p.allowWatchBookmarks) {
        this.send(this.bookmark(store.resourceVersion, { 'k8s.io/initial-events-end': 'true' }));
      }
    } else {
      const from = Number(rvParam);
      const backlog = Number.isFinite(from) ? store.history.since(from, p.info.key) : undefined;
      if (!backlog) {
        const status = tooOldResourceVersion(from, store.history.floor).toStatus();
        this.send(this.line('ERROR', undefined, status));
        this.flush();
        this.close(true);
        return;
      }
      for (const ev of backlog) this.onEvent(ev);
    }
    this.unsubscribe = store.subscribe(p.info.key, (ev) => this.onEvent(ev));
    if (p.allowWatchBookmarks && this.hub.opts.bookmarkIntervalMs > 0) {
      this.timers.push(
        setInterval(() => this.send(this.bookmark(store.resourceVersion)), this.hub.opts.bookmarkIntervalMs),
      );
    }
    const t = this.hub.opts.watchTimeoutSeconds;
    const timeout = p.timeoutSeconds && p.timeoutSeconds > 0 ? p.timeoutSeconds : t * (1 + Math.random());
    this.timers.push(setTimeout(() => this.close(true), timeout * 1000));
  }

  private bookmark(rv: number, annotations?: Record<string, string>): string {
    const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
    if (annotations) metadata.annotations = annotations;
    return this.line('BOOKMARK', undefined, {
      kind: this.p.info.kind,
      apiVersion: this.p.info.apiVersion,
      metadata,
    });
  }

  /** Ends the stream; graceful ends flush what is pending first. */
  close(graceful: boolean): void {
    if (this.closed) return;
    if (graceful) this.flush();
    this.closed = true;
    this.unsubscribe?.();
    for (const t of this.timers) clearTimeout(t);
    this.hub.forget(this);
    if (graceful && !this.res.writableEnded) this.res.end();
    else if (!this.res.writableEnded) this.res.destroy();
  }
}

export class WatchHub {
  private readonly streams = new Set<WatchStream>();

  constructor(
    private readonly store: Store,
    readonly opts: WatchHubOptions,
  ) {}

  /** Parses selectors first (a bad one is a 400 before any header), then streams until closed. */
  open(res: ServerResponse, p: WatchParams): void {
    const match = both(labelMatcher(p.labelSelector), fieldMatcher(p.fieldSelector, p.info));
    const s = new WatchStream(this, res, p, match);
    this.streams.add(s);
    s.start(this.store);
  }

  forget(s: WatchStream): void {
    this.streams.delete(s);
  }

  get count(): number {
    return this.streams.size;
  }

  /** Ends every watch from the server side, as an apiserver restart or timeout does. */
  closeAll(): void {
    for (const s of [...this.streams]) s.close(true);
  }
}
