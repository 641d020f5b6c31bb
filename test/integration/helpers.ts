// Shared fixtures for integration tests: a lab per test file, stopped even when tests fail.

import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll } from 'vitest';
import { Lab, type LabOptions } from '../../src/lab/lab.ts';

/** Starts a lab before the file's tests and stops it after them; read `.lab` inside tests. */
export function useLab(opts: LabOptions = {}): { readonly lab: Lab } {
  const holder: { lab?: Lab } = {};
  beforeAll(async () => {
    holder.lab = await Lab.start(opts);
  }, 60_000);
  afterAll(async () => {
    await holder.lab?.stop();
  }, 60_000);
  return {
    get lab() {
      if (!holder.lab) throw new Error('lab not started');
      return holder.lab;
    },
  };
}

/**
 * Waits until check() stops throwing (and does not return false), for state that arrives asynchronously.
 * On timeout the last assertion error is thrown as it is, so the test report shows its diff.
 */
export async function eventually(check: () => unknown | Promise<unknown>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let error: unknown;
    try {
      if ((await check()) !== false) return;
      error = new Error('condition still false');
    } catch (e) {
      error = e;
    }
    if (Date.now() > deadline) throw error;
    await sleep(25);
  }
}

/** GET over a unix socket (the lab's debug endpoints listen on sockets): status and body. */
export function getUnix(socketPath: string, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET' }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}
