// The daemon's coalesced reconciles: one run at a time, one more for any number of triggers during a run,
// none after close().
import { expect, test } from 'vitest';
import { Coalesced } from '../../../src/daemon/coalesced.ts';

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

test('triggers during a run cost exactly one more run; none overlap', async () => {
  let runs = 0;
  let active = 0;
  let most = 0;
  const gates = [gate(), gate()];
  const c = new Coalesced(async () => {
    active++;
    most = Math.max(most, active);
    await gates[runs++]?.opened;
    active--;
  });
  c.trigger();
  c.trigger();
  c.trigger();
  c.trigger();
  expect(runs).toBe(1);
  gates[0]!.open();
  await new Promise((r) => setTimeout(r, 0));
  expect(runs).toBe(2);
  gates[1]!.open();
  await c.settled();
  expect(runs).toBe(2);
  expect(most).toBe(1);
});

test('after close() nothing more runs, and close waits for the run under way', async () => {
  let runs = 0;
  const g = gate();
  const c = new Coalesced(async () => {
    runs++;
    await g.opened;
  });
  c.trigger();
  c.trigger();
  const closed = c.close();
  g.open();
  await closed;
  c.trigger();
  await c.settled();
  expect(runs).toBe(1);
});
