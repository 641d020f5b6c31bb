// An opt-in audit log: one JSON line per resource request (who, verb, group, resource, subresource, namespace,
// name, status code), appended when the response ends. It answers "which API calls does this client make",
// e.g. to check RBAC rules against what a component really does. This server authenticates nobody, so the
// user is the bearer token as the client sent it: give each client a kubeconfig with its own token.
import { appendFileSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface AuditEvent {
  /** The bearer token of the request, or "system:anonymous" without one. */
  user: string;
  verb: string;
  apiGroup: string;
  resource: string;
  /** "" or status, binding, finalize... */
  subresource: string;
  namespace: string;
  name: string;
  /** The HTTP status code sent (200 for a watch that streamed). */
  code: number;
}

export type AuditCall = Omit<AuditEvent, 'user' | 'code'>;

export function bearerUser(req: IncomingMessage): string {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return m ? m[1]! : 'system:anonymous';
}

export class AuditLog {
  constructor(readonly path: string) {}

  /** Writes the event once the response is over (finished, or cut off as a watch is). */
  record(req: IncomingMessage, res: ServerResponse, call: AuditCall): void {
    const user = bearerUser(req);
    res.once('close', () => {
      const event: AuditEvent = { user, ...call, code: res.statusCode };
      appendFileSync(this.path, `${JSON.stringify(event)}\n`);
    });
  }
}

export function readAuditLog(path: string): AuditEvent[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditEvent);
}
