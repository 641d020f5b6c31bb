// One CNI invocation, from env + stdin to what goes on stdout and the exit code. No I/O of its own besides the
// daemon call, which is passed in so the dispatch can be tested without processes.
import type { DaemonRequest } from './daemon-client.ts';
import { type CniEnv, parseCommand, parseEnv } from './env.ts';
import { asCniError, type CniError } from './errors.ts';
import { callerVersion, parseNetConf, versionInfo } from './netconf.ts';
import { resultForVersion } from './result.ts';

export type CallDaemon = (
  socketPath: string,
  body: DaemonRequest,
  timeoutMs: number,
  daemonWaitMs: number,
) => Promise<Record<string, unknown>>;

// Loaded on first use: VERSION and the errors found before the call skip loading node:net.
const callDaemonLazily: CallDaemon = async (socketPath, body, timeoutMs, daemonWaitMs) =>
  (await import('./daemon-client.ts')).callDaemon(socketPath, body, timeoutMs, daemonWaitMs);

export interface Outcome {
  /** The one JSON document for stdout; absent for a successful DEL, CHECK, GC or STATUS. */
  output?: Record<string, unknown>;
  exitCode: 0 | 1;
  error?: CniError;
}

export async function runPlugin(
  env: Readonly<Record<string, string | undefined>>,
  stdin: string,
  call: CallDaemon = callDaemonLazily,
): Promise<Outcome> {
  // errors are printed in the caller's version when stdin tells it, even if the env is what is wrong
  const version = callerVersion(stdin);
  try {
    if (parseCommand(env) === 'VERSION') return { output: versionInfo(stdin), exitCode: 0 };
    const cni: CniEnv = parseEnv(env);
    const conf = parseNetConf(stdin, cni.command);
    const answer = await call(
      conf.serverSocket,
      {
        command: cni.command,
        cniVersion: conf.cniVersion,
        containerId: cni.containerId,
        netns: cni.netns,
        ifName: cni.ifName,
        podName: cni.podName,
        podNamespace: cni.podNamespace,
        podUid: cni.podUid,
        config: conf.raw,
      },
      conf.timeoutMs,
      conf.daemonWaitMs,
    );
    if (cni.command === 'ADD') return { output: resultForVersion(answer, conf.cniVersion), exitCode: 0 };
    return { exitCode: 0 };
  } catch (e) {
    const error = asCniError(e);
    return { output: { ...error.toJson(version) }, exitCode: 1, error };
  }
}
