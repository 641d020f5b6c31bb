// Lease-based leader election between two clients, the way client-go's leaderelection works:
// acquire or renew by replacing the Lease with its last resourceVersion; a 409 means someone else won.
// This contest is test-only: it shows the server gives a controller what leader election needs.
import { ApiException, CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { eventually, startTestServer, type TestServer } from './helpers.ts';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const ns = 'kube-system';
const leaseName = 'ovnk-controller';

class Candidate {
  leading = false;
  stopped = false;
  conflicts = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: string,
    private readonly api: CoordinationV1Api,
    private readonly durationS = 1,
  ) {}

  private lease(prev: V1Lease | undefined, transitions: number): V1Lease {
    const now = new Date();
    return {
      metadata: { name: leaseName, namespace: ns, resourceVersion: prev?.metadata?.resourceVersion },
      spec: {
        holderIdentity: this.id,
        leaseDurationSeconds: this.durationS,
        acquireTime: prev?.spec?.holderIdentity === this.id ? prev.spec.acquireTime : now,
        renewTime: now,
        leaseTransitions: transitions,
      },
    };
  }

  /** One round: true while this candidate holds the lease. */
  async round(): Promise<boolean> {
    let current: V1Lease | undefined;
    try {
      current = await this.api.readNamespacedLease({ name: leaseName, namespace: ns });
    } catch (e) {
      if (!(e instanceof ApiException && e.code === 404)) throw e;
    }
    try {
      if (!current) {
        await this.api.createNamespacedLease({ namespace: ns, body: this.lease(undefined, 0) });
        return true;
      }
      const spec = current.spec ?? {};
      const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
      const expired = renewed + (spec.leaseDurationSeconds ?? 0) * 1000 < Date.now();
      if (spec.holderIdentity !== this.id && !expired) return false;
      const transitions = (spec.leaseTransitions ?? 0) + (spec.holderIdentity === this.id ? 0 : 1);
      await this.api.replaceNamespacedLease({
        name: leaseName,
        namespace: ns,
        body: this.lease(current, transitions),
      });
      return true;
    } catch (e) {
      if (e instanceof ApiException && e.code === 409) {
        this.conflicts++;
        return false;
      }
      throw e;
    }
  }

  start(periodMs = 100): void {
    const tick = async () => {
      if (this.stopped) return;
      this.leading = await this.round();
      this.timer = setTimeout(tick, periodMs);
    };
    void tick();
  }

  /** Stops renewing without releasing, as a crashed leader does. */
  crash(): void {
    this.stopped = true;
    this.leading = false;
    clearTimeout(this.timer);
  }
}

test('two candidates: one leads, the other takes over after the leader stops renewing', async () => {
  const a = new Candidate('a', t.kc.makeApiClient(CoordinationV1Api));
  const b = new Candidate('b', t.kc.makeApiClient(CoordinationV1Api));
  a.start();
  b.start();
  await eventually(() => expect(a.leading || b.leading).toBe(true));
  // Never two leaders, over several renewal periods.
  for (let i = 0; i < 10; i++) {
    expect(a.leading && b.leading).toBe(false);
    await new Promise((r) => setTimeout(r, 50));
  }
  const [leader, follower] = a.leading ? [a, b] : [b, a];
  leader.crash();
  await eventually(() => expect(follower.leading).toBe(true), 5000);
  const api = t.kc.makeApiClient(CoordinationV1Api);
  const lease = await api.readNamespacedLease({ name: leaseName, namespace: ns });
  expect(lease.spec?.holderIdentity).toBe(follower.id);
  expect(lease.spec?.leaseTransitions).toBe(1);
  follower.crash();
});

test('racing to take an expired lease: exactly one replace wins, the other gets 409', async () => {
  const api = t.kc.makeApiClient(CoordinationV1Api);
  const stale = await api.readNamespacedLease({ name: leaseName, namespace: ns });
  const take = (id: string) =>
    api
      .replaceNamespacedLease({
        name: leaseName,
        namespace: ns,
        body: { ...stale, spec: { ...stale.spec, holderIdentity: id } },
      })
      .then(() => 'won')
      .catch((e: unknown) => (e instanceof ApiException ? e.code : e));
  const results = await Promise.all([take('c'), take('d')]);
  expect(results.sort()).toEqual([409, 'won'].sort());
});
