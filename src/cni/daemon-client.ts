// One POST to the node daemon over its unix socket (docs/cni-daemon-protocol.md). Not reaching it, or no answer
// within the timeout, is code 11 ("try again later"); its own errors come back as the CniError it sent.
import { CniError, ErrorCode } from './errors.ts';
import { HttpError, postJson } from './unix-http.ts';

export interface DaemonRequest {
  command: string;
  cniVersion: string;
  containerId: string;
  netns: string;
  ifName: string;
  podName: string;
  podNamespace: string;
  podUid: string;
  config: Record<string, unknown>;
}

const MAX_DETAILS = 2_000;

const HINTS: Record<string, string> = {
  ENOENT: 'the socket does not exist',
  ECONNREFUSED: 'nobody listens on the socket',
  EACCES: 'no permission to use the socket',
  ETIMEDOUT: 'no answer in time',
  EMPTYRESPONSE: 'the daemon closed the connection without answering',
};

function transportError(socketPath: string, command: string, timeoutMs: number, e: unknown): CniError {
  if (e instanceof HttpError && e.code === 'EBADRESPONSE') {
    return new CniError(ErrorCode.Unexpected, 'the ovnk daemon sent a malformed answer', e.message);
  }
  const code = (e as NodeJS.ErrnoException).code ?? 'error';
  const message = e instanceof Error ? e.message : String(e);
  const msg =
    code === 'ETIMEDOUT'
      ? `the ovnk daemon did not answer ${command} within ${timeoutMs / 1000} s; try again later`
      : `cannot reach the ovnk daemon at ${socketPath} (${HINTS[code] ?? code}); try again later`;
  return new CniError(ErrorCode.TryAgainLater, msg, `${socketPath}: ${code}: ${message}`);
}

function decodeAnswer(status: number, body: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = body.trim() === '' ? {} : JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const isObject = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  if (status >= 200 && status < 300) {
    if (!isObject) {
      throw new CniError(
        ErrorCode.Unexpected,
        'the daemon answered with no JSON object',
        body.slice(0, MAX_DETAILS),
      );
    }
    return parsed as Record<string, unknown>;
  }
  const err = (isObject ? parsed : {}) as { code?: unknown; msg?: unknown; details?: unknown };
  if (typeof err.code === 'number' && Number.isInteger(err.code) && err.code > 0) {
    const msg = typeof err.msg === 'string' ? err.msg : `the daemon failed with HTTP ${status}`;
    throw new CniError(err.code, msg, typeof err.details === 'string' ? err.details : undefined);
  }
  throw new CniError(ErrorCode.Unexpected, `the daemon answered HTTP ${status}`, body.slice(0, MAX_DETAILS));
}

const RETRY_MS = 100;

/**
 * POST /api/v1/cni/<command>; resolves with the 2xx body (`{}` when empty), rejects with a CniError. A daemon
 * that is restarting (a crash, an upgrade) has no listener for a few seconds: for up to daemonWaitMs a
 * refused or missing socket is tried again rather than failing the sandbox. That is safe because nothing
 * was sent; a runtime's own retry of a failed sandbox comes only after its back-off.
 */
export async function callDaemon(
  socketPath: string,
  body: DaemonRequest,
  timeoutMs: number,
  daemonWaitMs = 0,
): Promise<Record<string, unknown>> {
  const path = `/api/v1/cni/${body.command.toLowerCase()}`;
  const payload = JSON.stringify(body);
  const start = Date.now();
  for (;;) {
    try {
      const left = Math.max(1, timeoutMs - (Date.now() - start));
      const answer = await postJson(socketPath, path, payload, left);
      return decodeAnswer(answer.status, answer.body);
    } catch (e) {
      if (e instanceof CniError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      const notListening = code === 'ENOENT' || code === 'ECONNREFUSED';
      const waitLeft = daemonWaitMs - (Date.now() - start);
      if (!notListening || waitLeft <= 0) throw transportError(socketPath, body.command, timeoutMs, e);
      await new Promise((r) => setTimeout(r, Math.min(RETRY_MS, waitLeft)));
    }
  }
}
