// A minimal POSIX ustar writer for image archives: regular files only, owned by root, mtime 0, so the same
// contents always give the same bytes (and so the same layer digest).

export interface TarEntry {
  /** Path inside the archive, relative, at most 100 bytes. */
  name: string;
  data: Uint8Array;
  /** Permission bits, default 0o644. */
  mode?: number;
}

const BLOCK = 512;

function writeString(header: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new Error(`tar: "${value}" does not fit in ${length} bytes`);
  bytes.copy(header, offset);
}

/** An octal number, zero-padded, NUL-terminated, filling `length` bytes. */
function writeOctal(header: Buffer, offset: number, length: number, value: number): void {
  const digits = value.toString(8);
  if (digits.length > length - 1) throw new Error(`tar: ${value} does not fit in ${length} bytes`);
  writeString(header, offset, length, `${digits.padStart(length - 1, '0')}\0`);
}

function header(entry: TarEntry): Buffer {
  const h = Buffer.alloc(BLOCK);
  writeString(h, 0, 100, entry.name);
  writeOctal(h, 100, 8, entry.mode ?? 0o644);
  writeOctal(h, 108, 8, 0); // uid
  writeOctal(h, 116, 8, 0); // gid
  writeOctal(h, 124, 12, entry.data.length);
  writeOctal(h, 136, 12, 0); // mtime
  h.write('        ', 148, 'latin1'); // checksum field counts as spaces while summing
  h.write('0', 156, 'latin1'); // regular file
  writeString(h, 257, 6, 'ustar\0');
  writeString(h, 263, 2, '00');
  writeString(h, 265, 32, 'root');
  writeString(h, 297, 32, 'root');
  let sum = 0;
  for (const b of h) sum += b;
  writeString(h, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

/** The archive: each entry's header and its data padded to whole blocks, then two zero blocks. */
export function tar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(header(e), Buffer.from(e.data));
    const pad = (BLOCK - (e.data.length % BLOCK)) % BLOCK;
    if (pad > 0) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}
