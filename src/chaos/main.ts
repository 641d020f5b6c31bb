// `npm run chaos [-- --rounds N --minutes M --only a,b --no-fuzz]`: the chaos run on a fresh lab. Prints a
// line per fault as it goes, then the tables, and as its last line one JSON object with the figures.
import { parseArgs } from 'node:util';
import { cleanUpOnCrash } from '../lab/exit-cleanup.ts';
import { acquireMachineLock, releaseMachineLock } from '../lab/machine-lock.ts';
import { runFuzzers } from './fuzzers.ts';
import { runChaos } from './run.ts';
import { formatReport, summary } from './summary.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    rounds: { type: 'string', default: '3' },
    // the acceptance bound is 15 minutes for the whole run; faults stop starting after this
    minutes: { type: 'string', default: '9' },
    only: { type: 'string' },
    'no-fuzz': { type: 'boolean', default: false },
    'fuzz-scale': { type: 'string', default: '1' },
    seed: { type: 'string' },
    'keep-logs': { type: 'string' },
  },
});

const seed = values.seed ? Number(values.seed) : Date.now() % 1_000_000;
const say = (line: string) => process.stderr.write(`${line}\n`);
// an exception or rejection nobody handles still takes the lab down (Lab.start registers it)
cleanUpOnCrash();
// the tests' leak checks look at the whole machine: a chaos lab must not run alongside them
await acquireMachineLock('chaos run');
process.once('exit', releaseMachineLock);
const report = await runChaos({
  rounds: Number(values.rounds),
  budgetMs: Number(values.minutes) * 60_000,
  only: values.only?.split(','),
  say,
  keepLogs: values['keep-logs'],
  extra: values['no-fuzz']
    ? undefined
    : (cluster, kc) => runFuzzers(cluster, kc, { seed, scale: Number(values['fuzz-scale']), say }),
});
process.stdout.write(formatReport(report));
const s = summary(report, seed);
process.stdout.write(`${JSON.stringify(s)}\n`);
process.exit(
  s.duplicate_ips +
    s.leaked_objects +
    s.stuck_pods +
    s.fuzz_crashes +
    s.fuzz_hangs +
    s.fuzz_violations +
    s.fault_errors ===
    0
    ? 0
    : 1,
);
