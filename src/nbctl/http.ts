// The debug endpoint: the views over HTTP, read-only, from a replica (no process spawned, no extra load
// on the database).
//   GET /nbctl                          the views and their usage
//   GET /nbctl/<view>?arg=A&arg=B       e.g. /nbctl/lsp-list?arg=ovn-default, /nbctl/show
//   GET /nbctl/list/<table>?arg=RECORD  (&columns=a,b)
//   GET /nbctl/find/<table>?where=col=value&where=col:key=value  (&columns=a,b)
//   ... &format=json for the JSON form; text/plain (ovn-nbctl's own output) otherwise.
// /vsctl/show, /vsctl/list/<table> and /vsctl/find/<table> do the same for a node's Open_vSwitch replica.
// Any method but GET and HEAD gets 405. securityMiddleware() guards a non-loopback bind with a bearer token.
import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { ViewError, type ViewErrorCode } from './errors.ts';
import type { NbSource, OvsSource } from './source.ts';
import { NB_VIEWS, OVS_VIEWS, runOvsView, runView, type ViewFormat, viewSummaries } from './views.ts';

/** A replica, or a getter for one that may not exist yet (the endpoint then answers 503). */
export type SourceRef<S> = S | (() => S | undefined);

const STATUS: Record<ViewErrorCode, number> = {
  UNKNOWN_VIEW: 404,
  NOT_FOUND: 404,
  BAD_ARGS: 400,
  AMBIGUOUS: 400,
  UNAVAILABLE: 503,
};

function queryList(v: unknown): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

function formatOf(req: Request): ViewFormat {
  return req.query.format === 'json' ? 'json' : 'text';
}

function send(res: Response, format: ViewFormat, body: unknown): void {
  if (format === 'json') res.type('application/json').send(JSON.stringify(body));
  else res.type('text/plain; charset=utf-8').send(body as string);
}

function sendError(res: Response, format: ViewFormat, e: ViewError): void {
  res.status(STATUS[e.code]);
  if (format === 'json') send(res, 'json', { error: { code: e.code, message: e.message } });
  else send(res, 'text', `${e.message}\n`);
}

function readOnly(req: Request, res: Response, next: NextFunction): void {
  if (req.method === 'GET' || req.method === 'HEAD') {
    next();
    return;
  }
  res.set('Allow', 'GET, HEAD').status(405).type('text/plain').send('read-only: only GET and HEAD\n');
}

type Runner<S> = (src: S, name: string, args: string[], format: ViewFormat) => unknown;

function viewRouter<S>(
  prefix: string,
  sourceRef: SourceRef<S>,
  run: Runner<S>,
  summaries: Record<string, string>,
): express.Router {
  const router = express.Router();
  router.use(prefix, readOnly);
  const resolve = (): S | undefined =>
    typeof sourceRef === 'function' ? (sourceRef as () => S | undefined)() : sourceRef;

  const answer = (req: Request, res: Response, name: string, args: string[]) => {
    const format = formatOf(req);
    const src = resolve();
    if (!src) return sendError(res, format, new ViewError('UNAVAILABLE', 'no replica of the database yet'));
    try {
      send(res, format, run(src, name, args, format));
    } catch (e) {
      if (e instanceof ViewError) return sendError(res, format, e);
      throw e;
    }
  };
  const columns = (req: Request) => queryList(req.query.columns).map((c) => `--columns=${c}`);

  router.get(prefix, (req, res) => {
    const format = formatOf(req);
    if (format === 'json') return send(res, format, summaries);
    send(
      res,
      format,
      Object.values(summaries)
        .map((s) => `${s}\n`)
        .join(''),
    );
  });
  router.get(`${prefix}/list/:table`, (req, res) =>
    answer(req, res, 'list', [...columns(req), String(req.params.table), ...queryList(req.query.arg)]),
  );
  router.get(`${prefix}/find/:table`, (req, res) =>
    answer(req, res, 'find', [...columns(req), String(req.params.table), ...queryList(req.query.where)]),
  );
  router.get(`${prefix}/:view`, (req, res) =>
    answer(req, res, String(req.params.view), queryList(req.query.arg)),
  );
  return router;
}

/** The ovn-nbctl views of a northbound replica under /nbctl. */
export function nbctlRouter(source: SourceRef<NbSource>): express.Router {
  return viewRouter('/nbctl', source, runView, viewSummaries(NB_VIEWS));
}

/** The ovs-vsctl views (show, list, find) of an Open_vSwitch replica under /vsctl. */
export function vsctlRouter(source: SourceRef<OvsSource>): express.Router {
  return viewRouter('/vsctl', source, runOvsView, viewSummaries(OVS_VIEWS));
}

/**
 * Whether a listen address only accepts local connections: a unix socket path ("unix:/x", "/x"),
 * localhost, 127.0.0.0/8 or ::1, with or without a port ("127.0.0.1:10660", "[::1]:10660").
 */
export function isLoopbackBind(bind: string): boolean {
  const b = bind.trim();
  if (b.startsWith('unix:') || b.startsWith('/')) return true;
  let host = b;
  const bracketed = /^\[([^\]]*)\](?::\d+)?$/.exec(b);
  if (bracketed) host = bracketed[1]!;
  else if (b.split(':').length === 2) host = b.slice(0, b.indexOf(':'));
  host = host.toLowerCase();
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^::ffff:127\./.test(host) || host === '0:0:0:0:0:0:0:1';
  return false;
}

/** The shortest bearer token accepted for a network bind. */
export const MIN_TOKEN_LENGTH = 16;

export class BindSecurityError extends Error {
  override name = 'BindSecurityError';
  readonly code = 'INSECURE_BIND';
}

/** Throws unless the bind is loopback or comes with a token of at least MIN_TOKEN_LENGTH characters. */
export function checkBindSecurity(bind: string, token?: string): void {
  if (isLoopbackBind(bind)) return;
  if (!token) {
    throw new BindSecurityError(
      `refusing to serve the debug endpoint on ${bind} without a bearer token (bind to 127.0.0.1 or set a token)`,
    );
  }
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new BindSecurityError(
      `the debug endpoint's token must have at least ${MIN_TOKEN_LENGTH} characters`,
    );
  }
}

function sameSecret(given: string, expected: string): boolean {
  const [a, b] = [Buffer.from(given), Buffer.from(expected)];
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Lets every request through on a loopback bind; on any other bind, only requests carrying
 * `Authorization: Bearer <token>` (401 otherwise, and always 401 when there is no token).
 */
export function securityMiddleware(opts: { token?: string; bind: string }): RequestHandler {
  const open = isLoopbackBind(opts.bind);
  return (req, res, next) => {
    if (open) return next();
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    if (opts.token && m && sameSecret(m[1]!, opts.token)) return next();
    res
      .set('WWW-Authenticate', 'Bearer realm="ovnk-debug"')
      .status(401)
      .type('text/plain')
      .send('unauthorized: a bearer token is required\n');
  };
}
