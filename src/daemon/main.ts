// The node daemon process: `node --import tsx src/daemon/main.ts --node-name N [--kubeconfig F]
// [--ovs-socket /run/openvswitch/db.sock] [--bind-socket /run/ovnk/daemon.sock] [--mtu 1400]`.
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { logProcessExit } from '../controller/exit-log.ts';
import { loadDaemonConfig } from './config.ts';
import { Daemon } from './daemon.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  strict: false,
  options: { kubeconfig: { type: 'string' }, 'log-level': { type: 'string', default: 'info' } },
});
const config = loadDaemonConfig(process.argv.slice(2), process.env);
const log = pino({
  level: String(values['log-level']),
  base: { component: 'ovnk-daemon', node: config.nodeName },
});
logProcessExit(log);
const kc = new KubeConfig();
if (typeof values.kubeconfig === 'string') kc.loadFromFile(values.kubeconfig);
else kc.loadFromDefault();

const daemon = await Daemon.start({
  kc,
  config,
  log,
  logLevel: { get: () => log.level, set: (l) => (log.level = l) },
});
const shutdown = async () => {
  await daemon.stop();
  process.exit(0);
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
