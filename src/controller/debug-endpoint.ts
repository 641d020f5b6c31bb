// The controller's debug endpoint: /healthz, /readyz, /metrics, the ovn-nbctl views of its northbound
// replica (/nbctl/...) and its own views (/debug/ipam, /debug/pods, /debug/check). The controller behind it
// changes with leadership, so everything is looked up per request.
import type { Router } from 'express';
import { lazyRouter } from '../debug/lazy-router.ts';
import { startDebugServer } from '../debug/server.ts';
import { nbctlRouter } from '../nbctl/http.ts';
import { updateIpamGauges } from './controller.ts';
import { controllerDebugRouter } from './debug-routes.ts';
import type { Deps } from './deps.ts';
import type { ControllerMetrics } from './metrics.ts';

export interface ControllerDebugOptions {
  bind: string;
  token?: string;
  metrics: ControllerMetrics;
  /** The running controller's state, if this replica runs one now. */
  deps: () => Deps | undefined;
  ready: () => boolean;
  logLevel?: { get(): string; set(level: string): void };
}

export function serveControllerDebug(o: ControllerDebugOptions) {
  const routers = new WeakMap<Deps, Router>();
  return startDebugServer({
    bind: o.bind,
    token: o.token,
    registry: o.metrics.registry,
    health: () => ({ live: true, ready: o.ready(), reason: 'starting: the first sync is not done' }),
    beforeScrape: () => {
      const d = o.deps();
      if (d) updateIpamGauges(d);
    },
    routers: [
      nbctlRouter(() => o.deps()?.nb.replica),
      lazyRouter('/debug/', () => {
        const d = o.deps();
        if (!d) return undefined;
        const r = routers.get(d) ?? controllerDebugRouter(d);
        routers.set(d, r);
        return r;
      }),
    ],
    logLevel: o.logLevel,
  });
}
