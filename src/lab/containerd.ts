// A private containerd 1.6 with its CRI plugin, as a real CNI runtime for tests: it invokes the CNI
// plugins of the given directories exactly as it does under kubelet (ADD on RunPodSandbox, DEL with the
// netns on StopPodSandbox, DEL with an empty netns on RemovePodSandbox). It keeps all its state under one
// directory, and stop() leaves nothing behind: no sandbox, process, mount or pod network namespace.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { execa } from 'execa';
import { containerdConfig } from './containerd-config.ts';
import {
  containerdProcesses,
  descendantsOf,
  idsInLog,
  missingDirs,
  netnsOf,
  removeCgroup,
  removeCniCache,
  removeEmptyDirs,
  removeShimSockets,
  sweepContainerd,
} from './containerd-sweep.ts';
import { CriClient, CriError } from './cri/client.ts';
import { buildPauseImage, importPauseImage } from './pause-image.ts';
import { terminate } from './proc.ts';

export interface ContainerdOptions {
  /** Config, socket, root, state, runc state and log all go here (created if missing). */
  dir: string;
  /**
   * Where the CRI plugin looks for CNI plugin binaries. containerd 1.6 brings each sandbox's lo up with the
   * `loopback` plugin from here, so it must be there too (e.g. a link to /usr/lib/cni/loopback).
   */
  cniBinDir: string;
  /** Where the CRI plugin looks for the CNI network config (it loads the first one, by name). */
  cniConfDir: string;
  /** Where the pause image archive is cached between runs (default: <tmpdir>/ovnk-image-cache). */
  imageCacheDir?: string;
  /** How long containerd may take to answer on its CRI socket (default 30 s). */
  readyTimeoutMs?: number;
}

export interface Containerd {
  readonly dir: string;
  readonly socket: string;
  readonly cri: CriClient;
  readonly pid: number;
  /** The sandbox image reference (imported at start). */
  readonly pauseImage: string;
  /** The cgroup sandboxes go into unless their config names one (removed at stop). */
  readonly cgroupParent: string;
  /** containerd's own log (stdout and stderr). */
  readonly logFile: string;
  /** Milliseconds from spawn to the CRI answering Version, and for importing the pause image. */
  readonly timings: { criReadyMs: number; imageImportMs: number };
  /** Stops and removes every sandbox, kills containerd and whatever it left. Safe to call twice. */
  stop(): Promise<void>;
}

const CRI_CLEANUP_MS = 30_000;
const SNAPSHOTTER = 'native'; // plain directories: no overlay mounts, nothing kernel-specific

/** Shared places containerd 1.6 writes to whatever its config says: shim sockets, libcni's result cache. */
const SHARED_DIRS = ['/run/containerd', '/run/containerd/s', '/var/lib/cni', '/var/lib/cni/results'];

/**
 * Which of SHARED_DIRS this process's containerds created; removed (when empty) once the last of them
 * stops, since containerds of one test file overlap.
 */
const shared = { live: 0, created: new Set<string>() };

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export async function startContainerd(opts: ContainerdOptions): Promise<Containerd> {
  const { dir } = opts;
  if (!existsSync(join(opts.cniBinDir, 'loopback'))) {
    throw new Error(`containerd: no loopback plugin in ${opts.cniBinDir} (it sets up every sandbox's lo)`);
  }
  mkdirSync(dir, { recursive: true });
  const image = await buildPauseImage(opts.imageCacheDir ?? join(tmpdir(), 'ovnk-image-cache'));
  const socket = join(dir, 'containerd.sock');
  const configFile = join(dir, 'config.toml');
  const logFile = join(dir, 'containerd.log');
  writeFileSync(
    configFile,
    containerdConfig({
      dir,
      socket,
      sandboxImage: image.ref,
      snapshotter: SNAPSHOTTER,
      cniBinDir: opts.cniBinDir,
      cniConfDir: opts.cniConfDir,
    }),
  );

  // sandboxes go into a cgroup of this containerd's own, removed at stop
  const cgroupParent = `/ovnk-ctrd-${createHash('sha256').update(dir).digest('hex').slice(0, 10)}`;
  const started = Date.now();
  const child = execa('containerd', ['--config', configFile], {
    stdin: 'ignore',
    stdout: { file: logFile, append: true },
    stderr: { file: logFile, append: true },
    reject: false,
    // containerd looks runc and the shim up on PATH; CNI plugins get containerd's environment too
    env: { PATH: `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/sbin:/sbin` },
  });
  let exited = false;
  const done = child.then(() => {
    exited = true;
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`containerd did not start:\n${tail(logFile)}`);
  // (containerd makes them only when it first starts a shim or calls a CNI plugin, after this)
  for (const d of missingDirs(SHARED_DIRS)) shared.created.add(d);
  shared.live++;
  const cri = new CriClient(socket, { cgroupParent });

  /** Netns seen in use by this containerd's sandboxes, so stop() can remove them whatever state it is in. */
  const seenNetns = new Set<string>();
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      // as kubelet does: stop then remove each sandbox; containerd runs the CNI DELs and frees the netns.
      // Bounded, since a CNI plugin under test may hang: the sweep below cleans up without containerd.
      const bound = sleep(CRI_CLEANUP_MS, undefined, { ref: false });
      await Promise.race([removeAllSandboxes(cri, seenNetns), bound]);
    }
    // sandboxes that are still up: their pause processes tell which netns are theirs
    for (const n of netnsOf(descendantsOf(containerdProcesses(dir)))) seenNetns.add(n);
    cri.close();
    // every step runs even if one fails; the failures are reported together at the end
    const failures: string[] = [];
    const step = async (what: string, fn: () => unknown): Promise<void> => {
      try {
        await fn();
      } catch (e) {
        failures.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
      }
    };
    // containerd and its shims by their command lines, and everything under them
    await step('sweep', () => sweepContainerd(dir, seenNetns));
    await step('containerd', async () => {
      await terminate(pid, 5_000);
      await done;
    });
    await step('cgroup', () => removeCgroup(cgroupParent));
    await step('shared files', () => {
      const ids = idsInLog(logFile);
      removeCniCache(ids);
      removeShimSockets(socket, ids);
    });
    if (--shared.live === 0) {
      removeEmptyDirs([...shared.created]);
      shared.created.clear();
    }
    if (failures.length > 0)
      throw new Error(`containerd in ${dir}: stop left work undone:\n  ${failures.join('\n  ')}`);
  };

  try {
    await waitForCri(cri, () => exited, opts.readyTimeoutMs ?? 30_000);
    const criReadyMs = Date.now() - started;
    const importStart = Date.now();
    await importPauseImage(image, socket, SNAPSHOTTER);
    // the CRI plugin learns about imported images from containerd's events, a moment later
    await waitUntil(
      'the CRI plugin to see the pause image',
      10_000,
      async () => !!(await cri.imageStatus(image.ref)),
    );
    const imageImportMs = Date.now() - importStart;
    return {
      dir,
      socket,
      cri,
      pid,
      pauseImage: image.ref,
      cgroupParent,
      logFile,
      timings: { criReadyMs, imageImportMs },
      stop,
    };
  } catch (e) {
    await stop();
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(`containerd in ${dir}: ${why}\n--- ${logFile} (tail) ---\n${tail(logFile)}`);
  }
}

/** Stops and removes every sandbox containerd knows, noting their netns; failures are left to the sweep. */
async function removeAllSandboxes(cri: CriClient, netns: Set<string>): Promise<void> {
  const sandboxes = await cri.listPodSandbox().catch(() => []);
  await Promise.allSettled(
    sandboxes.map(async (s) => {
      const path = (await cri.podSandboxStatus(s.id).catch(() => undefined))?.netnsPath;
      if (path?.startsWith('/var/run/netns/') || path?.startsWith('/run/netns/')) {
        netns.add(path.slice(path.lastIndexOf('/') + 1));
      }
      await cri.stopPodSandbox(s.id);
      await cri.removePodSandbox(s.id);
    }),
  );
}

async function waitForCri(cri: CriClient, exited: () => boolean, timeoutMs: number): Promise<void> {
  await waitUntil('the CRI socket to answer Version', timeoutMs, async () => {
    if (exited()) throw new Error(FATAL_EXITED);
    if (!existsSync(cri.socket)) return false;
    try {
      await cri.version(1_000);
    } catch (e) {
      // containerd is up but without the CRI plugin (it logs why): waiting longer will not help
      if (e instanceof CriError && e.code === grpc.status.UNIMPLEMENTED) throw new Error(FATAL_NO_CRI);
      throw e;
    }
    return true;
  });
}

const FATAL_EXITED = 'containerd exited';
const FATAL_NO_CRI = 'containerd runs without its CRI plugin (see "failed to load plugin" in its log)';

/** Polls until probe() returns true; a fatal error ends the wait at once. */
async function waitUntil(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      if (await probe()) return;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
      if (last === FATAL_EXITED || last === FATAL_NO_CRI) throw new Error(last);
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${last}`);
    await sleep(20);
  }
}
