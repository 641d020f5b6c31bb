// Kubernetes label selectors (metav1.LabelSelector) evaluated against a set of labels, as the API machinery
// does: matchLabels and every matchExpressions term must all hold; an empty selector selects everything.
import type { V1LabelSelector } from '@kubernetes/client-node';

export type Labels = Readonly<Record<string, string>>;

export function selects(selector: V1LabelSelector, labels: Labels): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(labels[e.key]!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[e.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        // an operator the API server would have rejected selects nothing rather than everything
        return false;
    }
  }
  return true;
}
