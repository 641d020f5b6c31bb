// The controller fuzzed through the API with random Subnets, Vpcs, IPPools, IP CRs and pods (see
// src/chaos/fuzz/api-objects.ts): no crash, no hang, every accepted object answered, the baseline untouched.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fuzzApiObjects } from '../../../src/chaos/fuzz/api-objects.ts';
import { useControllerStack } from './harness.ts';

const CASES = Number(process.env.FUZZ_CASES ?? 250);
const SEED = Number(process.env.FUZZ_SEED ?? 20261210);

const s = useControllerStack();

// the controller runs in this process: it has crashed if anything escaped it
const escaped: unknown[] = [];
const onEscape = (e: unknown) => escaped.push(e);
beforeAll(() => {
  process.on('uncaughtException', onEscape);
  process.on('unhandledRejection', onEscape);
});
afterAll(() => {
  process.off('uncaughtException', onEscape);
  process.off('unhandledRejection', onEscape);
});

describe('controller fuzzed with random API objects', () => {
  test(`${CASES} cases, seed ${SEED}: no crash, no hang, no violation`, async () => {
    const started = performance.now();
    const report = await fuzzApiObjects({
      kubeconfig: s.api.kubeconfig,
      nbRemote: s.controller.deps.config.nbRemotes,
      isControllerAlive: () => escaped.length === 0,
      cases: CASES,
      seed: SEED,
    });
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `api-objects: ${report.cases} cases (${report.rejected} rejected by the API) in ${seconds.toFixed(1)} s, ` +
        `${(report.cases / seconds).toFixed(1)} cases/s; crashes ${report.crashes}, hangs ${report.hangs}, ` +
        `violations ${report.violations}`,
    );
    expect(escaped.map(String)).toEqual([]);
    expect(report.failures).toEqual([]);
    expect(report.cases).toBe(CASES);
    expect([report.crashes, report.hangs, report.violations]).toEqual([0, 0, 0]);
  }, 300_000);
});
