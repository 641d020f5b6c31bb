// Every way a long-lived component can end leaves a line in its log: an exception, an unhandled rejection,
// a signal, or an event loop that ran empty. The last one is how the lab kubelets once vanished without a
// word when the API server restarted (their retry timer did not keep the process alive).
import type { Logger } from './deps.ts';

export function logProcessExit(log: Logger): void {
  process.on('uncaughtException', (err) => {
    log.error({ err: err.stack ?? String(err) }, 'uncaught exception; exiting');
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    log.error(
      { err: reason instanceof Error ? reason.stack : String(reason) },
      'unhandled rejection; exiting',
    );
    process.exit(1);
  });
  // 'exit' handlers run synchronously; pino's default destination writes synchronously, so this line lands
  process.on('exit', (code) => log.info({ code }, 'process exiting'));
}
