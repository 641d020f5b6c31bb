// The RBAC in deploy/rbac against the list of API calls the components make (src/deploy/api-calls.ts): each
// call is granted (or, when marked denied, refused), nothing is granted that no call needs, names and
// namespaces are pinned where the calls pin them; and the list against the source: what each entry names is
// still there, and every client-node API call and watched path in the source is listed.
// The list against what the processes really do: test/integration/deploy/api-calls.test.ts.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { readManifests } from '../../../src/apiserver/manifests.ts';
import type { KObject } from '../../../src/apiserver/types.ts';
import { API_CALLS, type ApiCall, type Component } from '../../../src/deploy/api-calls.ts';
import {
  allows,
  grantsOf,
  permissionsOf,
  type ResourceRequest,
  type ServiceAccountRef,
} from '../../../src/deploy/rbac.ts';

const root = join(import.meta.dirname, '../../..');
const installed: KObject[] = (
  parseYaml(readFileSync(join(root, 'deploy/kustomization.yaml'), 'utf8')) as { resources: string[] }
).resources.flatMap((r) => readManifests(join(root, 'deploy', r)));

/** The service account each component's pods run as, read from its workload manifest. */
const workloadOf: Record<Component, [string, string]> = {
  controller: ['Deployment', 'ovnk-controller'],
  daemon: ['DaemonSet', 'ovnk-daemon'],
};
function serviceAccountOf(component: Component): ServiceAccountRef {
  const [kind, name] = workloadOf[component];
  const w = installed.find((o) => o.kind === kind && o.metadata.name === name)!;
  const sa = (w.spec as { template: { spec: { serviceAccountName: string } } }).template.spec
    .serviceAccountName;
  return { namespace: w.metadata.namespace!, name: sa };
}

function request(call: ApiCall, overrides: Partial<ResourceRequest> = {}): ResourceRequest {
  const namesAnObject = ['get', 'update', 'patch', 'delete'].includes(call.verb);
  return {
    verb: call.verb,
    apiGroup: call.apiGroup,
    resource: call.resource,
    namespace: call.namespace ?? '',
    name: call.resourceName ?? (namesAnObject ? 'some-object' : ''),
    ...overrides,
  };
}

const components: Component[] = ['controller', 'daemon'];

describe.each(components)('%s', (component) => {
  const sa = serviceAccountOf(component);
  const grants = grantsOf(installed, sa);
  const calls = API_CALLS.filter((c) => c.component === component);
  const callName = (c: ApiCall) => `${c.verb} ${c.apiGroup || 'core'}/${c.resource}`;

  test('every call it makes is granted, except those it makes without needing them', () => {
    expect(grants.length).toBeGreaterThan(0);
    const wrong = calls.filter((c) => allows(grants, request(c)) === (c.denied !== undefined)).map(callName);
    expect(wrong).toEqual([]);
  });

  test('nothing is granted that no call needs: no wildcard, no verb or resource beyond the calls', () => {
    for (const g of grants) {
      for (const list of [g.rule.apiGroups, g.rule.resources, g.rule.verbs])
        expect(list ?? [], g.from).not.toContain('*');
      expect(g.rule.nonResourceURLs, g.from).toBeUndefined();
    }
    const unused = permissionsOf(grants).filter(
      (p) =>
        !calls.some(
          (c) =>
            !c.denied &&
            c.apiGroup === p.apiGroup &&
            c.resource === p.resource &&
            c.verb === p.verb &&
            (p.namespace === undefined || p.namespace === c.namespace) &&
            (p.resourceName === undefined || p.resourceName === c.resourceName),
        ),
    );
    expect(unused).toEqual([]);
  });

  test('a call bound to one namespace or one object is granted there and nowhere else', () => {
    for (const c of calls.filter((x) => !x.denied)) {
      if (c.namespace) expect(allows(grants, request(c, { namespace: 'default' })), callName(c)).toBe(false);
      if (c.resourceName) expect(allows(grants, request(c, { name: 'another' })), callName(c)).toBe(false);
    }
  });
});

function filesOf(dir: string): string[] {
  return readdirSync(dir)
    .map((f) => join(dir, f))
    .flatMap((p) => (statSync(p).isDirectory() ? filesOf(p) : p.endsWith('.ts') ? [p] : []));
}
const files: Record<Component, string[]> = {
  controller: filesOf(join(root, 'src/controller')),
  daemon: filesOf(join(root, 'src/daemon')),
};
/** The one place that watches: the ResourceCache (list, then watch, of the path it is given). */
const informer = join(root, 'src/controller/k8s/informer.ts');

/**
 * Every method of client-node's generated API classes (CoreV1Api.patchNamespacedPod...). The generic
 * KubernetesObjectApi (list, delete...) is left out: its names are everyone's; its use is refused below.
 */
const apiMethods = new Set(
  Object.entries(k8s)
    .filter(([name, v]) => /Api$/.test(name) && name !== 'KubernetesObjectApi' && typeof v === 'function')
    .flatMap(([, v]) => Object.getOwnPropertyNames((v as { prototype: object }).prototype))
    .filter((m) => m !== 'constructor'),
);

describe.each(components)('the %s source', (component) => {
  const src = files[component].map((f) => readFileSync(f, 'utf8')).join('\n');
  const calls = API_CALLS.filter((c) => c.component === component);
  const listed = new Set(calls.flatMap((c) => c.via));

  test('still makes each listed call the way the list says', () => {
    const gone = [...listed].filter((via) => !src.includes(via));
    expect(gone).toEqual([]);
  });

  test('makes no client-node API call the list does not name', () => {
    const used = new Set([...src.matchAll(/\.(\w+)\(/g)].map((m) => m[1]!).filter((m) => apiMethods.has(m)));
    expect(used.size).toBeGreaterThan(2);
    expect([...used].filter((m) => !listed.has(m))).toEqual([]);
  });

  test('uses no client whose calls the scan cannot see: the generic object API, raw watches', () => {
    expect(src).not.toMatch(/KubernetesObjectApi/);
    const watching = files[component].filter(
      (f) => f !== informer && /new Watch\(/.test(readFileSync(f, 'utf8')),
    );
    expect(watching).toEqual([]);
  });

  test('watches no path the list does not name', () => {
    // `new ResourceCache<Pod>(kc, path, ...)`, or the controller's `cache<Pod>(path, ...)`; not the generic
    // factory itself (`new ResourceCache<T>(kc, path, ...)`)
    const caches = /(?:new ResourceCache|\bcache)<(?!T>)[^>]*>\(\s*(?:kc,\s*)?([^,]+?),/g;
    const paths = [...src.matchAll(caches)].map((m) => m[1]!.trim());
    expect(paths.length).toBeGreaterThan(0);
    const watched = new Set(calls.filter((c) => c.verb === 'watch').flatMap((c) => c.via));
    expect(paths.filter((p) => !watched.has(p))).toEqual([]);
  });
});
