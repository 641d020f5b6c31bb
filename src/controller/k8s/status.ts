// Status writes shared by the CRD reconcilers: conditions that keep their timestamps while unchanged, and a
// patch only when something in the status really changes.
import type { Condition } from './types.ts';

export function condition(type: string, ok: boolean, reason: string, message = ''): Condition {
  return { type, status: ok ? 'True' : 'False', reason, message };
}

/**
 * Calls `write` with the new status only when something in it changes. A patch is itself an update event,
 * so writing unchanged status (or a fresh timestamp) would make an object reconcile itself forever.
 * Conditions keep their timestamps unless their status, reason or message changes.
 */
export async function patchStatusIfChanged(
  current: (Record<string, unknown> & { conditions?: Condition[] }) | undefined,
  fields: Record<string, unknown>,
  conditions: Condition[],
  write: (status: Record<string, unknown>) => Promise<void>,
): Promise<void> {
  const cur = current ?? {};
  const now = new Date().toISOString();
  const old = cur.conditions ?? [];
  const merged = conditions.map((c) => {
    const prev = old.find((o) => o.type === c.type);
    const same =
      prev &&
      prev.status === c.status &&
      prev.reason === c.reason &&
      (prev.message ?? '') === (c.message ?? '');
    return same ? prev : { ...c, lastTransitionTime: now, lastUpdateTime: now };
  });
  const changed =
    Object.entries(fields).some(([k, v]) => !sameValue(cur[k], v)) ||
    merged.length !== old.length ||
    merged.some((c, i) => c !== old[i]);
  if (changed) await write({ ...fields, conditions: merged });
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => x === b[i]);
  return false;
}
