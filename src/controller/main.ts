// The controller process: `node --import tsx src/controller/main.ts --kubeconfig F --ovn-nb-addr R [flags]`.
// With leader election (the default) only the holder of the Lease writes. A replica that loses the Lease
// (the API server away past the renew deadline, or someone else took it) stops its controller, fenced so
// that nothing of the old term is written, and campaigns again; each term begins from the normal start path.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { CoordinationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { loadConfig } from './config.ts';
import { Controller } from './controller.ts';
import { serveControllerDebug } from './debug-endpoint.ts';
import { logProcessExit } from './exit-log.ts';
import { LeaderElector } from './leader.ts';
import { ControllerMetrics } from './metrics.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  strict: false,
  options: {
    kubeconfig: { type: 'string' },
    'leader-elect': { type: 'string', default: 'true' },
    'lease-namespace': { type: 'string', default: 'kube-system' },
    'lease-name': { type: 'string', default: 'ovnk-controller' },
    'lease-duration': { type: 'string', default: '15' },
    'renew-deadline-ms': { type: 'string', default: '10000' },
    'retry-period-ms': { type: 'string', default: '2000' },
    'log-level': { type: 'string', default: 'info' },
    'debug-addr': { type: 'string', default: '127.0.0.1:10660' },
  },
});

const log = pino({ level: String(values['log-level']), base: { component: 'ovnk-controller' } });
const config = loadConfig(process.argv.slice(2), process.env);
const kc = new KubeConfig();
if (typeof values.kubeconfig === 'string') kc.loadFromFile(values.kubeconfig);
else kc.loadFromDefault();

let controller: Controller | undefined;
let synced = false;
let standby = false;
const metrics = new ControllerMetrics();
logProcessExit(log);

/**
 * One term of work: the controller's normal start path, retried with backoff while the term lasts (the API
 * server or northbound may be away), until it has synced. Resolves with the controller, or undefined when
 * the term ended first.
 */
async function lead(signal?: AbortSignal): Promise<Controller | undefined> {
  const t0 = Date.now();
  metrics.isLeader.set(1);
  for (let delay = 1_000; ; delay = Math.min(delay * 2, 10_000)) {
    try {
      const c = await Controller.start({ kc, config, log, metrics, signal });
      controller = c;
      await c.idle();
      synced = true;
      log.info({ ms: Date.now() - t0 }, 'synced');
      return c;
    } catch (e) {
      if (signal?.aborted) return undefined;
      if (!signal) throw e; // without leader election a failed start is the process's failure
      log.error({ err: String(e), retryMs: delay }, 'controller failed to start; retrying');
      await new Promise((r) => setTimeout(r, delay));
      if (signal.aborted) return undefined;
    }
  }
}

async function serveDebug(): Promise<void> {
  const server = await serveControllerDebug({
    bind: String(values['debug-addr']),
    token: process.env.OVNK_DEBUG_TOKEN || undefined,
    metrics,
    deps: () => controller?.deps,
    // a standby is ready (to take over); the leader once its first sync is done
    ready: () => synced || standby,
    logLevel: { get: () => log.level, set: (l) => (log.level = l) },
  });
  log.info({ address: server.address }, 'debug endpoint');
}

async function main(): Promise<void> {
  await serveDebug();
  if (values['leader-elect'] === 'false') {
    const shutdown = async () => {
      await controller?.stop();
      process.exit(0);
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
    await lead();
    return;
  }
  const namespace = String(values['lease-namespace']);
  await kc
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name: namespace } } })
    .catch(() => undefined); // exists already, or no right to create it: the Lease calls will tell
  const identity = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  let term: Promise<Controller | undefined> | undefined;
  const elector = new LeaderElector({
    api: kc.makeApiClient(CoordinationV1Api),
    namespace,
    name: String(values['lease-name']),
    identity,
    leaseDurationSeconds: Number(values['lease-duration']),
    renewDeadlineMs: Number(values['renew-deadline-ms']),
    retryPeriodMs: Number(values['retry-period-ms']),
    onStartedLeading: (signal) => {
      log.info({ identity }, 'leading');
      standby = false;
      metrics.leaderChanges.inc();
      term = lead(signal);
    },
    // A writer no longer sure it leads stops writing at once: the term's signal has already closed
    // northbound and fenced the Kubernetes clients. The process stays and campaigns again; a new term
    // goes through the same start path as the first.
    onStoppedLeading: async (reason) => {
      log.warn({ reason }, 'lost leadership; stopping the controller');
      metrics.isLeader.set(0);
      metrics.leaderChanges.inc();
      synced = false;
      const ended = await term?.catch(() => undefined);
      term = undefined;
      await ended?.stop();
      if (controller === ended) controller = undefined;
      if (reason !== 'stopped') log.info({}, 'stopped; campaigning again');
    },
    onNewLeader: (holder) => {
      log.info({ holder }, 'leader');
      if (holder !== identity) standby = true;
    },
    onError: (err) => log.debug({ err: err.message }, 'leader election'),
  });
  elector.start();
  const shutdown = async () => {
    await controller?.stop();
    await elector.stop();
    process.exit(0);
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((e: unknown) => {
  log.error({ err: String(e) }, 'controller exited');
  process.exit(1);
});
