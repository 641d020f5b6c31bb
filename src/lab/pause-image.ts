// The pod sandbox ("pause") image, made here instead of pulled: a static binary from the project's own
// pause.c, packed as a docker-archive (what `docker save` writes) and imported into a containerd with ctr.
// Archives are cached by the content of pause.c, so they are built once per machine.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tar } from './cri/tar.ts';
import { run } from './proc.ts';

const PAUSE_SOURCE = fileURLToPath(new URL('./cri/pause.c', import.meta.url));

export interface PauseImage {
  /** The image reference containerd knows it by, e.g. ovnk.local/pause:3f2a9c01d4e5. */
  ref: string;
  /** The docker-archive tar. */
  archive: string;
}

const sha256 = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

const GOARCH: Partial<Record<NodeJS.Architecture, string>> = { x64: 'amd64', arm64: 'arm64' };

/** Compiles pause.c statically and returns the binary. */
async function compilePause(workDir: string): Promise<Buffer> {
  const out = join(workDir, 'pause');
  await run('gcc', ['-static', '-Os', '-s', '-o', out, PAUSE_SOURCE], { timeoutMs: 60_000 });
  return readFileSync(out);
}

/**
 * The archive's files: layer.tar holding /pause; the image config, named by its digest, whose rootfs.diff_ids
 * is the digest of layer.tar (containerd verifies it); manifest.json tying them to the tag.
 */
function dockerArchive(ref: string, pause: Buffer): Buffer {
  const layer = tar([{ name: 'pause', data: pause, mode: 0o755 }]);
  const layerDigest = sha256(layer);
  const architecture = GOARCH[process.arch];
  if (!architecture) throw new Error(`pause image: no image architecture for ${process.arch}`);
  const config = Buffer.from(
    JSON.stringify({
      architecture,
      os: 'linux',
      config: { Entrypoint: ['/pause'] },
      rootfs: { type: 'layers', diff_ids: [`sha256:${layerDigest}`] },
      history: [{ created_by: 'ovnk src/lab/pause-image.ts' }],
    }),
  );
  const configName = `${sha256(config)}.json`;
  const layerName = `${layerDigest}/layer.tar`;
  const manifest = Buffer.from(
    JSON.stringify([{ Config: configName, RepoTags: [ref], Layers: [layerName] }]),
  );
  return tar([
    { name: configName, data: config },
    { name: layerName, data: layer },
    { name: 'manifest.json', data: manifest },
  ]);
}

/** Builds the pause image archive in cacheDir unless an archive of the same pause.c is already there. */
export async function buildPauseImage(cacheDir: string): Promise<PauseImage> {
  const key = sha256(readFileSync(PAUSE_SOURCE)).slice(0, 12);
  const ref = `ovnk.local/pause:${key}`;
  const archive = join(cacheDir, `pause-${key}.tar`);
  if (existsSync(archive)) return { ref, archive };
  mkdirSync(cacheDir, { recursive: true });
  // built aside and renamed into place, so concurrent builders never see a half-written archive
  const work = join(cacheDir, `.build-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(work);
  try {
    const tmp = join(work, 'image.tar');
    writeFileSync(tmp, dockerArchive(ref, await compilePause(work)));
    renameSync(tmp, archive);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { ref, archive };
}

/** Imports the image into the CRI namespace of the containerd at `socket`, unpacked for its snapshotter. */
export async function importPauseImage(
  image: PauseImage,
  socket: string,
  snapshotter: string,
): Promise<void> {
  await run(
    'ctr',
    [
      '--address',
      socket,
      '--namespace',
      'k8s.io',
      'images',
      'import',
      '--snapshotter',
      snapshotter,
      image.archive,
    ],
    {
      timeoutMs: 60_000,
    },
  );
}
