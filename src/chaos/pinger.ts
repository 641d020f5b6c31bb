// A long-lived ping from one pod to another, kept running for a whole chaos run: every reply's time is
// recorded (ping -D prints it), so the silence a fault caused can be measured afterwards to the interval.
// One ping process per pair is the cheapest honest probe: no process per probe, the kernel does the timing.
import { createInterface } from 'node:readline';
import { execa, type ResultPromise } from 'execa';

export class Pinger {
  /** Reply times, ms since the epoch, in order. */
  readonly replies: number[] = [];
  private readonly proc: ResultPromise<{ buffer: false; reject: false }>;

  constructor(
    readonly label: string,
    netns: string,
    target: string,
    readonly intervalMs = 100,
  ) {
    // -W bounds how long a reply counts as late rather than lost; -n keeps ping from resolving names
    this.proc = execa(
      'ip',
      ['netns', 'exec', netns, 'ping', '-D', '-n', '-i', String(intervalMs / 1000), '-W', '1', target],
      { buffer: false, reject: false },
    );
    const lines = createInterface({ input: this.proc.stdout! });
    lines.on('line', (line) => {
      const m = /^\[(\d+\.\d+)\] \d+ bytes from /.exec(line);
      if (m) this.replies.push(Math.round(Number(m[1]) * 1000));
    });
  }

  get lastReplyAt(): number {
    return this.replies.at(-1) ?? 0;
  }

  /** Whether it got a reply within the last `ms`. */
  answering(ms = 3 * this.intervalMs, now = Date.now()): boolean {
    return now - this.lastReplyAt <= ms;
  }

  get running(): boolean {
    return this.proc.exitCode === null && !this.proc.killed;
  }

  async stop(): Promise<void> {
    this.proc.kill('SIGINT');
    await this.proc;
  }
}
