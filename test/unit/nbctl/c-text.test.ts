// C's strcmp and printf padding, which ovn-nbctl's sorting and columns are made of.
import { describe, expect, test } from 'vitest';
import { byteLength, compareText, formatReal, padEnd, padStart, strcmp } from '../../../src/nbctl/c-text.ts';

describe('strcmp', () => {
  test('orders like the bytes of the UTF-8 text', () => {
    const words = ['b', 'a', 'B', 'ab', 'a-b', 'a_b', '', 'é', 'z', '\u{1F600}', '\uFF5E'];
    const byBytes = [...words].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...words].sort(strcmp)).toEqual(byBytes);
    // UTF-16 code units put U+FF5E after the surrogate pair of U+1F600; UTF-8 puts it before
    expect(compareText('\uFF5E', '\u{1F600}')).toBe(-1);
    expect(compareText('x', 'x')).toBe(0);
  });
});

describe('printf padding', () => {
  test('%-20.16s truncates and pads in bytes', () => {
    expect(padEnd('svc-web', 20, 16)).toBe('svc-web             ');
    expect(padEnd('a-very-long-load-balancer-name', 20, 16)).toBe('a-very-long-load    ');
    expect(padEnd('VIP', 2, 0)).toBe('  ');
    expect(byteLength('é')).toBe(2);
    expect(padEnd('é', 4)).toBe('é  ');
    // truncation keeps whole characters
    expect(padEnd('aé', 3, 2)).toBe('a  ');
  });

  test('%Ns pads on the left and never truncates', () => {
    expect(padStart('dst-ip', 10)).toBe('    dst-ip');
    expect(padStart('0123456789ab', 10)).toBe('0123456789ab');
  });
});

describe('%.15g', () => {
  test.each([
    [1.5, '1.5'],
    [100, '100'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [1e20, '1e+20'],
    [1234567890123456.8, '1.23456789012346e+15'],
    [0.1 + 0.2, '0.3'],
    [-2.5, '-2.5'],
    [0, '0'],
  ])('%d -> %s', (x, s) => expect(formatReal(x)).toBe(s));
});
