// The daemon's CNI endpoint: HTTP on a unix socket that only root can open (mode 0600), one POST per CNI
// command (docs/cni-daemon-protocol.md). Answers are the CNI result, {} or {code,msg,details}.
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { dirname } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../controller/deps.ts';
import { parseCniRequest } from './cni-request.ts';
import { DaemonCode, DaemonError } from './errors.ts';
import type { DaemonMetrics } from './metrics.ts';
import type { PodNetwork } from './pod-network.ts';

export interface CniServerOptions {
  socketPath: string;
  metrics?: DaemonMetrics;
  network: PodNetwork;
  /** STATUS: undefined when ready, else why not. */
  notReadyReason: () => string | undefined;
  log: Logger;
}

export async function startCniServer(o: CniServerOptions): Promise<{ close(): Promise<void> }> {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '1mb', strict: false }));
  app.post('/api/v1/cni/:command', async (req: Request, res: Response) => {
    const command = String(req.params.command).toUpperCase();
    const t0 = performance.now();
    const done = (result: string) =>
      o.metrics?.cniSeconds.observe({ command, result }, (performance.now() - t0) / 1000);
    res.once('finish', () => done(res.statusCode < 300 ? 'ok' : 'error'));
    try {
      const r = parseCniRequest(String(req.params.command), req.body);
      switch (r.command) {
        case 'ADD':
          res.json(await o.network.add(r));
          return;
        case 'DEL':
          await o.network.del(r);
          break;
        case 'CHECK':
          await o.network.check(r);
          break;
        case 'GC':
          await o.network.gc(r);
          break;
        case 'STATUS': {
          const why = o.notReadyReason();
          if (why) throw new DaemonError(DaemonCode.NotReady, why);
          break;
        }
      }
      res.json({});
    } catch (e) {
      const code = sendError(res, e, o.log);
      o.metrics?.cniErrors.inc({ command, code: String(code) });
    }
  });
  // malformed JSON and anything else express rejects: still a CNI error the plugin can print
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    sendError(
      res,
      new DaemonError(DaemonCode.DecodingFailure, `bad request: ${(err as Error).message}`),
      o.log,
    );
  });
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ code: DaemonCode.InvalidEnvironment, msg: 'no such endpoint' });
  });

  mkdirSync(dirname(o.socketPath), { recursive: true, mode: 0o700 });
  rmSync(o.socketPath, { force: true }); // a socket file left by a previous run
  const server: Server = await new Promise((resolve, reject) => {
    // the socket file is made by bind(), synchronously inside listen(): under umask 177 it is 0600 from
    // the first moment, with no window in which another user could connect
    const umask = process.umask(0o177);
    try {
      const s = app.listen(o.socketPath, () => resolve(s));
      s.once('error', reject);
    } finally {
      process.umask(umask);
    }
  });
  chmodSync(o.socketPath, 0o600); // and whatever the umask did, 0600 it is
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function sendError(res: Response, e: unknown, log: Logger): number {
  const err =
    e instanceof DaemonError
      ? e
      : new DaemonError(DaemonCode.Unexpected, `unexpected error: ${(e as Error)?.message ?? String(e)}`);
  if (err.code === DaemonCode.Unexpected)
    log.error({ err: (e as Error)?.stack ?? String(e) }, 'cni request failed');
  else log.warn({ code: err.code, err: err.message }, 'cni request failed');
  // the caller's mistakes are 4xx; what went wrong on the node is 5xx
  const clientErrors: number[] = [
    DaemonCode.InvalidEnvironment,
    DaemonCode.DecodingFailure,
    DaemonCode.InvalidNetworkConfig,
  ];
  const status = clientErrors.includes(err.code) ? 400 : 500;
  res.status(status).json(err.toJson());
  return err.code;
}
