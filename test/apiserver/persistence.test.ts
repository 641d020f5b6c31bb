// The state file survives a restart (objects, uids, resourceVersions, served CRDs, service IPs);
// the HTTPS option serves with a self-signed certificate the kubeconfig trusts; the CLI entry starts.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig, Watch } from '@kubernetes/client-node';
import { execa } from 'execa';
import { afterAll, expect, test } from 'vitest';
import { startApiServer } from '../../src/apiserver/server.ts';
import { startApiServerProcess } from '../../src/apiserver/spawn.ts';
import { crdDir, eventually, startTestServer } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'apiserver-persist-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function clients(kubeconfig: string) {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig);
  return { kc, core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi) };
}

test('a restarted server has the same objects; resuming an old watch gets 410', async () => {
  const stateFile = join(dir, 'state.json');
  const first = await startApiServer({ stateFile, manifests: [crdDir], persistDebounceMs: 20 });
  const a = clients(first.kubeconfig);
  const ns = await a.core.createNamespace({ body: { metadata: { name: 'lab' } } });
  const svc = await a.core.createNamespacedService({
    namespace: 'lab',
    body: { metadata: { name: 's' }, spec: { ports: [{ port: 53 }] } },
  });
  await a.custom.createClusterCustomObject({
    group: 'kubeovn.io',
    version: 'v1',
    plural: 'subnets',
    body: {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Subnet',
      metadata: { name: 'keep' },
      spec: { cidrBlock: '10.7.0.0/16' },
    },
  });
  await eventually(() => expect(existsSync(stateFile)).toBe(true));
  const rvBefore = first.store.resourceVersion;
  await first.close();
  expect(JSON.parse(readFileSync(stateFile, 'utf8')).resourceVersion).toBe(rvBefore);

  const second = await startApiServer({ stateFile });
  try {
    const b = clients(second.kubeconfig);
    const again = await b.core.readNamespace({ name: 'lab' });
    expect(again.metadata?.uid).toBe(ns.metadata?.uid);
    expect(again.metadata?.resourceVersion).toBe(ns.metadata?.resourceVersion);
    const subnet = (await b.custom.getClusterCustomObject({
      group: 'kubeovn.io',
      version: 'v1',
      plural: 'subnets',
      name: 'keep',
    })) as { spec: { cidrBlock: string } };
    expect(subnet.spec.cidrBlock).toBe('10.7.0.0/16');
    const other = await b.core.createNamespacedService({
      namespace: 'lab',
      body: { metadata: { name: 's2' }, spec: { ports: [{ port: 53 }] } },
    });
    expect(other.spec?.clusterIP).not.toBe(svc.spec?.clusterIP);
    expect(Number(other.metadata?.resourceVersion)).toBeGreaterThan(rvBefore);

    let code: number | undefined;
    await new Watch(b.kc).watch(
      '/api/v1/namespaces',
      { resourceVersion: String(rvBefore - 1) },
      (_t, o: { code?: number }) => {
        code = o.code;
      },
      () => {},
    );
    await eventually(() => expect(code).toBe(410));
  } finally {
    await second.close();
  }
});

test('HTTPS with a self-signed certificate that the kubeconfig carries', async () => {
  const t = await startTestServer({ tls: true });
  try {
    expect(t.server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(t.server.kubeconfig).toContain('certificate-authority-data');
    const list = await t.kc.makeApiClient(CoreV1Api).listNamespace();
    expect(list.items.map((n) => n.metadata?.name)).toContain('kube-system');
    const r = await execa('kubectl', ['get', 'ns', 'default', '-o', 'name'], {
      env: { KUBECONFIG: t.server.kubeconfigPath!, HOME: t.dir },
    });
    expect(r.stdout).toBe('namespace/default');
  } finally {
    await t.close();
  }
});

test('the CLI prints its URL and writes a kubeconfig', async () => {
  const kubeconfig = join(dir, 'cli.kubeconfig');
  const cli = await startApiServerProcess({ kubeconfigPath: kubeconfig, stateFile: join(dir, 'cli.json') });
  try {
    expect(cli.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await execa('kubectl', ['get', 'ns', '-o', 'name'], {
      env: { KUBECONFIG: kubeconfig, HOME: dir },
    });
    expect(r.stdout.split('\n')).toContain('namespace/kube-system');
  } finally {
    await cli.stop();
  }
  expect(existsSync(join(dir, 'cli.json'))).toBe(true);
});
