// The committed typed rows must match what the generator makes from the schemas Debian ships.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { GENERATED_DIR, generate, SOURCES } from '../../../scripts/gen-ovsdb-types.ts';

describe('generated OVSDB types', () => {
  for (const s of SOURCES) {
    test.skipIf(!existsSync(s.file))(`${s.out} is up to date with ${s.file} (npm run gen:schema)`, () => {
      const expected = generate(JSON.parse(readFileSync(s.file, 'utf8')), s.file);
      expect(readFileSync(join(GENERATED_DIR, s.out), 'utf8')).toBe(expected);
    });
  }
});
