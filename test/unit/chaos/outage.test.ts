import { describe, expect, test } from 'vitest';
import { longestSilenceMs } from '../../../src/chaos/outage.ts';

const every100 = (from: number, to: number) =>
  Array.from({ length: (to - from) / 100 }, (_, i) => from + i * 100);

describe('longestSilenceMs', () => {
  test('a steady stream has no outage; one late reply is not one', () => {
    expect(longestSilenceMs(every100(0, 5000), 1000, 4000, 100)).toBe(0);
    expect(longestSilenceMs([0, 100, 290, 400], 0, 500, 100)).toBe(0);
  });

  test('a silence inside the window counts less one interval', () => {
    const replies = [...every100(0, 2000), ...every100(3500, 5000)];
    expect(longestSilenceMs(replies, 1500, 4000, 100)).toBe(3500 - 1900 - 100);
  });

  test('a silence that only overlaps the window counts; one wholly outside does not', () => {
    const replies = [...every100(0, 1000), ...every100(2000, 5000)];
    expect(longestSilenceMs(replies, 1500, 3000, 100)).toBe(1000);
    expect(longestSilenceMs(replies, 2500, 3000, 100)).toBe(0);
  });

  test('a silence still going on at the end of the window counts up to it', () => {
    expect(longestSilenceMs(every100(0, 1000), 500, 3000, 100)).toBe(3000 - 900 - 100);
  });

  test('the longest of several silences', () => {
    const replies = [0, 100, 600, 700, 2700, 2800];
    expect(longestSilenceMs(replies, 0, 3000, 100)).toBe(1900);
  });
});
