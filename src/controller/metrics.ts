// The controller's Prometheus metrics (prom-client, a registry of its own so tests can run several
// controllers in one process): how long a pod waits for its port and its annotations, the work queues,
// northbound transactions and reconnects, leadership, and IPAM usage per subnet.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { QueueMetrics } from './queue.ts';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class ControllerMetrics {
  readonly registry = new Registry();
  /** Seconds from the controller first seeing a pod to its port being written, and to its annotations. */
  readonly podAddress = new Histogram({
    name: 'ovnk_pod_address_seconds',
    help: 'Time from the controller first seeing a pod to a stage of its addressing',
    labelNames: ['stage'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'ovnk_workqueue_depth',
    help: 'Keys ready and waiting for a worker',
    labelNames: ['queue'],
    registers: [this.registry],
  });
  readonly queueWait = new Histogram({
    name: 'ovnk_workqueue_wait_seconds',
    help: 'Time a key waited in a work queue before a worker took it',
    labelNames: ['queue'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly queueRun = new Histogram({
    name: 'ovnk_workqueue_reconcile_seconds',
    help: 'Time a reconcile ran, by queue and outcome',
    labelNames: ['queue', 'outcome'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly queueRetries = new Counter({
    name: 'ovnk_workqueue_retries_total',
    help: 'Reconciles that failed and were scheduled again',
    labelNames: ['queue'],
    registers: [this.registry],
  });
  readonly nbTransaction = new Histogram({
    name: 'ovnk_ovsdb_transaction_seconds',
    help: 'Northbound transaction round trips (each may carry many objects: group commit)',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly nbReconnects = new Counter({
    name: 'ovnk_ovsdb_reconnects_total',
    help: 'Connections to northbound made after the first',
    registers: [this.registry],
  });
  readonly leaderChanges = new Counter({
    name: 'ovnk_leader_changes_total',
    help: 'Times this replica became or stopped being the leader',
    registers: [this.registry],
  });
  readonly isLeader = new Gauge({
    name: 'ovnk_is_leader',
    help: '1 while this replica holds the Lease (or runs without leader election)',
    registers: [this.registry],
  });
  readonly ipamAddresses = new Gauge({
    name: 'ovnk_ipam_addresses',
    help: 'Addresses per subnet and family, in use or available',
    labelNames: ['subnet', 'family', 'state'],
    registers: [this.registry],
  });

  /** Hooks for a WorkQueue named `queue`. */
  queue(queue: string): QueueMetrics {
    return {
      depth: (n) => this.queueDepth.set({ queue }, n),
      reconciled: (_key, r) => {
        this.queueWait.observe({ queue }, r.waitMs / 1000);
        this.queueRun.observe({ queue, outcome: r.outcome }, r.runMs / 1000);
      },
      retry: () => this.queueRetries.inc({ queue }),
    };
  }
}
