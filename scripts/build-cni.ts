// Bundles the CNI plugin (src/cni/main.ts) into one executable file, `ovnk`, for the runtime's CNI bin dir.
//   node --import tsx scripts/build-cni.ts [outdir]      (default: dist/cni)
//
// Startup is most of the plugin's cost, so the bundle is built for it. Measured on this 2-core machine (Node
// 20.20, busy with other work), p50 of 60 interleaved spawns, wall / CPU ms: `node -e 0` 49.6 / 42.6, VERSION
// 52.2 / 45.2, ADD against an instant daemon 71.5 / 60.9 (bench/_cni-overhead.ts, quieter: 35 / 40 / 53 wall).
// - CommonJS: the same bundle as an ES module costs 20 ms more (VERSION 75.8 / 65.4): Node's ESM loader.
// - node:net is loaded only when the daemon is called, so VERSION and early errors do without it.
// - a minimal HTTP/1.0 client on node:net (src/cni/unix-http.ts): with node:http, ADD is 74.8 / 68.9.
// - the shebang drops NODE_EXTRA_CA_CERTS and NODE_OPTIONS from the runtime's env (see SHEBANG).
// Tried and not kept: minifying (VERSION 51.7 / 45.1, ADD 70.8 / 59.3: noise) and a user-land V8 startup
// snapshot (`--snapshot-blob`: no faster than Node's built-in one, plus a 4 MB file and a flag in the shebang).
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_OUT_DIR = join(root, 'dist', 'cni');
// The plugin runs with the runtime's environment. NODE_EXTRA_CA_CERTS makes Node 20 parse that CA file at
// startup (this machine's env sets it: 157 ms instead of 45 for `node -e 0`), and NODE_OPTIONS could load
// anything (an --import or --require) into the plugin; it needs neither. `env -S` needs GNU or BSD env.
const SHEBANG = '#!/usr/bin/env -S -u NODE_OPTIONS -u NODE_EXTRA_CA_CERTS node';

/** Builds `<outDir>/ovnk` and returns its path. */
export async function buildCniPlugin(outDir: string): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'ovnk');
  await build({
    entryPoints: [join(root, 'src', 'cni', 'main.ts')],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    banner: { js: SHEBANG },
    legalComments: 'none',
    logLevel: 'warning',
  });
  chmodSync(file, 0o755);
  // An extensionless file is CommonJS only outside a "type": "module" package (this repository is one); the
  // marker keeps a build inside the tree runnable. Installed alone (e.g. /opt/cni/bin) the file needs nothing.
  writeFileSync(join(outDir, 'package.json'), '{ "type": "commonjs" }\n');
  return file;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const out = await buildCniPlugin(resolve(process.argv[2] ?? DEFAULT_OUT_DIR));
  console.log(out);
}
