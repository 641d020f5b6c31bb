// The read-only HTTP endpoint the controller and the daemon serve for operators: /healthz, /readyz,
// /metrics (Prometheus) and the views they mount (ovn-nbctl-like, IPAM, consistency). Loopback (or a unix
// socket) by default; on a network address only with a bearer token. Nothing here writes to OVN or
// Kubernetes; the one mutable setting is the process's log level.
import { chmodSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import express, { type Router } from 'express';
import type { Registry } from 'prom-client';
import { checkBindSecurity, securityMiddleware } from '../nbctl/http.ts';

export interface Health {
  /** The process works (its event loop answers; it is not wedged). */
  live: boolean;
  /** It does its job now (synced, connected; for the controller: leading or a ready standby). */
  ready: boolean;
  reason?: string;
}

export interface DebugServerOptions {
  /** "127.0.0.1:10660", "0.0.0.0:10660" (needs token) or "unix:/run/ovnk/debug.sock". */
  bind: string;
  token?: string;
  health: () => Health;
  registry: Registry;
  /** Called before each scrape (gauges computed from state, e.g. IPAM usage). */
  beforeScrape?: () => void;
  routers: Router[];
  /** Run-time log level (pino's level setter). */
  logLevel?: { get(): string; set(level: string): void };
}

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export async function startDebugServer(
  o: DebugServerOptions,
): Promise<{ address: string; close(): Promise<void> }> {
  checkBindSecurity(o.bind, o.token);
  const app = express();
  app.disable('x-powered-by');
  app.use(securityMiddleware({ bind: o.bind, token: o.token }));
  app.get('/healthz', (_req, res) => {
    const h = o.health();
    res
      .status(h.live ? 200 : 503)
      .type('text/plain')
      .send(h.live ? 'ok\n' : `not live: ${h.reason ?? ''}\n`);
  });
  app.get('/readyz', (_req, res) => {
    const h = o.health();
    res
      .status(h.ready ? 200 : 503)
      .type('text/plain')
      .send(h.ready ? 'ok\n' : `not ready: ${h.reason ?? ''}\n`);
  });
  app.get('/metrics', async (_req, res) => {
    o.beforeScrape?.();
    res.type(o.registry.contentType).send(await o.registry.metrics());
  });
  if (o.logLevel) {
    const ll = o.logLevel;
    app.get('/loglevel', (_req, res) => {
      res.type('text/plain').send(`${ll.get()}\n`);
    });
    app.put('/loglevel', express.text(), (req, res) => {
      const level = String(req.query.level ?? req.body ?? '').trim();
      if (!LEVELS.has(level)) {
        res.status(400).type('text/plain').send(`unknown level "${level}"\n`);
        return;
      }
      ll.set(level);
      res.type('text/plain').send(`${level}\n`);
    });
  }
  for (const r of o.routers) app.use(r);
  app.use((req, res) => {
    res
      .status(req.method === 'GET' ? 404 : 405)
      .type('text/plain')
      .send(req.method === 'GET' ? 'not found\n' : 'read-only\n');
  });

  const unix = o.bind.startsWith('unix:') ? o.bind.slice(5) : o.bind.startsWith('/') ? o.bind : undefined;
  let server: Server;
  if (unix) {
    rmSync(unix, { force: true });
    server = await new Promise((resolve, reject) => {
      const s = app.listen(unix, () => resolve(s));
      s.once('error', reject);
    });
    chmodSync(unix, 0o600);
  } else {
    const i = o.bind.lastIndexOf(':');
    const host = o.bind.slice(0, i).replace(/^\[|\]$/g, '');
    const port = Number(o.bind.slice(i + 1));
    server = await new Promise((resolve, reject) => {
      const s = app.listen(port, host, () => resolve(s));
      s.once('error', reject);
    });
  }
  const a = server.address();
  const address =
    typeof a === 'string'
      ? `unix:${a}`
      : `${a!.address.includes(':') ? `[${a!.address}]` : a!.address}:${a!.port}`;
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
