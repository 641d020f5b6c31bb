// LeaderElector against the embedded API server: one leader among candidates, takeover only after the lease
// runs out when the leader dies, at once when it releases, and stepping down (rather than writing on) when
// renews fail, hang, or meet a 409. Short durations keep it fast: lease 2 s, renew deadline 1.5 s, retry 0.3 s.
import { CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import {
  LeaderElector,
  type LeaderElectorOptions,
  type StepDownReason,
} from '../../src/controller/leader.ts';
import { eventually, raw, startTestServer, type TestServer } from './helpers.ts';

const ns = 'kube-system';
const LEASE_MS = 2000;
const RENEW_DEADLINE_MS = 1500;
const RETRY_MS = 300;

let t: TestServer;
let api: CoordinationV1Api;
const running: LeaderElector[] = [];

beforeAll(async () => {
  t = await startTestServer();
  api = t.kc.makeApiClient(CoordinationV1Api);
});
afterEach(async () => {
  t.server.faults.clear();
  await Promise.all(running.splice(0).map((e) => e.stop({ release: false })));
});
afterAll(() => t.close());

/** A candidate that records what its elector tells it, with timestamps. */
class Candidate {
  readonly elector: LeaderElector;
  startedAt: number | undefined;
  stopped: { at: number; reason: StepDownReason }[] = [];
  leaders: string[] = [];
  errors: Error[] = [];
  signal: AbortSignal | undefined;

  constructor(
    readonly id: string,
    lease: string,
    extra: Partial<LeaderElectorOptions> = {},
  ) {
    this.elector = new LeaderElector({
      api: t.kc.makeApiClient(CoordinationV1Api),
      namespace: ns,
      name: lease,
      identity: id,
      leaseDurationSeconds: LEASE_MS / 1000,
      renewDeadlineMs: RENEW_DEADLINE_MS,
      retryPeriodMs: RETRY_MS,
      onStartedLeading: (signal) => {
        this.startedAt = Date.now();
        this.signal = signal;
      },
      onStoppedLeading: (reason) => {
        this.stopped.push({ at: Date.now(), reason });
      },
      onNewLeader: (who) => this.leaders.push(who),
      onError: (e) => this.errors.push(e),
      ...extra,
    });
    running.push(this.elector);
    this.elector.start();
  }
}

const read = (name: string) => api.readNamespacedLease({ name, namespace: ns });
const renewTimeOf = (l: V1Lease) => new Date(l.spec!.renewTime!).getTime();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function leaderOf(a: Candidate, b: Candidate): Promise<[Candidate, Candidate]> {
  await eventually(() => expect(a.elector.isLeader() || b.elector.isLeader()).toBe(true));
  return a.elector.isLeader() ? [a, b] : [b, a];
}

describe('LeaderElector', () => {
  test('two candidates: exactly one leads, the other follows it; renews keep the lease fresh', async () => {
    const a = new Candidate('a', 'one-leader');
    const b = new Candidate('b', 'one-leader');
    const [leader, follower] = await leaderOf(a, b);
    const first = await read('one-leader');
    for (let i = 0; i < 25; i++) {
      expect(a.elector.isLeader() && b.elector.isLeader()).toBe(false);
      await sleep(50);
    }
    expect(leader.elector.isLeader()).toBe(true);
    expect(follower.elector.isLeader()).toBe(false);
    expect(follower.startedAt).toBeUndefined();
    await eventually(() => expect(follower.leaders).toEqual([leader.id]));
    expect(leader.leaders).toEqual([leader.id]);
    expect(follower.elector.leader()).toBe(leader.id);

    const lease = await read('one-leader');
    expect(lease.spec).toMatchObject({
      holderIdentity: leader.id,
      leaseDurationSeconds: 2,
      leaseTransitions: 0,
    });
    expect(renewTimeOf(lease)).toBeGreaterThan(renewTimeOf(first));
    // MicroTime on the wire: RFC 3339 with exactly six fractional digits, as the API server writes it.
    const { json } = await raw(
      t.server,
      'GET',
      `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/one-leader`,
    );
    const spec = json.spec as Record<string, string>;
    expect(spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(spec.acquireTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(leader.errors).toEqual([]);
    expect(follower.errors).toEqual([]);
  });

  test('a leader that dies without releasing is replaced after the lease duration, not before', async () => {
    const a = new Candidate('a', 'dies');
    const b = new Candidate('b', 'dies');
    const [leader, follower] = await leaderOf(a, b);
    await sleep(2 * RETRY_MS); // a few renews
    await leader.elector.stop({ release: false }); // a crash: no more renews, no release
    const last = renewTimeOf(await read('dies'));
    await eventually(() => expect(follower.startedAt).toBeDefined(), 3 * LEASE_MS);
    expect(follower.startedAt!).toBeGreaterThanOrEqual(last + LEASE_MS);
    expect(follower.startedAt!).toBeLessThan(last + LEASE_MS + 1.2 * RETRY_MS + 500);
    const lease = await read('dies');
    expect(lease.spec).toMatchObject({ holderIdentity: follower.id, leaseTransitions: 1 });
    expect(follower.leaders).toEqual([leader.id, follower.id]);
  });

  test('a graceful stop releases the lease and the standby takes over at once', async () => {
    const order: string[] = [];
    const a = new Candidate('a', 'release', { onStoppedLeading: () => void order.push('a stopped') });
    const b = new Candidate('b', 'release', { onStoppedLeading: () => void order.push('b stopped') });
    const [leader, follower] = await leaderOf(a, b);
    await sleep(RETRY_MS);
    const before = Date.now();
    await leader.elector.stop();
    expect(order).toEqual([`${leader.id} stopped`]);
    await eventually(() => expect(follower.startedAt).toBeDefined(), LEASE_MS);
    // Within one standby round, well before the 2 s lease could have run out.
    expect(follower.startedAt! - before).toBeLessThan(1.2 * RETRY_MS + 400);
    const lease = await read('release');
    expect(lease.spec).toMatchObject({
      holderIdentity: follower.id,
      leaseTransitions: 1,
      leaseDurationSeconds: 2,
    });
  });

  test('renews failing with API errors: the leader steps down within the renew deadline', async () => {
    const a = new Candidate('a', 'faults');
    const b = new Candidate('b', 'faults');
    const [leader] = await leaderOf(a, b);
    const last = renewTimeOf(await read('faults'));
    t.server.faults.inject({ verb: 'update', resource: 'leases', name: 'faults', code: 500, times: 1000 });
    await eventually(() => expect(leader.stopped).toHaveLength(1), LEASE_MS + 1000);
    expect(leader.stopped[0]!.reason).toBe('deadline');
    expect(leader.elector.isLeader()).toBe(false);
    expect(leader.signal!.aborted).toBe(true);
    // It gave up before anyone else could take the lease: at most renewDeadline (plus a round) after its
    // last successful renew, and before that renew's lease ran out.
    expect(leader.stopped[0]!.at).toBeLessThan(last + RETRY_MS + RENEW_DEADLINE_MS + 150);
    expect(leader.stopped[0]!.at).toBeLessThan(last + RETRY_MS + LEASE_MS);
    expect(leader.errors.some((e) => /injected fault/.test(e.message))).toBe(true);
    expect(a.elector.isLeader() || b.elector.isLeader()).toBe(false);
    // Once the server recovers, exactly one of them leads again.
    t.server.faults.clear();
    await eventually(() => expect(a.elector.isLeader() || b.elector.isLeader()).toBe(true), 2 * LEASE_MS);
    expect(a.elector.isLeader() && b.elector.isLeader()).toBe(false);
  });

  test('a renew that hangs past the deadline is abandoned and the leader steps down', async () => {
    const a = new Candidate('a', 'hang');
    await eventually(() => expect(a.elector.isLeader()).toBe(true));
    const last = renewTimeOf(await read('hang'));
    t.server.faults.inject({ verb: 'update', resource: 'leases', name: 'hang', code: 0, delayMs: 5000 });
    await eventually(() => expect(a.stopped).toHaveLength(1), LEASE_MS + 1000);
    expect(a.stopped[0]).toMatchObject({ reason: 'deadline' });
    expect(a.stopped[0]!.at).toBeLessThan(last + LEASE_MS);
  });

  test('a 409 on renew (someone else took the lease) makes the leader step down at once', async () => {
    const a = new Candidate('a', 'stolen');
    await eventually(() => expect(a.elector.isLeader()).toBe(true));
    const lease = await read('stolen');
    const stolenAt = Date.now();
    await api.replaceNamespacedLease({
      name: 'stolen',
      namespace: ns,
      body: { ...lease, spec: { ...lease.spec, holderIdentity: 'intruder', renewTime: new Date() } },
    });
    await eventually(() => expect(a.stopped).toHaveLength(1), LEASE_MS);
    expect(a.stopped[0]!.reason).toBe('lost');
    expect(a.stopped[0]!.at - stolenAt).toBeLessThan(RETRY_MS + 300);
    expect(a.signal!.aborted).toBe(true);
    await eventually(() => expect(a.leaders).toEqual(['a', 'intruder']));
    // The intruder never renews: a takes the lease back once it has run out.
    await eventually(() => expect(a.elector.isLeader()).toBe(true), 2 * LEASE_MS);
    expect((await read('stolen')).spec).toMatchObject({ holderIdentity: 'a', leaseTransitions: 1 });
  });

  test('callbacks that throw are reported and do not stop the election', async () => {
    const a = new Candidate('a', 'throwing', {
      onStartedLeading: () => {
        throw 'not an Error';
      },
      onNewLeader: () => {
        throw new Error('bad hook');
      },
    });
    await eventually(() => expect(a.elector.isLeader()).toBe(true));
    await sleep(2 * RETRY_MS);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.errors.map((e) => e.message).sort()).toEqual(['bad hook', 'non-Error thrown: not an Error']);
  });

  test('options are checked', () => {
    const base = { api, namespace: ns, name: 'x', identity: 'a' };
    expect(() => new LeaderElector({ ...base, leaseDurationSeconds: 1.5 })).toThrow(RangeError);
    expect(() => new LeaderElector({ ...base, leaseDurationSeconds: 2, renewDeadlineMs: 2000 })).toThrow(
      RangeError,
    );
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 1000, retryPeriodMs: 1000 })).toThrow(
      RangeError,
    );
    expect(() => new LeaderElector({ ...base, identity: '' })).toThrow(RangeError);
  });
});
