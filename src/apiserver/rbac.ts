// rbac.authorization.k8s.io/v1 kinds, stored and served so that install manifests apply (kubectl apply -f
// deploy/rbac). Only stored: this server authorizes nothing. Validated as far as a wrong manifest would be
// refused by a real server: rules need verbs, bindings need a roleRef, which never changes.

import { makeInfo } from './builtins.ts';
import { fieldError, type StatusCause } from './errors.ts';
import { pathSegmentName } from './meta.ts';
import type { ResourceHooks, ResourceInfo } from './registry.ts';
import { isRecord, jsonEqual, type KObject } from './types.ts';

const group = 'rbac.authorization.k8s.io';

function validateRules(obj: KObject): StatusCause[] {
  const rules = obj.rules;
  if (rules === undefined) return [];
  if (!Array.isArray(rules)) return [fieldError.invalid('rules', rules, 'must be a list')];
  const causes: StatusCause[] = [];
  rules.forEach((r, i) => {
    const verbs = isRecord(r) ? r.verbs : undefined;
    if (!Array.isArray(verbs) || verbs.length === 0) causes.push(fieldError.required(`rules[${i}].verbs`));
  });
  return causes;
}

const roleHooks: ResourceHooks = { validate: (obj) => validateRules(obj) };

const bindingHooks: ResourceHooks = {
  validate(obj, old) {
    const ref = obj.roleRef;
    const causes: StatusCause[] = [];
    if (!isRecord(ref)) return [fieldError.required('roleRef')];
    for (const f of ['kind', 'name'] as const) {
      if (typeof ref[f] !== 'string' || ref[f] === '') causes.push(fieldError.required(`roleRef.${f}`));
    }
    if (ref.kind !== undefined && ref.kind !== 'Role' && ref.kind !== 'ClusterRole') {
      causes.push(fieldError.notSupported('roleRef.kind', ref.kind, ['Role', 'ClusterRole']));
    }
    if (old && !jsonEqual(ref, old.roleRef)) {
      causes.push(fieldError.invalid('roleRef', ref, 'cannot change roleRef'));
    }
    const subjects = obj.subjects;
    if (Array.isArray(subjects)) {
      subjects.forEach((s, i) => {
        if (!isRecord(s) || typeof s.kind !== 'string')
          causes.push(fieldError.required(`subjects[${i}].kind`));
        if (!isRecord(s) || typeof s.name !== 'string' || s.name === '')
          causes.push(fieldError.required(`subjects[${i}].name`));
      });
    }
    return causes;
  },
};

/** ClusterRole, ClusterRoleBinding, Role, RoleBinding. */
export function rbacResources(): ResourceInfo[] {
  const common = { group, nameValidator: pathSegmentName };
  return [
    makeInfo({ ...common, plural: 'clusterroles', kind: 'ClusterRole', namespaced: false, hooks: roleHooks }),
    makeInfo({
      ...common,
      plural: 'clusterrolebindings',
      kind: 'ClusterRoleBinding',
      namespaced: false,
      hooks: bindingHooks,
    }),
    makeInfo({ ...common, plural: 'roles', kind: 'Role', namespaced: true, hooks: roleHooks }),
    makeInfo({
      ...common,
      plural: 'rolebindings',
      kind: 'RoleBinding',
      namespaced: true,
      hooks: bindingHooks,
    }),
  ];
}
