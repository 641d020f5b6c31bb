import { constants } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ProtocolError } from '../../../src/ovsdb/errors.ts';
import { JsonFramer, MAX_DECODABLE_BYTES } from '../../../src/ovsdb/framer.ts';

/** Splits buf at the given cut points (bytes, not characters: multi-byte UTF-8 gets cut too). */
function cut(buf: Buffer, points: number[]): Buffer[] {
  const sorted = [...new Set(points.map((p) => p % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of sorted) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

const jsonValue = fc.jsonValue({ maxDepth: 4 });
const message = fc.record({
  id: fc.oneof(fc.integer(), fc.constant(null), fc.string()),
  method: fc.string({ unit: 'binary' }),
  params: fc.array(jsonValue, { maxLength: 4 }),
});

describe('JsonFramer', () => {
  test('any split of any stream of messages yields exactly the messages', () => {
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.constantFrom('', ' ', '\n', '\r\n\t'),
        (msgs, points, sep) => {
          const stream = Buffer.from(msgs.map((m) => JSON.stringify(m)).join(sep) + sep, 'utf8');
          const framer = new JsonFramer();
          const got = cut(stream, points).flatMap((c) => framer.push(c));
          expect(got).toEqual(msgs.map((m) => JSON.stringify(m)));
          expect(framer.pending).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('multi-byte UTF-8 split across chunks is decoded intact', () => {
    const text = JSON.stringify({ id: 1, result: ['żółć 🚀 网络 "quoted" \\ {braces} [brackets]'] });
    const buf = Buffer.from(text, 'utf8');
    for (let i = 1; i < buf.length; i++) {
      const f = new JsonFramer();
      const out = [...f.push(buf.subarray(0, i)), ...f.push(buf.subarray(i))];
      expect(out).toEqual([text]);
    }
  });

  test('a large message fed one byte at a time comes out whole', () => {
    const big = JSON.stringify({
      id: 1,
      result: Array.from({ length: 2000 }, (_, i) => ({ k: `v${i}`, n: [i] })),
    });
    const buf = Buffer.from(big);
    const f = new JsonFramer();
    const out: string[] = [];
    for (let i = 0; i < buf.length; i++) out.push(...f.push(buf.subarray(i, i + 1)));
    expect(out).toEqual([big]);
  });

  test('braces inside strings and escaped quotes do not end a message', () => {
    const f = new JsonFramer();
    const m = '{"a":"}\\"}{","b":["]"]}';
    expect(f.push(Buffer.from(m + m))).toEqual([m, m]);
  });

  test('bytes outside an object are a ProtocolError, and the framer can be reused after reset', () => {
    const f = new JsonFramer();
    expect(() => f.push(Buffer.from('garbage'))).toThrow(ProtocolError);
    expect(() => f.push(Buffer.from('{"ok":1} 42'))).toThrow(/expected '\{'/);
    expect(f.push(Buffer.from('{"ok":2}'))).toEqual(['{"ok":2}']);
  });

  test('a message over the size limit is refused instead of buffering without end', () => {
    const f = new JsonFramer(100);
    expect(() => f.push(Buffer.from(`{"a":"${'x'.repeat(200)}`))).toThrow(/larger than 100 bytes/);
  });

  test('a message over the limit is refused also when it ends within the chunk that crosses the limit', () => {
    const f = new JsonFramer(100);
    expect(() => f.push(Buffer.from(`{"a":"${'x'.repeat(200)}"}`))).toThrow(/larger than 100 bytes/);
    expect(f.push(Buffer.from('{"ok":1}'))).toEqual(['{"ok":1}']);
  });

  test('the limit never exceeds what can be decoded (a longer string cannot exist in V8)', () => {
    expect(MAX_DECODABLE_BYTES).toBe(constants.MAX_STRING_LENGTH);
    expect(new JsonFramer().maxMessageBytes).toBe(MAX_DECODABLE_BYTES);
    expect(new JsonFramer(2 ** 31).maxMessageBytes).toBe(MAX_DECODABLE_BYTES);
  });
});
