// A run that starts a lab takes it down however it ends: an uncaught exception, an unhandled rejection,
// SIGTERM or SIGINT. What the lab started is gone from the process table (not even a zombie) and its
// directory is removed by the time the process has exited.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect, test } from 'vitest';
import { labProcesses } from '../../../src/lab/lab.ts';
import { waitFor } from '../../../src/lab/proc.ts';

const fixture = join(import.meta.dirname, 'fixtures/lab-then-die.ts');

for (const how of ['throw', 'reject', 'SIGTERM', 'SIGINT'] as const) {
  test(`${how}: the lab is torn down before the process exits`, async () => {
    const child = execa(
      process.execPath,
      ['--import', 'tsx', fixture, how.startsWith('SIG') ? 'wait' : how],
      {
        cwd: join(import.meta.dirname, '../../..'),
        reject: false,
        env: { OVNK_LAB_ROOT: process.env.OVNK_LAB_ROOT },
      },
    );
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const dir = await waitFor(
      'the lab directory',
      () => out.split('\n').find((l) => l.startsWith('/')),
      30_000,
    );
    const pids = await waitFor('the lab daemons', () => {
      const p = labProcesses(dir);
      return p.length >= 2 && p;
    });
    if (how === 'SIGTERM' || how === 'SIGINT') child.kill(how);
    const result = await child;
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain('cleaning up what this run started');
    // the crash itself is reported, not swallowed by the cleanup
    if (how === 'throw') expect(result.stderr).toContain('an exception nobody catches');
    if (how === 'reject') expect(result.stderr).toContain('a rejection nobody handles');
    expect(existsSync(dir)).toBe(false);
    expect(pids.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
  }, 60_000);
}
