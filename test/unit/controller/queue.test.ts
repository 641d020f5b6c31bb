// The work queue's contract: de-duplication, one worker per key, backoff, max attempts, requeueAfter,
// batching, shutdown. Fake timers drive the delays so the backoff sequence is checked exactly.
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { type BatchOutcome, TerminalError, toError, WorkQueue } from '../../../src/controller/queue.ts';

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets microtasks and zero-delay timers run. */
const settle = () => vi.advanceTimersByTimeAsync(0);

describe('with fake timers', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test('adds of a waiting key are de-duplicated', async () => {
    const seen: string[] = [];
    const q = new WorkQueue({ reconcile: async (k) => void seen.push(k) });
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('a');
    expect(q.depth).toBe(2);
    await settle();
    expect(seen).toEqual(['a', 'b']);
    expect(q.counters()).toMatchObject({ adds: 4, reconciles: 2 });
    await q.shutdown();
  });

  test('a key is never worked by two workers; an add during its run makes exactly one more run', async () => {
    const running = new Map<string, number>();
    let maxPerKey = 0;
    let maxTotal = 0;
    const gates: ReturnType<typeof deferred<void>>[] = [];
    const calls: string[] = [];
    const q = new WorkQueue({
      workers: 4,
      reconcile: async (k) => {
        calls.push(k);
        running.set(k, (running.get(k) ?? 0) + 1);
        maxPerKey = Math.max(maxPerKey, running.get(k)!);
        maxTotal = Math.max(
          maxTotal,
          [...running.values()].reduce((a, b) => a + b, 0),
        );
        const gate = deferred();
        gates.push(gate);
        await gate.promise;
        running.set(k, running.get(k)! - 1);
      },
    });
    for (const k of ['a', 'b', 'c', 'd', 'e', 'f']) q.add(k);
    await settle();
    expect(calls).toEqual(['a', 'b', 'c', 'd']);
    for (let i = 0; i < 5; i++) q.add('a');
    await settle();
    expect(calls).toEqual(['a', 'b', 'c', 'd']);
    gates[0]!.resolve(); // a ends: e takes the free worker; f and then a (again) wait for the next ones
    await settle();
    expect(calls).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(q.depth).toBe(2);
    for (const g of gates) g.resolve();
    await settle();
    for (const g of gates) g.resolve();
    await settle();
    expect(calls.filter((k) => k === 'a')).toHaveLength(2);
    expect(maxPerKey).toBe(1);
    expect(maxTotal).toBe(4);
    await q.idle();
    await q.shutdown();
  });

  test('failures back off 5 ms doubling to the cap, per key', async () => {
    const at: number[] = [];
    const retries: [number, number][] = [];
    const start = Date.now();
    const q = new WorkQueue({
      maxDelayMs: 60,
      maxAttempts: 8,
      reconcile: async () => {
        at.push(Date.now() - start);
        throw new Error('boom');
      },
      metrics: { retry: (_k, attempt, delay) => retries.push([attempt, delay]) },
    });
    q.add('a');
    await vi.advanceTimersByTimeAsync(1000);
    expect(retries).toEqual([
      [1, 5],
      [2, 10],
      [3, 20],
      [4, 40],
      [5, 60],
      [6, 60],
      [7, 60],
    ]);
    expect(at).toEqual([0, 5, 15, 35, 75, 135, 195, 255]);
    await q.shutdown();
  });

  test('success resets the backoff; the attempt number is passed to the reconcile', async () => {
    const attempts: number[] = [];
    let fail = 2;
    const q = new WorkQueue({
      reconcile: async (_k, info) => {
        attempts.push(info.attempt);
        if (fail-- > 0) throw new Error('not yet');
      },
    });
    q.add('a');
    await vi.advanceTimersByTimeAsync(100);
    expect(attempts).toEqual([1, 2, 3]);
    expect(q.attempts('a')).toBe(0);
    fail = 1;
    q.add('a');
    await settle();
    expect(q.attempts('a')).toBe(1);
    await vi.advanceTimersByTimeAsync(4);
    expect(attempts).toEqual([1, 2, 3, 1]);
    await vi.advanceTimersByTimeAsync(1); // 5 ms again, not 20
    expect(attempts).toEqual([1, 2, 3, 1, 2]);
    await q.shutdown();
  });

  test('retryFailedNow runs keys waiting out a backoff at once, and leaves requeueAfter delays alone', async () => {
    const runs: string[] = [];
    let failing = true;
    const q = new WorkQueue({
      maxDelayMs: 60_000,
      reconcile: async (k) => {
        runs.push(k);
        if (k === 'later') return { requeueAfterMs: 10_000 };
        if (failing) throw new Error('API server away');
      },
    });
    q.add('a');
    q.add('later');
    // a fails at 0, 5, 15, 35 ... ms: after 10 failures its next try is 2.5 s away
    await vi.advanceTimersByTimeAsync(2_600);
    const tries = runs.filter((k) => k === 'a').length;
    expect(q.attempts('a')).toBe(tries);
    failing = false;
    q.retryFailedNow();
    await settle();
    expect(runs.filter((k) => k === 'a').length).toBe(tries + 1);
    expect(q.attempts('a')).toBe(0);
    // its old backoff timer does not run it again, and 'later' keeps its own time
    await vi.advanceTimersByTimeAsync(5_000);
    expect(runs.filter((k) => k === 'a').length).toBe(tries + 1);
    expect(runs.filter((k) => k === 'later')).toEqual(['later']);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(runs.filter((k) => k === 'later')).toEqual(['later', 'later']);
    await q.shutdown();
  });

  test('after maxAttempts failures the key is dropped and reported; a later add starts afresh', async () => {
    const dropped: [string, Error, number][] = [];
    let calls = 0;
    const q = new WorkQueue({
      maxAttempts: 3,
      reconcile: async () => {
        calls++;
        throw new Error(`fail ${calls}`);
      },
      onDropped: (k, e, n) => dropped.push([k, e, n]),
    });
    q.add('a');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toBe(3);
    expect(dropped).toHaveLength(1);
    expect(dropped[0]![0]).toBe('a');
    expect(dropped[0]![1].message).toBe('fail 3');
    expect(dropped[0]![2]).toBe(3);
    expect(q.attempts('a')).toBe(0);
    expect(q.counters()).toMatchObject({ errors: 3, retries: 2, drops: 1 });
    q.add('a');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toBe(6);
    expect(dropped).toHaveLength(2);
    await q.shutdown();
  });

  test('a TerminalError drops the key at once', async () => {
    const dropped: number[] = [];
    let calls = 0;
    const q = new WorkQueue({
      reconcile: async () => {
        calls++;
        throw new TerminalError('bad input');
      },
      onDropped: (_k, e, n) => {
        expect(e).toBeInstanceOf(TerminalError);
        dropped.push(n);
      },
    });
    q.add('a');
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toBe(1);
    expect(dropped).toEqual([1]);
    await q.shutdown();
  });

  test('requeueAfterMs brings the key back after that delay, not before', async () => {
    const at: number[] = [];
    const start = Date.now();
    const q = new WorkQueue({
      reconcile: async () => {
        at.push(Date.now() - start);
        return at.length === 1 ? { requeueAfterMs: 100 } : undefined;
      },
    });
    q.add('a');
    await vi.advanceTimersByTimeAsync(99);
    expect(at).toEqual([0]);
    await vi.advanceTimersByTimeAsync(1);
    expect(at).toEqual([0, 100]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(at).toEqual([0, 100]);
    await q.shutdown();
  });

  test('addAfter: the earliest pending delay wins, and duplicates run once', async () => {
    const at: number[] = [];
    const start = Date.now();
    const q = new WorkQueue({ reconcile: async () => void at.push(Date.now() - start) });
    q.addAfter('a', 50);
    q.addAfter('a', 30);
    q.addAfter('a', 80);
    await vi.advanceTimersByTimeAsync(200);
    expect(at).toEqual([30]);
    q.addAfter('b', 0); // no delay: like add
    await settle();
    expect(at).toEqual([30, 200]);
    // Keys due at the same moment share a timer; moving one earlier leaves the other due as before.
    q.addAfter('p', 50);
    q.addAfter('q', 50);
    q.addAfter('p', 20);
    await vi.advanceTimersByTimeAsync(20);
    expect(at).toEqual([30, 200, 220]);
    await vi.advanceTimersByTimeAsync(29);
    expect(at).toEqual([30, 200, 220]);
    await vi.advanceTimersByTimeAsync(1);
    expect(at).toEqual([30, 200, 220, 250]);
    await q.shutdown();
  });

  test('batching: ready keys are drained together, up to maxBatch', async () => {
    const batches: string[][] = [];
    const gate = deferred();
    const q = new WorkQueue({
      maxBatch: 3,
      reconcileBatch: async (keys) => {
        batches.push(keys);
        if (batches.length === 1) await gate.promise;
      },
    });
    q.add('k1');
    await settle();
    // While the first batch runs (a slow transaction), load piles up and goes in few batches.
    for (let i = 2; i <= 8; i++) q.add(`k${i}`);
    q.add('k1'); // being processed: runs again afterwards, not concurrently
    await settle();
    expect(batches).toEqual([['k1']]);
    gate.resolve();
    await settle();
    expect(batches).toEqual([['k1'], ['k2', 'k3', 'k4'], ['k5', 'k6', 'k7'], ['k8', 'k1']]);
    expect(q.counters()).toMatchObject({ batches: 4, reconciles: 9 });
    await q.shutdown();
  });

  test('batching: per-key errors and requeues apply to those keys only; a throw fails the whole batch', async () => {
    const batches: string[][] = [];
    const dropped: string[] = [];
    let mode: 'partial' | 'throw' = 'partial';
    const q = new WorkQueue({
      maxAttempts: 2,
      onDropped: (k) => dropped.push(k),
      reconcileBatch: async (keys): Promise<BatchOutcome | undefined> => {
        batches.push(keys);
        if (mode === 'throw') throw 'transaction failed';
        if (batches.length > 1) return undefined;
        return {
          errors: new Map([['b', new Error('b is bad')]]),
          requeueAfterMs: new Map([['c', 50]]),
        };
      },
    });
    for (const k of ['a', 'b', 'c']) q.add(k);
    await settle();
    await vi.advanceTimersByTimeAsync(5);
    expect(batches).toEqual([['a', 'b', 'c'], ['b']]);
    await vi.advanceTimersByTimeAsync(45);
    expect(batches).toEqual([['a', 'b', 'c'], ['b'], ['c']]);
    mode = 'throw';
    q.add('x');
    q.add('y');
    await vi.advanceTimersByTimeAsync(100);
    expect(batches.slice(3)).toEqual([
      ['x', 'y'],
      ['x', 'y'],
    ]);
    expect(dropped).toEqual(['x', 'y']);
    await q.shutdown();
  });

  test('metrics hooks see depth, wait and run time, and outcome', async () => {
    const depths: number[] = [];
    const done: [string, number, number, string][] = [];
    const q = new WorkQueue({
      reconcile: async (k) => {
        await new Promise((r) => setTimeout(r, 7));
        if (k === 'bad') throw new Error('x');
      },
      metrics: {
        depth: (n) => depths.push(n),
        reconciled: (k, r) => done.push([k, r.waitMs, r.runMs, r.outcome]),
      },
    });
    q.add('a');
    q.add('bad');
    await vi.advanceTimersByTimeAsync(14);
    expect(depths).toEqual([1, 2, 1, 0]);
    expect(done).toEqual([
      ['a', 0, 7, 'ok'],
      ['bad', 7, 7, 'error'],
    ]);
    await q.shutdown();
  });

  test('shutdown waits for work in flight, then ignores adds and cancels delayed ones', async () => {
    const gate = deferred();
    const calls: string[] = [];
    let finished = false;
    const q = new WorkQueue({
      workers: 2,
      reconcile: async (k) => {
        calls.push(k);
        if (k === 'slow') {
          await gate.promise;
          finished = true;
        }
      },
    });
    q.add('slow');
    q.addAfter('later', 10);
    await settle();
    let closed = false;
    const closing = q.shutdown().then(() => {
      closed = true;
    });
    expect(q.shutdown()).toBe(q.shutdown());
    q.add('after');
    await vi.advanceTimersByTimeAsync(50);
    expect(closed).toBe(false);
    gate.resolve();
    await closing;
    expect(finished).toBe(true);
    expect(calls).toEqual(['slow']);
    await q.idle();
  });

  test('idle() resolves once nothing is ready or running', async () => {
    const gate = deferred();
    const q = new WorkQueue({ reconcile: () => gate.promise });
    await q.idle();
    q.add('a');
    let idle = false;
    void q.idle().then(() => {
      idle = true;
    });
    await settle();
    expect(idle).toBe(false);
    gate.resolve();
    await settle();
    expect(idle).toBe(true);
    await q.shutdown();
  });
});

describe('with real timers', () => {
  test('thrown non-Errors and rejections never become unhandled rejections', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const dropped = new Map<string, Error>();
      const throwers: Record<string, () => unknown> = {
        string: () => {
          throw 'a string';
        },
        undefined: () => Promise.reject(undefined),
        object: () => Promise.reject({ code: 42 }),
        nullProto: () => Promise.reject(Object.create(null)),
        syncError: () => {
          throw new TypeError('sync');
        },
        rejectedError: async () => {
          throw new RangeError('async');
        },
      };
      const q = new WorkQueue({
        workers: 3,
        maxAttempts: 2,
        baseDelayMs: 1,
        reconcile: (k) => throwers[k]!() as Promise<void>,
        onDropped: (k, e) => {
          dropped.set(k, e);
          throw new Error('a broken hook');
        },
        metrics: {
          depth: () => {
            throw 'broken depth hook';
          },
          retry: () => {
            throw new Error('broken retry hook');
          },
        },
      });
      for (const k of Object.keys(throwers)) q.add(k);
      while (dropped.size < Object.keys(throwers).length) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 20)); // give Node a chance to report
      expect(unhandled).toEqual([]);
      for (const e of dropped.values()) expect(e).toBeInstanceOf(Error);
      expect(dropped.get('string')!.message).toBe('non-Error thrown: a string');
      expect(dropped.get('string')!.cause).toBe('a string');
      expect(dropped.get('object')!.message).toBe('non-Error thrown: {"code":42}');
      expect(dropped.get('syncError')).toBeInstanceOf(TypeError);
      expect(dropped.get('rejectedError')).toBeInstanceOf(RangeError);
      await q.shutdown();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  test('many keys over several workers: each key ends reconciled after its last add', async () => {
    const version = new Map<string, number>();
    const seen = new Map<string, number>();
    const q = new WorkQueue({
      workers: 4,
      reconcile: async (k) => {
        const v = version.get(k);
        await new Promise((r) => setTimeout(r, Math.random() * 2));
        seen.set(k, v!);
      },
    });
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 50; i++) {
        const k = `k${i % 20}`;
        version.set(k, (version.get(k) ?? 0) + 1);
        q.add(k);
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await q.idle();
    expect(seen).toEqual(version);
    await q.shutdown();
  });
});

test('toError keeps Errors and wraps anything else', () => {
  const e = new Error('x');
  expect(toError(e)).toBe(e);
  expect(toError(5).message).toBe('non-Error thrown: 5');
  expect(toError(null).message).toBe('non-Error thrown: null');
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  expect(toError(cyclic).message).toBe('non-Error thrown: [object Object]');
});

test('options are checked', () => {
  const reconcile = async () => {};
  expect(() => new WorkQueue({ reconcile, workers: 0 })).toThrow(RangeError);
  expect(() => new WorkQueue({ reconcile, maxAttempts: 0 })).toThrow(RangeError);
  expect(() => new WorkQueue({} as never)).toThrow(TypeError);
  expect(() => new WorkQueue({ reconcile, reconcileBatch: async () => undefined } as never)).toThrow(
    TypeError,
  );
});
