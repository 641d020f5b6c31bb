// Shared test plumbing: a server on port 0 with its kubeconfig, clients, kubectl, and waiting helpers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { execa } from 'execa';
import { type ApiServer, type ApiServerOptions, startApiServer } from '../../src/apiserver/server.ts';

export const crdDir = join(import.meta.dirname, '../../deploy/crds');

export interface TestServer {
  server: ApiServer;
  kc: KubeConfig;
  dir: string;
  close(): Promise<void>;
}

/** A kubeconfig for a plain-HTTP server on 127.0.0.1:port, which may not be listening yet. */
export function kubeconfigForPort(port: number): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

export async function startTestServer(opts: ApiServerOptions = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'apiserver-test-'));
  const server = await startApiServer({ kubeconfigPath: join(dir, 'kubeconfig'), ...opts });
  const kc = new KubeConfig();
  kc.loadFromString(server.kubeconfig);
  return {
    server,
    kc,
    dir,
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface StatusBody {
  kind: string;
  apiVersion: string;
  status: string;
  message: string;
  reason: string;
  code: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: { reason: string; message: string; field?: string }[];
  };
}

/** Runs a promise expected to fail with an ApiException; returns its code and Status body. */
export async function failure(p: Promise<unknown>): Promise<{ code: number; body: StatusBody }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiException) {
      const body = typeof e.body === 'string' ? (JSON.parse(e.body) as StatusBody) : (e.body as StatusBody);
      return { code: e.code, body };
    }
    throw e;
  }
  throw new Error('expected the call to fail');
}

/** Retries fn until it stops throwing (assertions inside), or rethrows its last error after timeoutMs. */
export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Raw HTTP for what typed clients cannot send (malformed bodies, odd content types). */
export async function raw(
  server: ApiServer,
  method: string,
  path: string,
  body?: string,
  contentType = 'application/json',
): Promise<{ code: number; json: Record<string, unknown> }> {
  const res = await fetch(server.url + path, {
    method,
    body,
    headers: body === undefined ? {} : { 'Content-Type': contentType },
  });
  const text = await res.text();
  return { code: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** The real kubectl against the server, with its own HOME so its discovery cache is the test's. */
export async function kubectl(
  t: TestServer,
  args: string[],
  input?: string,
): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const r = await execa('kubectl', args, {
    env: { KUBECONFIG: t.server.kubeconfigPath!, HOME: t.dir },
    input,
    reject: false,
    timeout: 20_000,
  });
  return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode ?? -1 };
}
