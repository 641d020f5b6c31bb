// `npm run bench -- <name> [args...]` runs bench/<name>.ts. Each benchmark prints a table
// and, as its very last line, one JSON object with its figures.
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cleanUpOnCrash } from '../src/lab/exit-cleanup.ts';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
  .sort();

const name = process.argv[2];
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <name>\navailable: ${available.join(', ') || '(none)'}`);
  process.exit(2);
}
const file = join(here, `${name}.ts`);
if (!existsSync(file)) process.exit(2);
process.argv.splice(2, 1);
// a benchmark that crashes (an EPIPE from a child, a rejection nobody awaited) still takes its lab down
cleanUpOnCrash();
await import(pathToFileURL(file).href);
