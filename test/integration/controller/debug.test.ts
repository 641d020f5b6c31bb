// The controller's debug endpoint against real NB/SB and ovn-northd: health, metrics, the ovn-nbctl views
// of its replica (identical to the real ovn-nbctl), its own IPAM/pod views, the consistency check finding
// planted faults, and its security (read-only; a bearer token on a network bind).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { serveControllerDebug } from '../../../src/controller/debug-endpoint.ts';
import { Ann } from '../../../src/controller/k8s/annotations.ts';
import { eventually } from '../helpers.ts';
import { pod, useControllerStack } from './harness.ts';

const s = useControllerStack();
let base = '';
let close: () => Promise<void> = async () => {};

beforeAll(async () => {
  const server = await serveControllerDebug({
    bind: '127.0.0.1:0',
    metrics: s.controller.deps.metrics,
    deps: () => s.controller.deps,
    ready: () => true,
  });
  base = `http://${server.address}`;
  close = server.close;
  await s.core.createNamespacedPod({ namespace: 'default', body: pod('p1') });
  await s.core.createNamespacedPod({ namespace: 'default', body: pod('p2') });
  await s.annotated('p1');
  await s.annotated('p2');
});
afterAll(() => close());

const get = async (path: string, init?: RequestInit) => {
  const r = await fetch(`${base}${path}`, init);
  return { status: r.status, text: await r.text() };
};

describe('controller debug endpoint', () => {
  test('health and metrics', async () => {
    expect(await get('/healthz')).toEqual({ status: 200, text: 'ok\n' });
    expect((await get('/readyz')).status).toBe(200);
    const m = (await get('/metrics')).text;
    expect(m).toMatch(/ovnk_pod_address_seconds_count\{stage="annotated"\} [1-9]/);
    expect(m).toMatch(/ovnk_ipam_addresses\{subnet="ovn-default",family="v4",state="used"\} 2/);
    expect(m).toMatch(/ovnk_workqueue_reconcile_seconds_count\{queue="pods",outcome="ok"\} [1-9]/);
    expect(m).toMatch(/ovnk_ovsdb_transaction_seconds_count [1-9]/);
  });

  test('the ovn-nbctl views of the replica print what the real ovn-nbctl prints', async () => {
    await eventually(async () => {
      for (const [view, args] of [
        ['ls-list', []],
        ['lr-list', []],
        ['lsp-list', ['ovn-default']],
        ['lr-route-list', ['ovn-cluster']],
        ['lr-policy-list', ['ovn-cluster']],
        ['show', ['ovn-default']],
      ] as const) {
        const q = args.map((a) => `arg=${encodeURIComponent(a)}`).join('&');
        const ours = await get(`/nbctl/${view}${q ? `?${q}` : ''}`);
        expect(ours.status).toBe(200);
        expect(ours.text).toBe(`${await s.nbctl(view, ...args)}\n`);
      }
    });
  });

  test('IPAM and pod-path views', async () => {
    const ipam = JSON.parse((await get('/debug/ipam/ovn-default')).text);
    expect(ipam.allocations.map((a: { owner: string }) => a.owner).sort()).toEqual([
      'p1.default',
      'p2.default',
    ]);
    const path = JSON.parse((await get('/debug/pods/default/p1')).text);
    expect(path).toMatchObject({
      switch: 'ovn-default',
      router: { name: 'ovn-cluster' },
      port: { name: 'p1.default' },
    });
    expect(path.ipCr.ipAddress).toBe(path.annotations[Ann.ipAddress]);
  });

  test('the consistency check is clean, then finds each planted fault', async () => {
    expect(JSON.parse((await get('/debug/check')).text)).toEqual({ consistent: true, findings: [] });
    const p1 = await s.annotated('p1');
    const p2 = await s.annotated('p2');
    // an LSP with no pod; a second port with p2's address; p1's port moved to an address its annotation lacks
    await s.nbctl(
      'lsp-add',
      'ovn-default',
      'ghost.default',
      '--',
      'set',
      'Logical_Switch_Port',
      'ghost.default',
      'external_ids:ovnk.io/owner=pod/default/ghost',
      'addresses="0a:00:00:00:00:99 10.16.9.9"',
    );
    await s.nbctl(
      'lsp-add',
      'ovn-default',
      'dup',
      '--',
      // ovn-nbctl's lsp-set-addresses refuses a duplicate; a plain database set does not
      'set',
      'Logical_Switch_Port',
      'dup',
      `addresses="0a:00:00:00:00:98 ${p2[Ann.ipAddress]}"`,
    );
    await s.nbctl('lsp-set-addresses', 'p1.default', `${p1[Ann.macAddress]} 10.16.8.8`);
    await eventually(async () => {
      const r = JSON.parse((await get('/debug/check')).text) as {
        findings: { kind: string; message: string }[];
      };
      expect(r.findings.map((f) => f.kind).sort()).toEqual([
        'annotation-mismatch',
        'duplicate-address',
        'port-without-pod',
      ]);
      expect(r.findings.find((f) => f.kind === 'port-without-pod')?.message).toMatch(/ghost/);
    });
  });

  test('read-only: anything but GET is refused', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      expect((await get('/nbctl/ls-list', { method })).status).toBe(405);
      expect((await get('/debug/check', { method })).status).toBe(405);
    }
  });

  test('on a network address it needs a bearer token, and refuses to start without one', async () => {
    await expect(
      serveControllerDebug({
        bind: '0.0.0.0:0',
        metrics: s.controller.deps.metrics,
        deps: () => s.controller.deps,
        ready: () => true,
      }),
    ).rejects.toThrow(/token/);
    const token = 'a-long-enough-secret-token';
    const server = await serveControllerDebug({
      bind: '0.0.0.0:0',
      token,
      metrics: s.controller.deps.metrics,
      deps: () => s.controller.deps,
      ready: () => true,
    });
    try {
      const port = server.address.split(':').pop();
      const url = `http://127.0.0.1:${port}/nbctl/ls-list`;
      expect((await fetch(url)).status).toBe(401);
      expect(
        (await fetch(url, { headers: { authorization: 'Bearer wrong-token-of-some-length' } })).status,
      ).toBe(401);
      expect((await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
