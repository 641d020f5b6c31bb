// Where a VM's port may be bound (LSP options requested-chassis), from its live migrations: while one runs,
// both the source and the target node, with activation-strategy=rarp so the target takes over when the VM
// announces itself there; after success only the target, after failure only the source; without a
// migration, the node of its launcher pod. Pure.
import type { KubernetesObject } from '@kubernetes/client-node';

export interface Migration extends KubernetesObject {
  spec?: { vmiName?: string };
  status?: {
    phase?: string;
    migrationState?: { sourceNode?: string; targetNode?: string; completed?: boolean; failed?: boolean };
  };
}

const FINISHED = new Set(['Succeeded', 'Failed']);

export function vmPortOptions(
  migrations: readonly Migration[],
  namespace: string,
  vm: string,
  podNode: string | undefined,
): Record<string, string> {
  const mine = migrations
    .filter((m) => m.metadata?.namespace === namespace && m.spec?.vmiName === vm)
    .sort((a, b) =>
      String(a.metadata?.creationTimestamp ?? '').localeCompare(String(b.metadata?.creationTimestamp ?? '')),
    );
  const latest = mine[mine.length - 1];
  const st = latest?.status?.migrationState;
  const phase = latest?.status?.phase ?? '';
  if (latest && st?.sourceNode && st.targetNode) {
    if (!FINISHED.has(phase) && !st.completed)
      return { 'requested-chassis': `${st.sourceNode},${st.targetNode}`, 'activation-strategy': 'rarp' };
    if (phase === 'Succeeded' || (st.completed && !st.failed)) return { 'requested-chassis': st.targetNode };
    return { 'requested-chassis': st.sourceNode };
  }
  return podNode ? { 'requested-chassis': podNode } : {};
}
