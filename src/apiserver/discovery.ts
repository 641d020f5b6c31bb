// Discovery documents: /version, /api, /apis, /api/v1, /apis/<group>[/<version>]. Built from the
// registry and cached until it changes (a CRD is added or removed).
import { groupVersion, type Registry, type ResourceInfo } from './registry.ts';

export const serverVersion = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-ovnk-embedded',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'node',
  compiler: 'tsx',
  platform: 'linux/amd64',
};

function resourceEntries(infos: ResourceInfo[]): unknown[] {
  const out: unknown[] = [];
  for (const i of infos) {
    const base: Record<string, unknown> = {
      name: i.plural,
      singularName: i.singular,
      namespaced: i.namespaced,
      kind: i.kind,
      verbs: i.verbs,
    };
    if (i.shortNames.length) base.shortNames = i.shortNames;
    if (i.categories.length) base.categories = i.categories;
    out.push(base);
    if (i.statusSubresource) {
      out.push({
        name: `${i.plural}/status`,
        singularName: '',
        namespaced: i.namespaced,
        kind: i.kind,
        verbs: ['get', 'patch', 'update'],
      });
    }
    for (const sub of i.subresources) {
      const kind = sub === 'binding' ? 'Binding' : i.kind;
      const verbs = sub === 'binding' ? ['create'] : ['update'];
      out.push({ name: `${i.plural}/${sub}`, singularName: '', namespaced: i.namespaced, kind, verbs });
    }
  }
  return out;
}

export class Discovery {
  private cache = new Map<string, string>();
  private cachedAt = -1;

  constructor(private readonly registry: Registry) {}

  private cached(key: string, build: () => unknown): string | undefined {
    if (this.cachedAt !== this.registry.generation) {
      this.cache = new Map();
      this.cachedAt = this.registry.generation;
    }
    let s = this.cache.get(key);
    if (s === undefined) {
      const doc = build();
      if (doc === undefined) return undefined;
      s = JSON.stringify(doc);
      this.cache.set(key, s);
    }
    return s;
  }

  apiVersions(serverAddress: string): string {
    return JSON.stringify({
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
    });
  }

  private group(name: string): Record<string, unknown> {
    const versions = this.registry
      .versions(name)
      .map((v) => ({ groupVersion: groupVersion(name, v), version: v }));
    return { name, versions, preferredVersion: versions[0] };
  }

  groupList(): string {
    return this.cached('/apis', () => ({
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: this.registry
        .groups()
        .filter((g) => g !== '')
        .map((g) => this.group(g)),
    }))!;
  }

  apiGroup(name: string): string | undefined {
    return this.cached(`/apis/${name}`, () =>
      this.registry.versions(name).length
        ? { kind: 'APIGroup', apiVersion: 'v1', ...this.group(name) }
        : undefined,
    );
  }

  resourceList(group: string, version: string): string | undefined {
    return this.cached(`${group}/${version}`, () => {
      const infos = this.registry.inGroupVersion(group, version);
      if (infos.length === 0) return undefined;
      return {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: groupVersion(group, version),
        resources: resourceEntries(infos),
      };
    });
  }
}
