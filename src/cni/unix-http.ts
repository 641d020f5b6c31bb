// A minimal HTTP/1.0 client for one POST over a unix socket. node:http would do the same, but loading and
// driving it costs the plugin's ADD 3-8 ms wall and 8 ms CPU more (measured, see scripts/build-cni.ts);
// node:net is what node:http sits on anyway. HTTP/1.0 keeps the answer simple: no keep-alive, and a node:http server
// does not use chunked encoding for it (chunked answers are still decoded, for other servers).
import { connect } from 'node:net';

export interface HttpAnswer {
  status: number;
  body: string;
}

/** The answer did not arrive or was not HTTP; `code` is ETIMEDOUT, EMPTYRESPONSE or EBADRESPONSE. */
export class HttpError extends Error {
  constructor(
    readonly code: 'ETIMEDOUT' | 'EMPTYRESPONSE' | 'EBADRESPONSE',
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

function bad(why: string): HttpError {
  return new HttpError('EBADRESPONSE', `malformed HTTP response: ${why}`);
}

function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) throw bad('truncated chunk size');
    const size = Number.parseInt(body.subarray(at, eol).toString('latin1').split(';', 1)[0]!.trim(), 16);
    if (!Number.isInteger(size) || size < 0) throw bad('invalid chunk size');
    if (size === 0) return Buffer.concat(parts);
    const start = eol + 2;
    if (body.length < start + size + 2) throw bad('truncated chunk');
    parts.push(body.subarray(start, start + size));
    at = start + size + 2;
  }
}

/** Parses a whole response, read until the server closed the connection. */
export function parseHttpResponse(raw: Buffer): HttpAnswer {
  if (raw.length === 0)
    throw new HttpError('EMPTYRESPONSE', 'the server closed the connection without answering');
  const headEnd = raw.indexOf('\r\n\r\n');
  if (headEnd < 0) throw bad('no end of headers');
  const lines = raw.subarray(0, headEnd).toString('latin1').split('\r\n');
  const statusLine = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0]!);
  if (!statusLine) throw bad(`status line ${JSON.stringify(lines[0]!.slice(0, 80))}`);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw bad(`header line ${JSON.stringify(line.slice(0, 80))}`);
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  let body = raw.subarray(headEnd + 4);
  if (headers.get('transfer-encoding')?.toLowerCase() === 'chunked') {
    body = dechunk(body);
  } else if (headers.has('content-length')) {
    const length = Number(headers.get('content-length'));
    if (!Number.isInteger(length) || length < 0) throw bad('invalid content-length');
    if (body.length < length) throw bad(`body has ${body.length} of ${length} bytes`);
    body = body.subarray(0, length);
  }
  return { status: Number(statusLine[1]), body: body.toString('utf8') };
}

/**
 * POSTs a JSON payload and resolves with the answer. Rejects with the socket's errno error (ENOENT,
 * ECONNREFUSED, EACCES, ...) or an HttpError; the timeout covers connecting, sending and the whole answer.
 */
export function postJson(
  socketPath: string,
  path: string,
  payload: string,
  timeoutMs: number,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const body = Buffer.from(payload, 'utf8');
    const socket = connect(socketPath);
    const chunks: Buffer[] = [];
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const timer = setTimeout(
      () =>
        settle(() => {
          socket.destroy();
          reject(new HttpError('ETIMEDOUT', `no answer within ${timeoutMs} ms`));
        }),
      timeoutMs,
    );
    socket.on('error', (e) => settle(() => reject(e)));
    socket.on('data', (c: Buffer) => chunks.push(c));
    // the server has closed its side; ours closes by itself (no allowHalfOpen), so no destroy() on this path
    socket.on('end', () =>
      settle(() => {
        try {
          resolve(parseHttpResponse(Buffer.concat(chunks)));
        } catch (e) {
          reject(e);
        }
      }),
    );
    socket.write(
      `POST ${path} HTTP/1.0\r\nHost: ovnk\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
    );
    socket.write(body);
  });
}
