// How a Subnet, Vpc or IPPool says that fields its user set have no effect (the lists are in
// unimplemented.ts): a condition UnsupportedFields=True next to the object's other conditions, and one
// Warning Event per new set of fields. The object is otherwise reconciled as if the fields were not there.
import type { KubernetesObject } from '@kubernetes/client-node';
import { condition, patchStatusIfChanged } from './k8s/status.ts';
import type { Condition } from './k8s/types.ts';
import type { Kube } from './kube.ts';
import {
  unimplementedIpPoolFields,
  unimplementedSubnetFields,
  unimplementedVpcFields,
} from './unimplemented.ts';

export const UNSUPPORTED_FIELDS = 'UnsupportedFields';
export const FIELDS_NOT_IMPLEMENTED = 'FieldsNotImplemented';

type Status = Record<string, unknown> & { conditions?: Condition[] };

export function unsupportedFieldsMessage(paths: readonly string[]): string {
  return `not implemented by this controller, ignored: ${paths.join(', ')}`;
}

/**
 * `conditions` plus UnsupportedFields=True naming `paths`, last; nothing added when `paths` is empty, so the
 * condition is absent rather than False, as PeeringReady is when all is well.
 */
export function withUnsupportedFields(
  conditions: readonly Condition[],
  paths: readonly string[],
): Condition[] {
  if (paths.length === 0) return [...conditions];
  return [
    ...conditions,
    condition(UNSUPPORTED_FIELDS, true, FIELDS_NOT_IMPLEMENTED, unsupportedFieldsMessage(paths)),
  ];
}

/** Whether `paths` is news to a status: it does not already carry the condition for exactly them. */
export function isNewUnsupportedSet(status: Status | undefined, paths: readonly string[]): boolean {
  if (paths.length === 0) return false;
  const before = status?.conditions?.find((c) => c.type === UNSUPPORTED_FIELDS);
  return before?.status !== 'True' || before.message !== unsupportedFieldsMessage(paths);
}

/**
 * patchStatusIfChanged with the UnsupportedFields condition added. Every status write of an object goes
 * through here, so none of them drops the condition another one wrote (which would rewrite the status back
 * and forth). The Event follows the write, so a reconcile that fails before it tries again rather than
 * losing it; the written condition is the memory of what was announced, as for the other verdicts.
 */
export async function patchStatusWithUnsupportedFields(
  kube: Pick<Kube, 'event'>,
  obj: KubernetesObject & { status?: Status },
  paths: readonly string[],
  fields: Record<string, unknown>,
  conditions: readonly Condition[],
  write: (status: Record<string, unknown>) => Promise<void>,
): Promise<void> {
  const announce = isNewUnsupportedSet(obj.status, paths);
  await patchStatusIfChanged(obj.status, fields, withUnsupportedFields(conditions, paths), write);
  if (announce) await kube.event(obj, 'Warning', UNSUPPORTED_FIELDS, unsupportedFieldsMessage(paths));
}

const UNIMPLEMENTED_BY_PLURAL = {
  subnets: unimplementedSubnetFields,
  vpcs: unimplementedVpcFields,
  ippools: unimplementedIpPoolFields,
} as const;

/**
 * The status write of a Subnet, Vpc or IPPool: `fields` and `conditions`, plus the UnsupportedFields
 * condition its spec calls for, written only when something changes.
 */
export function patchKubeovnStatus(
  kube: Pick<Kube, 'event' | 'patchCrStatus'>,
  plural: keyof typeof UNIMPLEMENTED_BY_PLURAL,
  obj: KubernetesObject & { spec?: unknown; status?: Status },
  fields: Record<string, unknown>,
  conditions: readonly Condition[],
): Promise<void> {
  return patchStatusWithUnsupportedFields(
    kube,
    obj,
    UNIMPLEMENTED_BY_PLURAL[plural](obj.spec),
    fields,
    conditions,
    (status) => kube.patchCrStatus(plural, obj.metadata!.name!, status),
  );
}
