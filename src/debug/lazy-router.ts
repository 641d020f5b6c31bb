// A router whose handlers exist only part of the time (the controller's views exist while it leads):
// requests under `prefix` go to the router of the moment, or get 503 when there is none.
import express, { type Router } from 'express';

export function lazyRouter(prefix: string, current: () => Router | undefined): Router {
  const router = express.Router();
  router.use((req, res, next) => {
    if (!req.path.startsWith(prefix)) return next();
    const r = current();
    if (!r) {
      res.status(503).type('text/plain').send('not serving: this replica is not leading\n');
      return;
    }
    r(req, res, next);
  });
  return router;
}
