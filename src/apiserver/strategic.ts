// Strategic merge patch for the built-in kinds: maps merge like a merge patch, and the lists that
// Kubernetes marks with a patch merge key (containers by name, ports by containerPort...) merge by that key.
// Directives: $patch (replace, delete, merge), $retainKeys, $deleteFromPrimitiveList/<f>, $setElementOrder/<f>.
import { isRecord } from './types.ts';

/** field -> merge key; `parent>field` entries win for fields whose key depends on where they are. */
const mergeKeys: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  env: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  conditions: 'type',
  ownerReferences: 'uid',
  'containers>ports': 'containerPort',
  'initContainers>ports': 'containerPort',
  'spec>ports': 'port',
  taints: 'key',
  addresses: 'type',
  resourceClaims: 'name',
  topologySpreadConstraints: 'topologyKey',
};

/** Lists of scalars whose patch strategy is merge (union) rather than replace. */
const mergedScalarLists = new Set(['finalizers']);

function keyFor(parent: string, field: string): string | undefined {
  return mergeKeys[`${parent}>${field}`] ?? mergeKeys[field];
}

function mergeList(
  original: unknown[],
  patch: unknown[],
  key: string | undefined,
  field: string,
  order: unknown,
): unknown[] {
  if (key === undefined) {
    if (mergedScalarLists.has(field)) return [...new Set([...original, ...patch])];
    return patch.filter((p) => !(isRecord(p) && p.$patch === 'replace'));
  }
  if (patch.some((p) => isRecord(p) && p.$patch === 'replace')) {
    return patch.filter((p) => !(isRecord(p) && p.$patch === 'replace'));
  }
  const out = [...original];
  for (const p of patch) {
    if (!isRecord(p)) {
      out.push(p);
      continue;
    }
    const idx = out.findIndex((o) => isRecord(o) && o[key] === p[key]);
    if (p.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
    } else if (idx >= 0) {
      out[idx] = strategicMerge(out[idx], p, field);
    } else {
      out.push(strategicMerge({}, p, field));
    }
  }
  if (Array.isArray(order)) {
    const rank = new Map(order.map((o, i) => [isRecord(o) ? o[key] : o, i]));
    const ranked = out.filter((o) => isRecord(o) && rank.has(o[key]));
    ranked.sort(
      (a, b) =>
        rank.get((a as Record<string, unknown>)[key])! - rank.get((b as Record<string, unknown>)[key])!,
    );
    const rest = out.filter((o) => !(isRecord(o) && rank.has(o[key])));
    return [...ranked, ...rest];
  }
  return out;
}

/** Applies a strategic merge patch; `parent` is the field name that holds `original`. */
export function strategicMerge(original: unknown, patch: unknown, parent = ''): unknown {
  if (!isRecord(patch)) return patch;
  if (patch.$patch === 'delete') return undefined;
  const base: Record<string, unknown> =
    patch.$patch === 'replace' || !isRecord(original) ? {} : { ...original };
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys as string[]);
    for (const k of Object.keys(base)) if (!keep.has(k)) delete base[k];
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const drop = new Set(Array.isArray(v) ? v : []);
      if (Array.isArray(base[field])) base[field] = (base[field] as unknown[]).filter((x) => !drop.has(x));
      continue;
    }
    if (v === null) {
      delete base[k];
    } else if (Array.isArray(v)) {
      const cur = Array.isArray(base[k]) ? (base[k] as unknown[]) : [];
      base[k] = mergeList(cur, v, keyFor(parent, k), k, patch[`$setElementOrder/${k}`]);
    } else if (isRecord(v)) {
      const merged = strategicMerge(base[k], v, k);
      if (merged === undefined) delete base[k];
      else base[k] = merged;
    } else {
      base[k] = v;
    }
  }
  return base;
}
