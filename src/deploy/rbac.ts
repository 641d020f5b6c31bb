// Kubernetes RBAC evaluated over a set of manifests, as the API server's RBAC authorizer does it: a
// ClusterRoleBinding grants a ClusterRole's rules everywhere, a RoleBinding grants a Role's (or a ClusterRole's)
// rules in its own namespace; a rule matches on API group, resource ("pods", "nodes/status"), verb and, when it
// lists them, the object's name. Used to check deploy/rbac against the API calls the components make.
import type { KObject } from '../apiserver/types.ts';

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface ServiceAccountRef {
  namespace: string;
  name: string;
}

export interface ResourceRequest {
  verb: string;
  apiGroup: string;
  /** "pods" or "pods/status". */
  resource: string;
  /** "" for a cluster-scoped resource, or a request across all namespaces. */
  namespace: string;
  /** "" when the request names no object (list, watch, create). */
  name: string;
}

/** A rule in force for a subject: everywhere, or in one namespace. */
export interface Grant {
  rule: PolicyRule;
  /** undefined: every namespace and cluster-scoped resources. */
  namespace: string | undefined;
  /** "ClusterRole/name" or "Role/namespace/name", for messages. */
  from: string;
}

const matches = (list: string[] | undefined, value: string) =>
  !!list && (list.includes(value) || list.includes('*'));

function ruleAllows(rule: PolicyRule, r: ResourceRequest): boolean {
  if (!matches(rule.verbs, r.verb) || !matches(rule.apiGroups, r.apiGroup)) return false;
  const [resource, sub] = r.resource.split('/');
  const resourceOk =
    matches(rule.resources, r.resource) ||
    (sub !== undefined &&
      (rule.resources?.includes(`${resource}/*`) || rule.resources?.includes(`*/${sub}`)));
  if (!resourceOk) return false;
  if (rule.resourceNames && rule.resourceNames.length > 0)
    return r.name !== '' && rule.resourceNames.includes(r.name);
  return true;
}

function boundTo(binding: KObject, sa: ServiceAccountRef): boolean {
  const subjects = (binding.subjects ?? []) as { kind?: string; name?: string; namespace?: string }[];
  return subjects.some(
    (s) => s.kind === 'ServiceAccount' && s.name === sa.name && s.namespace === sa.namespace,
  );
}

/** Every rule in force for a service account in these manifests. */
export function grantsOf(objects: readonly KObject[], sa: ServiceAccountRef): Grant[] {
  const find = (kind: string, name: string, namespace?: string) =>
    objects.find(
      (o) =>
        o.apiVersion === 'rbac.authorization.k8s.io/v1' &&
        o.kind === kind &&
        o.metadata.name === name &&
        (namespace === undefined || o.metadata.namespace === namespace),
    );
  const out: Grant[] = [];
  for (const b of objects) {
    if (b.apiVersion !== 'rbac.authorization.k8s.io/v1' || !boundTo(b, sa)) continue;
    const ref = b.roleRef as { kind: string; name: string };
    if (b.kind === 'ClusterRoleBinding' && ref.kind === 'ClusterRole') {
      const role = find('ClusterRole', ref.name);
      for (const rule of (role?.rules ?? []) as PolicyRule[])
        out.push({ rule, namespace: undefined, from: `ClusterRole/${ref.name}` });
    } else if (b.kind === 'RoleBinding') {
      const ns = b.metadata.namespace ?? 'default';
      const role = ref.kind === 'Role' ? find('Role', ref.name, ns) : find('ClusterRole', ref.name);
      const from = ref.kind === 'Role' ? `Role/${ns}/${ref.name}` : `ClusterRole/${ref.name}`;
      for (const rule of (role?.rules ?? []) as PolicyRule[]) out.push({ rule, namespace: ns, from });
    }
  }
  return out;
}

/** Whether the grants allow the request. */
export function allows(grants: readonly Grant[], r: ResourceRequest): boolean {
  return grants.some(
    (g) => (g.namespace === undefined || g.namespace === r.namespace) && ruleAllows(g.rule, r),
  );
}

/** One permission per (group, resource, verb, name) a grant spells out, for "is each of them used?". */
export interface Permission {
  apiGroup: string;
  resource: string;
  verb: string;
  namespace: string | undefined;
  resourceName: string | undefined;
  from: string;
}

export function permissionsOf(grants: readonly Grant[]): Permission[] {
  const out: Permission[] = [];
  for (const g of grants) {
    const names = g.rule.resourceNames?.length ? g.rule.resourceNames : [undefined];
    for (const apiGroup of g.rule.apiGroups ?? [])
      for (const resource of g.rule.resources ?? [])
        for (const verb of g.rule.verbs)
          for (const resourceName of names)
            out.push({ apiGroup, resource, verb, namespace: g.namespace, resourceName, from: g.from });
  }
  return out;
}
