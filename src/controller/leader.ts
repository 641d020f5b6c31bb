// Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection (client-node 1.4 has
// none). Only the leader may write northbound; safety rests on two things:
// - optimistic concurrency: every write carries the resourceVersion last seen, so of two candidates racing
//   for an expired lease exactly one wins, and a leader whose lease someone else changed gets 409 and steps
//   down at once;
// - timing: a leader that cannot renew steps down renewDeadline after its last successful renew was sent,
//   while a standby waits until leaseDuration after that renewTime. renewDeadline < leaseDuration leaves the
//   gap in which the old leader has stopped and nobody has started.
// Expiry is judged from the renewTime written in the Lease, so clocks are assumed to agree to well within
// leaseDuration - renewDeadline (client-go avoids that assumption by timing from when it observed a change,
// at the price of a new standby always waiting a full lease duration).
import {
  ApiException,
  type ConfigurationOptions,
  type CoordinationV1Api,
  Observable,
  type V1Lease,
  V1MicroTime,
} from '@kubernetes/client-node';
import { toError } from './queue.ts';

export type StepDownReason =
  /** Someone else changed or deleted the Lease (409 or 404 on renew). */
  | 'lost'
  /** No renew succeeded within renewDeadline. */
  | 'deadline'
  /** stop() was called. */
  | 'stopped';

export interface LeaderElectorOptions {
  api: CoordinationV1Api;
  namespace: string;
  /** Lease name. */
  name: string;
  /** Unique per process (e.g. pod name plus a random suffix): a restarted process must not inherit a term. */
  identity: string;
  /** How long a standby waits after the last renew before taking over (default 15). */
  leaseDurationSeconds?: number;
  /** A leader that has not renewed for this long steps down (default 10 s); below the lease duration. */
  renewDeadlineMs?: number;
  /** Between renews, and between a standby's attempts (default 2 s); below renewDeadline. */
  retryPeriodMs?: number;
  /** This process now leads; signal aborts when the term ends, so work of an old term can stop itself. */
  onStartedLeading?(signal: AbortSignal): void | Promise<void>;
  /** The term ended. Awaited before a graceful release, so a successor never overlaps our writes. */
  onStoppedLeading?(reason: StepDownReason): void | Promise<void>;
  /** The Lease names a different holder than last seen (our own identity included). */
  onNewLeader?(identity: string): void;
  /** Failed API calls and throwing callbacks; election carries on. */
  onError?(error: Error): void;
}

const LEASE_API_VERSION = 'coordination.k8s.io/v1';

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private leading = false;
  /** The Lease as we last wrote it while leading: its resourceVersion guards the next renew. */
  private held: V1Lease | undefined;
  /** When the last successful acquire or renew was sent (the renewTime it wrote). */
  private renewedAt = 0;
  private term: AbortController | undefined;
  private observed = '';
  private loop: Promise<void> | undefined;
  private stopping = false;
  /** Interrupts the sleep between rounds when stop() is called. */
  private readonly wake = new AbortController();
  private stopped: Promise<void> | undefined;

  constructor(private readonly opts: LeaderElectorOptions) {
    this.api = opts.api;
    const lease = opts.leaseDurationSeconds ?? 15;
    this.leaseDurationMs = lease * 1000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    if (!Number.isInteger(lease) || lease < 1) throw new RangeError('leaseDurationSeconds: integer >= 1');
    if (!(this.renewDeadlineMs < this.leaseDurationMs)) {
      throw new RangeError('renewDeadlineMs must be below the lease duration');
    }
    if (!(this.retryPeriodMs > 0 && this.retryPeriodMs < this.renewDeadlineMs)) {
      throw new RangeError('retryPeriodMs must be above 0 and below renewDeadlineMs');
    }
    if (!opts.identity) throw new RangeError('identity must not be empty');
  }

  get identity(): string {
    return this.opts.identity;
  }

  /** True while this process holds the lease (and has renewed within renewDeadline). */
  isLeader(): boolean {
    return this.leading && Date.now() - this.renewedAt < this.renewDeadlineMs;
  }

  /** The holder last seen in the Lease ('' when nobody holds it). */
  leader(): string {
    return this.observed;
  }

  /** Starts campaigning; idempotent. */
  start(): void {
    if (this.loop || this.stopping) return;
    this.loop = this.run();
  }

  /**
   * Stops campaigning. A leader ends its term (awaiting onStoppedLeading) and then, unless release is false,
   * empties the Lease so a standby takes over at once. release: false stops like a crash: the lease runs out.
   */
  stop(opts: { release?: boolean } = {}): Promise<void> {
    this.stopped ??= this.shutdown(opts.release ?? true);
    return this.stopped;
  }

  private async shutdown(release: boolean): Promise<void> {
    this.stopping = true;
    this.wake.abort();
    await this.loop;
    if (!this.leading) return;
    const held = this.held;
    await this.stepDown('stopped');
    if (release && held) await this.release(held);
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      if (this.leading) {
        await this.sleep(Math.min(this.retryPeriodMs, this.renewedAt + this.renewDeadlineMs - Date.now()));
        if (!this.stopping) await this.renew();
      } else if (await this.tryAcquire()) {
        this.startLeading();
      } else {
        // Jitter keeps standbys that started together from hitting the server in lockstep.
        await this.sleep(this.retryPeriodMs * (1 + Math.random() * 0.2));
      }
    }
  }

  /** One standby round: read the Lease, and take it when nobody holds it or its holder let it expire. */
  private async tryAcquire(): Promise<boolean> {
    let current: V1Lease | undefined;
    try {
      current = await this.call((o) =>
        this.api.readNamespacedLease({ name: this.opts.name, namespace: this.opts.namespace }, o),
      );
    } catch (e) {
      if (code(e) !== 404) {
        this.report(e);
        return false;
      }
    }
    const now = Date.now();
    const spec = current?.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    if (current) this.observe(holder);
    const renewTime = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
    const expired = renewTime + (spec.leaseDurationSeconds ?? 0) * 1000 < now;
    if (holder !== '' && holder !== this.identity && !expired) return false;
    const transitions = (spec.leaseTransitions ?? 0) + (current && holder !== this.identity ? 1 : 0);
    const body: V1Lease = {
      apiVersion: LEASE_API_VERSION,
      kind: 'Lease',
      metadata: current?.metadata ?? { name: this.opts.name, namespace: this.opts.namespace },
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds: this.leaseDurationMs / 1000,
        acquireTime: holder === this.identity && spec.acquireTime ? spec.acquireTime : new V1MicroTime(now),
        renewTime: new V1MicroTime(now),
        leaseTransitions: transitions,
      },
    };
    try {
      // The resourceVersion in current's metadata makes this conditional: of racing candidates one wins.
      this.held = await this.call((o) =>
        current
          ? this.api.replaceNamespacedLease({ name: this.opts.name, namespace: this.opts.namespace, body }, o)
          : this.api.createNamespacedLease({ namespace: this.opts.namespace, body }, o),
      );
    } catch (e) {
      if (code(e) !== 409) this.report(e);
      return false;
    }
    this.renewedAt = now;
    this.observe(this.identity);
    return true;
  }

  /** One renew attempt, bounded by what is left of renewDeadline. */
  private async renew(): Promise<void> {
    const now = Date.now();
    const left = this.renewedAt + this.renewDeadlineMs - now;
    if (left <= 0) return this.stepDown('deadline');
    const held = this.held!;
    const body: V1Lease = { ...held, spec: { ...held.spec, renewTime: new V1MicroTime(now) } };
    try {
      this.held = await this.call(
        (o) =>
          this.api.replaceNamespacedLease({ name: this.opts.name, namespace: this.opts.namespace, body }, o),
        left,
      );
      this.renewedAt = now;
    } catch (e) {
      if (e instanceof DeadlineExceeded) return this.stepDown('deadline');
      // 409: someone wrote the Lease since our last renew, which only a new holder does. 404: it is gone.
      if (code(e) === 409 || code(e) === 404) return this.stepDown('lost');
      this.report(e);
    }
  }

  private startLeading(): void {
    this.leading = true;
    this.term = new AbortController();
    const signal = this.term.signal;
    // Not awaited: a controller's start-up (informer sync, initial reconcile) must not delay the renews.
    void this.callback(() => this.opts.onStartedLeading?.(signal));
  }

  private async stepDown(reason: StepDownReason): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    this.held = undefined;
    this.term?.abort(new Error(`leadership ended: ${reason}`));
    this.term = undefined;
    await this.callback(() => this.opts.onStoppedLeading?.(reason));
  }

  /** Empties the holder: a standby sees holderIdentity '' and takes over on its next round. */
  private async release(held: V1Lease): Promise<void> {
    const body: V1Lease = {
      ...held,
      spec: {
        ...held.spec,
        holderIdentity: '',
        leaseDurationSeconds: 1,
        renewTime: new V1MicroTime(Date.now()),
      },
    };
    try {
      await this.call((o) =>
        this.api.replaceNamespacedLease({ name: this.opts.name, namespace: this.opts.namespace, body }, o),
      );
    } catch (e) {
      // 409: a successor already holds it, which is what releasing was for.
      if (code(e) !== 409) this.report(e);
    }
  }

  private observe(holder: string): void {
    if (holder === this.observed) return;
    this.observed = holder;
    if (holder !== '') void this.callback(() => this.opts.onNewLeader?.(holder));
  }

  /**
   * One API call, aborted after timeoutMs (default renewDeadline) so that a hung server cannot hold a round,
   * or stop(), forever. If the server applies an abandoned renew anyway, that is still safe: the renewTime it
   * writes is its send time, after our last success, so a successor merely waits a little longer.
   */
  private async call<T>(
    fn: (options: ConfigurationOptions) => Promise<T>,
    timeoutMs = this.renewDeadlineMs,
  ): Promise<T> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), timeoutMs);
    try {
      return await fn({
        middleware: [
          {
            pre: (ctx) => {
              ctx.setSignal(ac.signal);
              return new Observable(Promise.resolve(ctx));
            },
            post: (ctx) => new Observable(Promise.resolve(ctx)),
          },
        ],
        middlewareMergeStrategy: 'append',
      });
    } catch (e) {
      if (ac.signal.aborted) throw new DeadlineExceeded(timeoutMs, e);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.wake.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake.signal.addEventListener('abort', done);
    });
  }

  // Callbacks belong to the caller: their failures are reported, never allowed to stop the election.
  private async callback(fn: () => void | Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.report(e);
    }
  }

  private report(e: unknown): void {
    try {
      this.opts.onError?.(toError(e));
    } catch {
      // an onError that throws has nowhere left to report to
    }
  }
}

/** A Lease request that did not complete in time; it was aborted. */
export class DeadlineExceeded extends Error {
  readonly code = 'ERR_LEASE_DEADLINE';
  constructor(ms: number, cause: unknown) {
    super(`lease request did not complete within ${ms} ms`, { cause });
    this.name = 'DeadlineExceeded';
  }
}

function code(e: unknown): number | undefined {
  return e instanceof ApiException ? e.code : undefined;
}
