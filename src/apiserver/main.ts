// CLI: `npx tsx src/apiserver/main.ts [--port 0] [--host 127.0.0.1] [--state-file F] [--kubeconfig F]
//        [--manifests deploy/crds]... [--tls] [--history-size N] [--audit-log F]`
// Prints the URL and the kubeconfig path, then serves until SIGINT/SIGTERM (state is flushed on the way out).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startApiServer } from './server.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'state-file': { type: 'string' },
    kubeconfig: { type: 'string' },
    manifests: { type: 'string', multiple: true },
    tls: { type: 'boolean', default: false },
    'history-size': { type: 'string' },
    'audit-log': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log(
    'usage: main.ts [--port 0] [--host 127.0.0.1] [--state-file FILE] [--kubeconfig FILE] [--manifests PATH]... [--tls] [--history-size N] [--audit-log FILE]',
  );
  process.exit(0);
}

const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' }, pino.destination(2));
const kubeconfigPath = values.kubeconfig ?? join(tmpdir(), `ovnk-apiserver-${process.pid}.kubeconfig`);
const server = await startApiServer({
  host: values.host,
  port: Number(values.port),
  stateFile: values['state-file'],
  kubeconfigPath,
  manifests: values.manifests,
  tls: values.tls,
  historySize: values['history-size'] ? Number(values['history-size']) : undefined,
  auditLogPath: values['audit-log'],
  logger,
});
console.log(`apiserver listening on ${server.url}`);
console.log(`kubeconfig written to ${kubeconfigPath}`);
console.log(`try: KUBECONFIG=${kubeconfigPath} kubectl get namespaces`);

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void server.close().then(() => process.exit(0));
  });
}
