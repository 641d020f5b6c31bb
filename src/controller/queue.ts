// A work queue for level-triggered reconciliation, after client-go's workqueue as controller-runtime uses it.
// Keys are queued, not events: ten changes to one object while it waits cost one reconcile, because the
// reconcile reads the current state anyway. A key is never worked by two workers at once; an add while it
// runs marks it dirty and it runs once more afterwards, so no change is missed. Failures come back with
// per-key exponential backoff until maxAttempts, then the key is dropped and reported.

/** What a reconcile may ask for besides success: another look after a while (e.g. waiting on a peer). */
export type Outcome = { requeueAfterMs: number } | undefined;

export interface ReconcileInfo {
  /** Unique per call, for log lines and tracing. */
  id: number;
  /** 1 on the first try, n after n-1 consecutive failures. */
  attempt: number;
}

/** The result of a batch: keys not named in errors succeeded. */
export interface BatchOutcome {
  /** Keys that failed; each is retried with its own backoff. */
  errors?: Map<string, unknown>;
  /** Keys that succeeded but want another look after this many ms. */
  requeueAfterMs?: Map<string, number>;
}

export type ReconcileFn = (
  key: string,
  info: ReconcileInfo,
  // biome-ignore lint/suspicious/noConfusingVoidType: so that `async (key) => {}` (Promise<void>) fits
) => Promise<Outcome | void> | Outcome | void;
/** Throwing (or rejecting) fails every key of the batch. */
export type ReconcileBatchFn = (
  keys: string[],
  info: { id: number },
  // biome-ignore lint/suspicious/noConfusingVoidType: so that `async (keys) => {}` (Promise<void>) fits
) => Promise<BatchOutcome | void> | BatchOutcome | void;

export type ReconcileOutcome = 'ok' | 'requeue' | 'error' | 'dropped';

/** Observability hooks: they must be cheap; a hook that throws is ignored rather than stall the queue. */
export interface QueueMetrics {
  /** Number of keys ready and waiting for a worker, after each change. */
  depth?(n: number): void;
  /** One reconcile of key ended: time it waited in the queue, time it ran, and how it ended. */
  reconciled?(key: string, r: { waitMs: number; runMs: number; outcome: ReconcileOutcome }): void;
  /** key failed for the attempt-th time in a row and comes back after delayMs. */
  retry?(key: string, attempt: number, delayMs: number): void;
}

export interface QueueCounters {
  adds: number;
  reconciles: number;
  batches: number;
  errors: number;
  retries: number;
  drops: number;
}

interface CommonOptions {
  /** Concurrent reconciles (default 1). */
  workers?: number;
  /** First retry delay (default 5 ms); doubles per consecutive failure. */
  baseDelayMs?: number;
  /** Retry delay cap (default 60 s). */
  maxDelayMs?: number;
  /** Consecutive failures after which a key is dropped (default 15; Infinity retries forever). */
  maxAttempts?: number;
  /** A key was given up: after maxAttempts failures, or at once on a TerminalError. */
  onDropped?(key: string, error: Error, attempts: number): void;
  metrics?: QueueMetrics;
}

export type QueueOptions = CommonOptions &
  (
    | { reconcile: ReconcileFn; reconcileBatch?: undefined; maxBatch?: undefined }
    | {
        /** Takes up to maxBatch ready keys at once, so many objects' changes can share one transaction. */
        reconcileBatch: ReconcileBatchFn;
        /** Default 100. */
        maxBatch?: number;
        reconcile?: undefined;
      }
  );

/** Thrown by a reconcile when retrying cannot help (bad input): the key is dropped without backoff. */
export class TerminalError extends Error {
  readonly code = 'ERR_TERMINAL';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

/** Whatever was thrown, as an Error (the original kept as cause): reconciles may throw strings or objects. */
export function toError(e: unknown): Error {
  if (e instanceof Error) return e;
  let text: string;
  try {
    text = typeof e === 'object' && e !== null ? JSON.stringify(e) : String(e);
  } catch {
    text = Object.prototype.toString.call(e);
  }
  return new Error(`non-Error thrown: ${text}`, { cause: e });
}

type Result = { error: Error } | { requeueAfterMs: number | undefined };

export class WorkQueue {
  /** Ready keys in FIFO order (a Set keeps insertion order and de-duplicates). */
  private readonly ready = new Set<string>();
  private readonly readySince = new Map<string, number>();
  private readonly processing = new Set<string>();
  /** Added while processing: goes back to ready when its reconcile ends. */
  private readonly dirty = new Set<string>();
  /** When each delayed key is due. */
  private readonly dueAt = new Map<string, number>();
  // One timer per due time, not per key: the keys of a failed batch retry together, as one batch again.
  private readonly timers = new Map<number, { timer: NodeJS.Timeout; keys: Set<string> }>();
  private readonly failures = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly idleWaiters: (() => void)[] = [];
  private readonly counts: QueueCounters = {
    adds: 0,
    reconciles: 0,
    batches: 0,
    errors: 0,
    retries: 0,
    drops: 0,
  };
  private readonly workers: number;
  private readonly maxBatch: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxAttempts: number;
  private pumpScheduled = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private nextId = 1;

  constructor(private readonly opts: QueueOptions) {
    if (!opts.reconcile === !opts.reconcileBatch) {
      throw new TypeError('WorkQueue needs exactly one of reconcile and reconcileBatch');
    }
    this.workers = positive(opts.workers ?? 1, 'workers');
    this.maxBatch = opts.reconcileBatch ? positive(opts.maxBatch ?? 100, 'maxBatch') : 1;
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 60_000;
    this.maxAttempts = positive(opts.maxAttempts ?? 15, 'maxAttempts');
  }

  /** Queues key unless it is already waiting; a key being processed is marked to run again. */
  add(key: string): void {
    if (this.closed) return;
    this.counts.adds++;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.ready.has(key)) return;
    this.ready.add(key);
    this.readySince.set(key, Date.now());
    this.hook(() => this.opts.metrics?.depth?.(this.ready.size));
    this.schedulePump();
  }

  /** Adds key after ms; of several pending delays for one key the earliest wins. */
  addAfter(key: string, ms: number): void {
    if (this.closed) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + ms;
    const pending = this.dueAt.get(key);
    if (pending !== undefined && pending <= at) return;
    if (pending !== undefined) this.unschedule(key, pending);
    this.dueAt.set(key, at);
    let slot = this.timers.get(at);
    if (!slot) {
      slot = { keys: new Set(), timer: setTimeout(() => this.fire(at), ms) };
      this.timers.set(at, slot);
    }
    slot.keys.add(key);
  }

  /**
   * Runs every key that is waiting out a failure's backoff now: work that failed because a peer (the API
   * server) was away need not wait up to maxDelayMs once it is back. Keys delayed on purpose
   * (requeueAfterMs, addAfter) keep their time; failure counts are kept, so a key that fails again backs
   * off from where it was.
   */
  retryFailedNow(): void {
    if (this.closed) return;
    for (const key of this.failures.keys()) {
      const at = this.dueAt.get(key);
      if (at === undefined) continue;
      this.unschedule(key, at);
      this.dueAt.delete(key);
      this.add(key);
    }
  }

  /** Keys ready and waiting for a worker. */
  get depth(): number {
    return this.ready.size;
  }

  /** Consecutive failures of key so far (0 when its last reconcile succeeded). */
  attempts(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  counters(): Readonly<QueueCounters> {
    return { ...this.counts };
  }

  /** Resolves once no key is ready or being processed (keys waiting on a delay do not count). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking work, cancels delayed adds and waits for reconciles in flight; idempotent. */
  shutdown(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.dueAt.clear();
    this.ready.clear();
    this.readySince.clear();
    this.closing = Promise.all([...this.inFlight]).then(() => this.notifyIdle());
    return this.closing;
  }

  // Deferred to a microtask so keys added in the same tick (or by one timer) can share a batch.
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (!this.closed && this.inFlight.size < this.workers && this.ready.size > 0) {
      const keys: string[] = [];
      for (const key of this.ready) {
        keys.push(key);
        if (keys.length >= this.maxBatch) break;
      }
      const now = Date.now();
      const waits = keys.map((key) => {
        this.ready.delete(key);
        this.processing.add(key);
        const since = this.readySince.get(key) ?? now;
        this.readySince.delete(key);
        return now - since;
      });
      this.hook(() => this.opts.metrics?.depth?.(this.ready.size));
      const run: Promise<void> = this.run(keys, waits).finally(() => {
        this.inFlight.delete(run);
        this.pump();
        this.notifyIdle();
      });
      this.inFlight.add(run);
    }
  }

  /** Never rejects: every failure of the reconcile becomes a per-key result. */
  private async run(keys: string[], waits: number[]): Promise<void> {
    const id = this.nextId++;
    const started = Date.now();
    const results = new Map<string, Result>();
    try {
      if (this.opts.reconcileBatch) {
        this.counts.batches++;
        const out = (await this.opts.reconcileBatch(keys, { id })) as BatchOutcome | undefined;
        for (const key of keys) {
          const err = out?.errors?.has(key) ? toError(out.errors.get(key)) : undefined;
          results.set(key, err ? { error: err } : { requeueAfterMs: out?.requeueAfterMs?.get(key) });
        }
      } else {
        const key = keys[0]!;
        const out = (await this.opts.reconcile!(key, { id, attempt: this.attempts(key) + 1 })) as
          | { requeueAfterMs: number }
          | undefined;
        results.set(key, { requeueAfterMs: out?.requeueAfterMs });
      }
    } catch (e) {
      const error = toError(e);
      for (const key of keys) results.set(key, { error });
    }
    const runMs = Date.now() - started;
    keys.forEach((key, i) => {
      this.settle(key, results.get(key)!, waits[i] ?? 0, runMs);
    });
  }

  private settle(key: string, result: Result, waitMs: number, runMs: number): void {
    this.counts.reconciles++;
    this.processing.delete(key);
    let outcome: ReconcileOutcome;
    if ('error' in result) {
      this.counts.errors++;
      const attempts = this.attempts(key) + 1;
      if (result.error instanceof TerminalError || attempts >= this.maxAttempts) {
        outcome = 'dropped';
        this.failures.delete(key);
        this.counts.drops++;
        this.hook(() => this.opts.onDropped?.(key, result.error, attempts));
      } else {
        outcome = 'error';
        this.failures.set(key, attempts);
        const delay = Math.min(this.baseDelayMs * 2 ** (attempts - 1), this.maxDelayMs);
        this.counts.retries++;
        this.hook(() => this.opts.metrics?.retry?.(key, attempts, delay));
        this.addAfter(key, delay);
      }
    } else {
      this.failures.delete(key);
      outcome = result.requeueAfterMs === undefined ? 'ok' : 'requeue';
      if (result.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
    }
    this.hook(() => this.opts.metrics?.reconciled?.(key, { waitMs, runMs, outcome }));
    // After processing.delete, so add() queues it rather than marking it dirty again.
    if (this.dirty.delete(key)) this.add(key);
  }

  private fire(at: number): void {
    const slot = this.timers.get(at);
    this.timers.delete(at);
    for (const key of slot?.keys ?? []) {
      this.dueAt.delete(key);
      this.add(key);
    }
  }

  private unschedule(key: string, at: number): void {
    const slot = this.timers.get(at);
    if (!slot) return;
    slot.keys.delete(key);
    if (slot.keys.size > 0) return;
    clearTimeout(slot.timer);
    this.timers.delete(at);
  }

  private isIdle(): boolean {
    return this.ready.size === 0 && this.inFlight.size === 0;
  }

  private notifyIdle(): void {
    if (!this.isIdle()) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  // Hooks are observability: a broken one must not stop reconciliation or become an unhandled rejection.
  private hook(fn: () => void): void {
    try {
      fn();
    } catch {
      // ignored on purpose
    }
  }
}

function positive(n: number, what: string): number {
  if (!(n >= 1)) throw new RangeError(`${what} must be at least 1, got ${n}`);
  return n;
}
