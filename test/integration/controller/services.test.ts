// Services as OVN load balancers at the controller level, against real NB/SB and ovn-northd: Kube-OVN's
// cluster load balancers on the default VPC's switches and join, VIPs that follow the EndpointSlices, and
// --enable-lb=false removing them. Connectivity through them: test/integration/e2e/services.test.ts.
import { join } from 'node:path';
import {
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1EndpointSlice,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ApiServer, startApiServer } from '../../../src/apiserver/server.ts';
import { DEFAULTS } from '../../../src/controller/config.ts';
import { Controller } from '../../../src/controller/controller.ts';
import { run } from '../../../src/lab/proc.ts';
import { eventually, useLab } from '../helpers.ts';
import { crd } from './harness.ts';

const ctx = useLab({ northd: true });
let api: ApiServer;
let core: CoreV1Api;
let discovery: DiscoveryV1Api;
let kc: KubeConfig;
let controller: Controller | undefined;

const startController = (enableLb: boolean) =>
  Controller.start({ kc, config: { ...DEFAULTS, nbRemotes: ctx.lab.central.nb.unixRemotes, enableLb } });

beforeAll(async () => {
  api = await startApiServer({ port: 0, manifests: [join(import.meta.dirname, '../../../deploy/crds')] });
  kc = new KubeConfig();
  kc.loadFromString(api.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  discovery = kc.makeApiClient(DiscoveryV1Api);
  controller = await startController(true);
});
afterAll(async () => {
  await controller?.stop();
  await api?.close();
});

const nbctl = (...a: string[]) => ctx.lab.nbctl(...a);
const sbctl = (...a: string[]) => run('ovn-sbctl', a, { env: ctx.lab.env });

/** A load balancer's vips as a plain object ({} when it has none, undefined when the row is missing). */
async function vips(lb: string): Promise<Record<string, string> | undefined> {
  const rows = (await nbctl('--bare', '--columns=name,vips', 'find', 'Load_Balancer', `name=${lb}`)).trim();
  if (rows === '') return undefined;
  // "--bare" prints the name, then the map as "vip=backends vip=backends"
  const map = rows.split('\n').slice(1).join(' ').trim();
  return Object.fromEntries(
    map
      .split(/\s+/)
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

/** The names of the load balancers on a switch (ls-lb-list shows only those with VIPs). */
async function lbsOn(sw: string): Promise<string[]> {
  const uuids = (await nbctl('--bare', '--columns=load_balancer', 'find', 'Logical_Switch', `name=${sw}`))
    .trim()
    .split(/\s+/)
    .filter(Boolean);
  const names = await Promise.all(
    uuids.map(async (u) => (await nbctl('get', 'Load_Balancer', u, 'name')).trim()),
  );
  return names.map((n) => n.replace(/"/g, '')).sort();
}

const ALL_LBS = [
  'cluster-sctp-loadbalancer',
  'cluster-sctp-session-loadbalancer',
  'cluster-tcp-loadbalancer',
  'cluster-tcp-session-loadbalancer',
  'cluster-udp-loadbalancer',
  'cluster-udp-session-loadbalancer',
];

function slice(name: string, endpoints: [string, boolean][]): V1EndpointSlice {
  return {
    metadata: { name: `${name}-x1`, namespace: 'default', labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: endpoints.map(([ip, ready]) => ({ addresses: [ip], conditions: { ready } })),
  };
}

describe('services as load balancers', () => {
  let clusterIP = '';

  test("Kube-OVN's six load balancers hang on the default VPC's switches and join; a new subnet gets them, one with enableLb: false does not", async () => {
    await eventually(async () => {
      expect(await lbsOn('ovn-default')).toEqual(ALL_LBS);
      expect(await lbsOn('join')).toEqual(ALL_LBS);
    });
    expect(
      await nbctl(
        '--bare',
        '--columns=options',
        'find',
        'Load_Balancer',
        'name=cluster-tcp-session-loadbalancer',
      ),
    ).toMatch(/affinity_timeout=10800/);
    const custom = kc.makeApiClient(CustomObjectsApi);
    for (const [name, cidrBlock, enableLb] of [
      ['svc-on', '10.80.0.0/24', undefined],
      ['svc-off', '10.81.0.0/24', false],
    ] as const)
      await custom.createClusterCustomObject({
        ...crd('subnets'),
        body: {
          apiVersion: 'kubeovn.io/v1',
          kind: 'Subnet',
          metadata: { name },
          spec: { cidrBlock, enableLb },
        },
      });
    await eventually(async () => {
      expect(await lbsOn('svc-on')).toEqual(ALL_LBS);
      expect(await nbctl('ls-list')).toMatch(/svc-off/);
    });
    expect(await lbsOn('svc-off')).toEqual([]);
    // a subnet that turns enableLb off loses them, and only it
    await custom.patchClusterCustomObject(
      { ...crd('subnets'), name: 'svc-on', body: { spec: { enableLb: false } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually(async () => expect(await lbsOn('svc-on')).toEqual([]));
    expect(await lbsOn('ovn-default')).toEqual(ALL_LBS);
  });

  test('a Service with an EndpointSlice gets a VIP per port with its ready endpoints; VIPs follow the slice', async () => {
    const svc = await core.createNamespacedService({
      namespace: 'default',
      body: {
        metadata: { name: 'web' },
        spec: {
          selector: { app: 'web' },
          ports: [{ name: 'http', port: 80, targetPort: 'http' as never, protocol: 'TCP' }],
        },
      },
    });
    clusterIP = svc.spec!.clusterIP!;
    expect(clusterIP).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\./);
    // no endpoints yet: no VIP
    await eventually(async () => expect(await vips('cluster-tcp-loadbalancer')).toEqual({}));
    await discovery.createNamespacedEndpointSlice({
      namespace: 'default',
      body: slice('web', [
        ['10.16.0.5', true],
        ['10.16.0.6', true],
        ['10.16.0.7', false],
      ]),
    });
    await eventually(async () =>
      expect(await vips('cluster-tcp-loadbalancer')).toEqual({
        [`${clusterIP}:80`]: '10.16.0.5:8080,10.16.0.6:8080',
      }),
    );
    // northd turned the VIP into logical flows
    await eventually(async () =>
      expect(await sbctl('--bare', '--columns=match', 'find', 'Logical_Flow', `pipeline=ingress`)).toContain(
        clusterIP,
      ),
    );
    await discovery.replaceNamespacedEndpointSlice({
      name: 'web-x1',
      namespace: 'default',
      body: {
        ...slice('web', [
          ['10.16.0.6', true],
          ['10.16.0.7', true],
        ]),
        metadata: {
          ...slice('web', []).metadata,
          resourceVersion: (
            await discovery.readNamespacedEndpointSlice({ name: 'web-x1', namespace: 'default' })
          ).metadata?.resourceVersion,
        },
      },
    });
    await eventually(async () =>
      expect(await vips('cluster-tcp-loadbalancer')).toEqual({
        [`${clusterIP}:80`]: '10.16.0.6:8080,10.16.0.7:8080',
      }),
    );
    // sessionAffinity ClientIP moves the VIP to the session load balancer, with the Service's timeout
    await core.patchNamespacedService(
      {
        name: 'web',
        namespace: 'default',
        body: {
          spec: { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } } },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually(async () => {
      expect(await vips('cluster-tcp-session-loadbalancer')).toEqual({
        [`${clusterIP}:80`]: '10.16.0.6:8080,10.16.0.7:8080',
      });
      expect(await vips('cluster-tcp-loadbalancer')).toEqual({});
    });
    expect(
      await nbctl(
        '--bare',
        '--columns=options',
        'find',
        'Load_Balancer',
        'name=cluster-tcp-session-loadbalancer',
      ),
    ).toMatch(/affinity_timeout=600/);
    await core.deleteNamespacedService({ name: 'web', namespace: 'default' });
    await eventually(async () => expect(await vips('cluster-tcp-session-loadbalancer')).toEqual({}));
  });

  test('with --enable-lb=false the load balancers go; enabled again they come back, attached', async () => {
    await controller?.stop();
    controller = undefined;
    controller = await startController(false);
    await controller.idle();
    for (const lb of ALL_LBS) expect(await vips(lb)).toBeUndefined();
    expect(await lbsOn('ovn-default')).toEqual([]);
    await controller.stop();
    controller = undefined;
    controller = await startController(true);
    await controller.idle();
    expect(await lbsOn('ovn-default')).toEqual(ALL_LBS);
    expect(await lbsOn('join')).toEqual(ALL_LBS);
  });
});
