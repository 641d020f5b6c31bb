// The lab's EndpointSlice controller: which pods a Service's slices hold, and how.
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { desiredSlices, MANAGED_BY, SERVICE_NAME_LABEL } from '../../../src/lab/endpoint-slices.ts';

const svc: V1Service = {
  metadata: { name: 'web', namespace: 'default', uid: 'u-web' },
  spec: {
    selector: { app: 'web' },
    ports: [
      { name: 'http', port: 80, targetPort: 'http' as never, protocol: 'TCP' },
      { name: 'raw', port: 81, protocol: 'UDP' },
    ],
  },
};

function pod(
  name: string,
  ip: string | undefined,
  o: { ready?: boolean; labels?: Record<string, string>; httpPort?: number; deleting?: boolean } = {},
): V1Pod {
  return {
    metadata: {
      name,
      namespace: 'default',
      uid: `u-${name}`,
      labels: o.labels ?? { app: 'web' },
      deletionTimestamp: o.deleting ? new Date() : undefined,
    },
    spec: {
      nodeName: 'node1',
      containers: [{ name: 'c', ports: [{ name: 'http', containerPort: o.httpPort ?? 8080 }] }],
    },
    status: {
      phase: 'Running',
      podIP: ip,
      podIPs: ip ? [{ ip }] : [],
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
    },
  };
}

describe('desiredSlices', () => {
  test('selected pods with an IPv4 address, readiness from the Ready condition, ports resolved', () => {
    const slices = [
      ...desiredSlices(svc, [
        pod('b', '10.16.0.6', { ready: false }),
        pod('a', '10.16.0.5'),
        pod('no-ip', undefined),
        pod('other', '10.16.0.7', { labels: { app: 'db' } }),
        pod('going', '10.16.0.8', { deleting: true }),
      ]).values(),
    ];
    expect(slices).toHaveLength(1);
    const s = slices[0]!;
    expect(s.metadata?.name).toMatch(/^web-[0-9a-f]{5}$/);
    expect(s.metadata?.labels).toEqual({
      [SERVICE_NAME_LABEL]: 'web',
      'endpointslice.kubernetes.io/managed-by': MANAGED_BY,
    });
    expect(s.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Service', name: 'web', uid: 'u-web' });
    expect(s.addressType).toBe('IPv4');
    expect(s.ports).toEqual([
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'raw', port: 81, protocol: 'UDP' },
    ]);
    expect(s.endpoints?.map((e) => [e.addresses[0], e.conditions?.ready, e.conditions?.terminating])).toEqual(
      [
        ['10.16.0.5', true, false],
        ['10.16.0.6', false, false],
        ['10.16.0.8', false, true],
      ],
    );
    expect(s.endpoints?.[0]?.targetRef).toMatchObject({ kind: 'Pod', name: 'a', uid: 'u-a' });
  });

  test('pods whose named port resolves differently get a slice each; a Service without selector none', () => {
    const slices = desiredSlices(svc, [pod('a', '10.16.0.5'), pod('b', '10.16.0.6', { httpPort: 9090 })]);
    expect([...slices.values()].map((s) => [s.ports?.[0]?.port, s.endpoints?.[0]?.addresses[0]])).toEqual(
      expect.arrayContaining([
        [8080, '10.16.0.5'],
        [9090, '10.16.0.6'],
      ]),
    );
    expect(slices.size).toBe(2);
    const noSelector = { ...svc, spec: { ...svc.spec, selector: undefined } };
    expect(desiredSlices(noSelector, [pod('a', '10.16.0.5')]).size).toBe(0);
  });
});
