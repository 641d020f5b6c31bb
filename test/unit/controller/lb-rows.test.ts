// Services and EndpointSlices to Kube-OVN's cluster load balancer rows.
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { lbRows, SERVICE_NAME_LABEL } from '../../../src/controller/nb/lb-rows.ts';

function svc(name: string, spec: V1Service['spec'], namespace = 'default'): V1Service {
  return { metadata: { name, namespace }, spec };
}

function slice(
  service: string,
  ports: V1EndpointSlice['ports'],
  endpoints: [string, boolean | undefined][],
  opts: { namespace?: string; addressType?: string; name?: string } = {},
): V1EndpointSlice {
  return {
    metadata: {
      name: opts.name ?? `${service}-abcde`,
      namespace: opts.namespace ?? 'default',
      labels: { [SERVICE_NAME_LABEL]: service },
    },
    addressType: opts.addressType ?? 'IPv4',
    ports,
    endpoints: endpoints.map(([ip, ready]) => ({
      addresses: [ip],
      conditions: ready === undefined ? {} : { ready },
    })),
  };
}

/** vips of each load balancer, by name. */
function vipsOf(input: Parameters<typeof lbRows>[0]): Record<string, Record<string, string>> {
  return Object.fromEntries(
    lbRows(input).map((r) => [r.columns.name as string, r.columns.vips as Record<string, string>]),
  );
}

const web = svc('web', {
  clusterIP: '10.96.0.10',
  clusterIPs: ['10.96.0.10'],
  ports: [
    { name: 'http', port: 80, targetPort: 'http' as never, protocol: 'TCP' },
    { name: 'dns', port: 53, targetPort: 5353 as never, protocol: 'UDP' },
  ],
});

describe('lbRows', () => {
  test("six load balancers with Kube-OVN's names and protocols, attached to every given switch, even with no Service", () => {
    const rows = lbRows({ services: [], slices: [], switches: ['ovn-default', 'join', 'ovn-default'] });
    expect(rows.map((r) => [r.table, r.columns.name, r.columns.protocol])).toEqual([
      ['Load_Balancer', 'cluster-tcp-loadbalancer', 'tcp'],
      ['Load_Balancer', 'cluster-tcp-session-loadbalancer', 'tcp'],
      ['Load_Balancer', 'cluster-udp-loadbalancer', 'udp'],
      ['Load_Balancer', 'cluster-udp-session-loadbalancer', 'udp'],
      ['Load_Balancer', 'cluster-sctp-loadbalancer', 'sctp'],
      ['Load_Balancer', 'cluster-sctp-session-loadbalancer', 'sctp'],
    ]);
    for (const r of rows) {
      expect(r.attachedTo).toEqual({
        table: 'Logical_Switch',
        column: 'load_balancer',
        ids: ['ls/join', 'ls/ovn-default'],
      });
      expect(r.columns.vips).toEqual({});
    }
    expect(rows[1]!.columns.options).toEqual({ affinity_timeout: '10800' });
    expect(rows[0]!.columns.options).toEqual({});
  });

  test('a VIP per port and protocol, backends on the resolved target ports of ready endpoints only', () => {
    const vips = vipsOf({
      services: [web],
      slices: [
        slice(
          'web',
          [
            { name: 'http', port: 8080, protocol: 'TCP' },
            { name: 'dns', port: 5353, protocol: 'UDP' },
          ],
          [
            ['10.16.0.5', true],
            ['10.16.0.3', undefined], // unknown readiness counts as ready
            ['10.16.0.9', false],
          ],
        ),
      ],
      switches: ['ovn-default'],
    });
    expect(vips['cluster-tcp-loadbalancer']).toEqual({ '10.96.0.10:80': '10.16.0.3:8080,10.16.0.5:8080' });
    expect(vips['cluster-udp-loadbalancer']).toEqual({ '10.96.0.10:53': '10.16.0.3:5353,10.16.0.5:5353' });
    expect(vips['cluster-tcp-session-loadbalancer']).toEqual({});
  });

  test('backends from several slices are merged; pods with different named-port numbers each get theirs', () => {
    const vips = vipsOf({
      services: [web],
      slices: [
        slice('web', [{ name: 'http', port: 8080, protocol: 'TCP' }], [['10.16.0.5', true]], {
          name: 'web-a',
        }),
        slice('web', [{ name: 'http', port: 9090, protocol: 'TCP' }], [['10.16.0.6', true]], {
          name: 'web-b',
        }),
        // another namespace's Service of the same name, and an IPv6 slice: not this VIP's
        slice('web', [{ name: 'http', port: 1, protocol: 'TCP' }], [['10.16.0.7', true]], { namespace: 'x' }),
        slice('web', [{ name: 'http', port: 1, protocol: 'TCP' }], [['fd00::7', true]], {
          addressType: 'IPv6',
        }),
      ],
      switches: [],
    });
    expect(vips['cluster-tcp-loadbalancer']).toEqual({ '10.96.0.10:80': '10.16.0.5:8080,10.16.0.6:9090' });
  });

  test('no VIP without ready endpoints, for headless and ExternalName Services, or without slices', () => {
    const vips = vipsOf({
      services: [
        web,
        svc('headless', { clusterIP: 'None', ports: [{ port: 80 }] }),
        svc('ext', { type: 'ExternalName', externalName: 'example.org', ports: [{ port: 80 }] }),
        svc('empty', { clusterIP: '10.96.0.12', ports: [{ port: 80, protocol: 'TCP' }] }),
      ],
      slices: [
        slice('web', [{ name: 'http', port: 8080, protocol: 'TCP' }], [['10.16.0.9', false]]),
        slice('headless', [{ name: '', port: 80, protocol: 'TCP' }], [['10.16.0.4', true]]),
        slice('ext', [{ name: '', port: 80, protocol: 'TCP' }], [['10.16.0.4', true]]),
      ],
      switches: [],
    });
    for (const v of Object.values(vips)) expect(v).toEqual({});
  });

  test('sessionAffinity ClientIP goes to the session load balancer with its timeout; the longest wins', () => {
    const sticky = (name: string, ip: string, timeoutSeconds?: number) =>
      svc(name, {
        clusterIP: ip,
        ports: [{ port: 80, targetPort: 8080 as never, protocol: 'TCP' }],
        sessionAffinity: 'ClientIP',
        sessionAffinityConfig: timeoutSeconds ? { clientIP: { timeoutSeconds } } : undefined,
      });
    const ports = [{ name: '', port: 8080, protocol: 'TCP' }];
    const rows = lbRows({
      services: [
        sticky('a', '10.96.0.20', 60),
        sticky('b', '10.96.0.21', 300),
        sticky('c', '10.96.0.22', 900),
      ],
      // c has no endpoints: its timeout does not count
      slices: [slice('a', ports, [['10.16.0.5', true]]), slice('b', ports, [['10.16.0.6', true]])],
      switches: [],
    });
    const session = rows.find((r) => r.columns.name === 'cluster-tcp-session-loadbalancer')!;
    expect(session.columns.vips).toEqual({
      '10.96.0.20:80': '10.16.0.5:8080',
      '10.96.0.21:80': '10.16.0.6:8080',
    });
    expect(session.columns.options).toEqual({ affinity_timeout: '300' });
    const plain = rows.find((r) => r.columns.name === 'cluster-tcp-loadbalancer')!;
    expect(plain.columns.vips).toEqual({});
  });

  test('an unnamed port without a slice port falls back to a numeric targetPort; IPv6 VIPs are bracketed', () => {
    const vips = vipsOf({
      services: [
        svc('dual', {
          clusterIPs: ['10.96.0.30', 'fd00:10:96::30'],
          ports: [{ port: 443, targetPort: 8443 as never, protocol: 'SCTP' }],
        }),
      ],
      slices: [
        slice('dual', [], [['10.16.0.5', true]]),
        slice('dual', [{ name: '', port: 8443, protocol: 'SCTP' }], [['fd00:16::5', true]], {
          addressType: 'IPv6',
          name: 'dual-v6',
        }),
      ],
      switches: [],
    });
    expect(vips['cluster-sctp-loadbalancer']).toEqual({
      '10.96.0.30:443': '10.16.0.5:8443',
      '[fd00:10:96::30]:443': '[fd00:16::5]:8443',
    });
  });
});
