// The ustar writer behind the pause image: headers as POSIX lays them out, data in whole blocks, and the
// same bytes for the same contents (the layer digest depends on it).
import { describe, expect, test } from 'vitest';
import { tar } from '../../../src/lab/cri/tar.ts';

const field = (block: Buffer, offset: number, length: number): string =>
  block
    .subarray(offset, offset + length)
    .toString('latin1')
    .replace(/\0.*$/s, '');

describe('tar', () => {
  const data = Buffer.from('x'.repeat(700));
  const archive = tar([
    { name: 'pause', data, mode: 0o755 },
    { name: 'dir/empty.json', data: Buffer.alloc(0) },
  ]);

  test('each entry is a header block and its data padded to 512 bytes; two zero blocks end it', () => {
    // 512 header + 1024 data (700 padded) + 512 header + 0 data + 1024 end
    expect(archive.length).toBe(512 + 1024 + 512 + 1024);
    expect(archive.subarray(512, 512 + 700).equals(data)).toBe(true);
    expect(archive.subarray(512 + 700, 1536).every((b) => b === 0)).toBe(true);
    expect(archive.subarray(archive.length - 1024).every((b) => b === 0)).toBe(true);
  });

  test('header fields: name, octal mode, size and mtime, regular file, ustar magic, root owner', () => {
    const h = archive.subarray(0, 512);
    expect(field(h, 0, 100)).toBe('pause');
    expect(field(h, 100, 8)).toBe('0000755');
    expect(Number.parseInt(field(h, 124, 12), 8)).toBe(700);
    expect(field(h, 136, 12)).toBe('00000000000');
    expect(field(h, 156, 1)).toBe('0');
    expect(h.subarray(257, 265).toString('latin1')).toBe('ustar\u000000');
    expect(field(h, 265, 32)).toBe('root');
    const second = archive.subarray(1536, 2048);
    expect(field(second, 0, 100)).toBe('dir/empty.json');
    expect(field(second, 100, 8)).toBe('0000644');
  });

  test('checksum: the sum of the header bytes with the checksum field counted as spaces', () => {
    for (const offset of [0, 1536]) {
      const h = Buffer.from(archive.subarray(offset, offset + 512));
      const recorded = Number.parseInt(field(h, 148, 8), 8);
      h.fill(0x20, 148, 156);
      expect(recorded).toBe(h.reduce((sum, b) => sum + b, 0));
    }
  });

  test('the same entries give the same bytes', () => {
    expect(
      tar([{ name: 'pause', data, mode: 0o755 }]).equals(tar([{ name: 'pause', data, mode: 0o755 }])),
    ).toBe(true);
  });

  test('a name longer than the header holds is refused', () => {
    expect(() => tar([{ name: 'n'.repeat(101), data }])).toThrow(/does not fit/);
  });
});
