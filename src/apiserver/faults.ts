// Error injection for tests: the next N requests matching a rule fail with the given Status,
// so a controller's retry and backoff paths can be driven against a real HTTP server.
import { ApiError, type StatusReason } from './errors.ts';

export interface FaultRule {
  /** get, list, watch, create, update, patch, delete, deletecollection; any when unset. */
  verb?: string;
  /** Plural resource name (pods, subnets); "pods/status" for a subresource. Any when unset. */
  resource?: string;
  namespace?: string;
  name?: string;
  /** HTTP status (default 500). */
  code?: number;
  reason?: StatusReason;
  message?: string;
  /** How many matching requests fail (default 1). */
  times?: number;
  /** Delay the request by this many ms instead of (or before) failing when code is 0. */
  delayMs?: number;
}

export interface RequestFacts {
  verb: string;
  resource: string;
  namespace: string;
  name: string;
}

const reasonFor: Record<number, StatusReason> = {
  400: 'BadRequest',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  410: 'Expired',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export class Faults {
  private rules: (FaultRule & { left: number })[] = [];

  inject(rule: FaultRule): void {
    this.rules.push({ ...rule, left: rule.times ?? 1 });
  }

  clear(): void {
    this.rules = [];
  }

  /** The fault for this request, consuming one use of its rule. */
  take(req: RequestFacts): { error?: ApiError; delayMs: number } | undefined {
    if (this.rules.length === 0) return undefined;
    const i = this.rules.findIndex(
      (r) =>
        (r.verb === undefined || r.verb === req.verb) &&
        (r.resource === undefined || r.resource === req.resource) &&
        (r.namespace === undefined || r.namespace === req.namespace) &&
        (r.name === undefined || r.name === req.name),
    );
    if (i < 0) return undefined;
    const r = this.rules[i]!;
    if (--r.left <= 0) this.rules.splice(i, 1);
    const code = r.code ?? 500;
    const delayMs = r.delayMs ?? 0;
    if (code === 0) return { delayMs };
    const reason = r.reason ?? reasonFor[code] ?? 'InternalError';
    return {
      error: new ApiError(
        code,
        reason,
        r.message ?? `injected fault: ${reason}`,
        code === 429 ? { retryAfterSeconds: 1 } : undefined,
      ),
      delayMs,
    };
  }
}
