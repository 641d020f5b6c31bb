// What a run starts (a lab, its daemons, a benchmark's API server) must not outlive it, however it ends.
// Cleanups registered here run, last registered first, when the process is told to stop (SIGINT, SIGTERM,
// SIGHUP) and, once an entry point has called cleanUpOnCrash(), on an uncaught exception or an unhandled
// rejection too; then the process exits. A normal return is the caller's own business (its finally blocks,
// or `lab up`, whose cluster is meant to outlive it).
// Listeners are added with on(), not once(): execa's signal-exit re-raises a signal when it sees no other
// listener, and a once() listener is already removed by then, which would kill the process mid-cleanup.

type Cleanup = () => unknown;

const cleanups: Cleanup[] = [];
let signalsHooked = false;
let crashesHooked = false;
let ending = false;

/** Runs `fn` if the process is stopped or crashes before the returned function is called. */
export function atExit(fn: Cleanup): () => void {
  cleanups.push(fn);
  hookSignals();
  return () => {
    const i = cleanups.lastIndexOf(fn);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

/** For a program's entry point: an uncaught exception or unhandled rejection also runs the cleanups. */
export function cleanUpOnCrash(): void {
  if (crashesHooked) return;
  crashesHooked = true;
  process.on('uncaughtException', (e) => void end(1, e));
  process.on('unhandledRejection', (e) => void end(1, e));
}

function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  const codes = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;
  for (const [signal, code] of Object.entries(codes))
    process.on(signal, () => void end(code, undefined, signal));
}

async function end(code: number, error?: unknown, signal?: string): Promise<void> {
  if (ending) return;
  ending = true;
  if (error !== undefined)
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  if (cleanups.length > 0)
    process.stderr.write(`${signal ?? 'crashed'}: cleaning up what this run started\n`);
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      await fn();
    } catch (e) {
      process.stderr.write(`cleanup failed: ${(e as Error).message ?? String(e)}\n`);
    }
  }
  process.exit(code);
}
