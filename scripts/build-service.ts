// Bundles one of the project's long-running programs (the node daemon, the controller) into a single ES
// module file for plain `node`, so that a restart does not pay for TypeScript loading and resolving
// thousands of files: on this 2-core machine the daemon's modules take 4.3 s to load through tsx (2.6 s of
// it @kubernetes/client-node) and 0.4 s as a bundle. The lab runs its daemons and controllers this way;
// it matters most when one crashes and must come back.
//   node --import tsx scripts/build-service.ts src/daemon/main.ts dist/ovnk-daemon.mjs
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Builds `outfile` from `entry` (relative to the repository root) and returns its absolute path. */
export async function buildService(entry: string, outfile: string): Promise<string> {
  const out = resolve(outfile);
  mkdirSync(dirname(out), { recursive: true });
  await build({
    entryPoints: [resolve(root, entry)],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    // some bundled CommonJS dependencies call require() for Node's own modules
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    legalComments: 'none',
    logLevel: 'warning',
  });
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const [entry, outfile] = process.argv.slice(2);
  if (!entry || !outfile) {
    console.error('usage: build-service.ts <entry.ts> <outfile.mjs>');
    process.exit(2);
  }
  console.log(await buildService(entry, outfile));
}
