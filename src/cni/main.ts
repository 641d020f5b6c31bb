// The `ovnk` CNI plugin executable: read stdin, run the invocation, print one JSON document (or nothing) on
// stdout, logs on stderr, exit 0 or 1. Bundled into one file by scripts/build-cni.ts; imports node: builtins and
// src/cni only, so that it starts fast.
import { readFileSync, writeSync } from 'node:fs';
import { asCniError, CniError, ErrorCode } from './errors.ts';
import { callerVersion } from './netconf.ts';
import { runPlugin } from './plugin.ts';

let stdin = '';
let done = false;

function errnoOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

/** All of stdin. Synchronous (no stream machinery to load) unless stdin is a non-blocking pipe. */
async function readStdin(): Promise<string> {
  try {
    return readFileSync(0, 'utf8');
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'EBADF') return ''; // no stdin at all
    if (code !== 'EAGAIN') throw new CniError(ErrorCode.IoFailure, 'cannot read stdin', String(e));
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Writes all of text to stdout; synchronous unless stdout is a non-blocking pipe. EPIPE is ignored. */
function writeStdout(text: string): Promise<void> {
  const buf = Buffer.from(text);
  let off = 0;
  try {
    while (off < buf.length) off += writeSync(1, buf, off);
    return Promise.resolve();
  } catch (e) {
    if (errnoOf(e) !== 'EAGAIN') return Promise.resolve();
  }
  return new Promise((resolve) => {
    process.stdout.on('error', () => resolve());
    process.stdout.write(buf.subarray(off), () => resolve());
  });
}

async function finish(output: Record<string, unknown> | undefined, exitCode: number): Promise<never> {
  done = true;
  if (output !== undefined) await writeStdout(`${JSON.stringify(output)}\n`);
  process.exit(exitCode);
}

function logError(error: CniError): void {
  const env = process.env;
  const what = [env.CNI_COMMAND, env.CNI_CONTAINERID, env.CNI_IFNAME].filter(Boolean).join(' ');
  const details = error.details ? ` (${error.details.split('\n')[0]})` : '';
  try {
    // synchronous, like stdout: the process exits right after
    writeSync(2, `ovnk: ${what}: error ${error.code}: ${error.message}${details}\n`);
  } catch {
    // nowhere to log to
  }
}

// A bug must still end in a CNI error on stdout, not in a stack trace and a non-JSON stdout.
process.on('uncaughtException', (e) => {
  if (done) process.exit(1);
  const error = asCniError(e);
  logError(error);
  void finish({ ...error.toJson(callerVersion(stdin)) }, 1);
});

async function main(): Promise<void> {
  try {
    stdin = await readStdin();
  } catch (e) {
    const error = asCniError(e);
    logError(error);
    return finish({ ...error.toJson(callerVersion('')) }, 1);
  }
  const outcome = await runPlugin(process.env, stdin);
  if (outcome.error) logError(outcome.error);
  return finish(outcome.output, outcome.exitCode);
}

void main();
