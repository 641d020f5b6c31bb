// How long a stream of probe replies went silent: the connectivity a fault cost. Pure.

/**
 * The longest silence overlapping [from, to) in a sorted list of reply times (ms), less the one interval
 * that separates replies anyway. A gap of up to twice the interval is one late reply, not an outage. A
 * silence still going on at `to` counts up to `to`.
 */
export function longestSilenceMs(
  replies: readonly number[],
  from: number,
  to: number,
  intervalMs: number,
): number {
  let worst = 0;
  const consider = (start: number, end: number) => {
    if (end <= from || start >= to) return;
    const gap = end - start;
    if (gap > 2 * intervalMs) worst = Math.max(worst, gap - intervalMs);
  };
  let previous: number | undefined;
  for (const t of replies) {
    if (previous !== undefined) consider(previous, t);
    previous = t;
    if (t >= to) break;
  }
  if (previous !== undefined && previous < to) consider(previous, to);
  return Math.round(worst);
}
