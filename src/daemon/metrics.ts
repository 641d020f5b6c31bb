// The daemon's Prometheus metrics: CNI request latency per command and errors per command and code.
import { Counter, Histogram, Registry } from 'prom-client';

export class DaemonMetrics {
  readonly registry = new Registry();
  readonly cniSeconds = new Histogram({
    name: 'ovnk_cni_request_seconds',
    help: 'CNI requests served by the daemon, by command and result',
    labelNames: ['command', 'result'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly cniErrors = new Counter({
    name: 'ovnk_cni_errors_total',
    help: 'CNI requests that failed, by command and CNI error code',
    labelNames: ['command', 'code'],
    registers: [this.registry],
  });
}
