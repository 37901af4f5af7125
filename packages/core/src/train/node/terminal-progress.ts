import cliProgress from 'cli-progress';
import { ConfigError } from '../../errors.js';
import type { Logs, TrainingCallback } from '../callbacks.js';
import { formatLogs } from '../format-logs.js';

/** Where progress goes: process.stdout, or any writable (tests pass one). */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface TerminalProgressOptions {
  /** Default process.stdout. */
  stream?: ProgressStream;
  /** Draw a progress bar (default: whether `stream` is a TTY); otherwise write plain lines. */
  tty?: boolean;
  /** Without a TTY, also write a line every `logEvery` batches (default 100; 0 for epoch lines only). */
  logEvery?: number;
  /** Batches per epoch for the bar's total; without it each epoch is expected to be as long as the last. */
  batchesPerEpoch?: number;
  /** Significant digits of metric values (default 4). */
  digits?: number;
}

class RunningMeans {
  private readonly totals = new Map<string, { sum: number; count: number }>();
  add(logs: Logs): void {
    for (const [name, value] of Object.entries(logs)) {
      const t = this.totals.get(name) ?? { sum: 0, count: 0 };
      t.sum += value;
      t.count += 1;
      this.totals.set(name, t);
    }
  }
  means(): Logs {
    return Object.fromEntries([...this.totals].map(([name, t]) => [name, t.sum / t.count]));
  }
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)}s`;
}

/**
 * Training progress for a Node terminal: a `cli-progress` bar per epoch with the running
 * mean of each metric when the stream is a TTY; plain log lines (one per epoch, and one every
 * `logEvery` batches) when it is not, as in CI logs or when piped to a file.
 */
export function terminalProgress(options: TerminalProgressOptions = {}): TrainingCallback {
  const stream = options.stream ?? process.stdout;
  const tty = options.tty ?? stream.isTTY === true;
  const logEvery = options.logEvery ?? 100;
  const digits = options.digits ?? 4;
  if (!Number.isInteger(logEvery) || logEvery < 0) throw new ConfigError('logEvery', 'an integer >= 0', logEvery);
  let total = options.batchesPerEpoch ?? 0;
  let epochs = 0;
  let bar: cliProgress.SingleBar | null = null;
  let running = new RunningMeans();
  let epochStart = 0;
  let batchesThisEpoch = 0;
  const line = (text: string) => stream.write(`${text}\n`);

  const stopBar = () => {
    bar?.stop();
    bar = null;
  };

  return {
    onTrainBegin(info) {
      epochs = info.epochs;
    },
    onEpochBegin(epoch) {
      running = new RunningMeans();
      batchesThisEpoch = 0;
      epochStart = performance.now();
      if (!tty) return;
      bar = new cliProgress.SingleBar(
        {
          stream: stream as NodeJS.WritableStream,
          format: `epoch {epochNumber}/{epochs} [{bar}] {value}/{total} | {metrics} | {duration_formatted} eta {eta_formatted}`,
          barsize: 24,
          hideCursor: false,
          clearOnComplete: false,
          // cli-progress checks the stream itself; `tty: true` on a non-TTY stream is the caller's choice.
          noTTYOutput: stream.isTTY !== true,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(Math.max(total, 1), 0, { epochNumber: epoch + 1, epochs, metrics: '' });
    },
    onBatchEnd({ epoch, batch, logs }) {
      running.add(logs);
      const done = batch + 1;
      if (bar) {
        if (done > total) bar.setTotal(done);
        bar.update(done, { metrics: formatLogs(running.means(), digits) });
      } else if (!tty && logEvery > 0 && done % logEvery === 0) {
        line(`epoch ${epoch + 1}/${epochs} batch ${done}${total ? `/${total}` : ''}: ${formatLogs(running.means(), digits)}`);
      }
      batchesThisEpoch = done;
    },
    onEpochEnd(epoch, logs) {
      // Without a declared size, the next epoch is expected to be as long as this one.
      if (options.batchesPerEpoch === undefined) total = batchesThisEpoch;
      if (bar) {
        bar.update({ metrics: formatLogs(logs, digits) });
        stopBar();
      } else {
        line(`epoch ${epoch + 1}/${epochs} (${seconds(epochStart)}): ${formatLogs(logs, digits)}`);
      }
    },
    onTrainEnd(history) {
      stopBar();
      if (history.stoppedEarly) line(`training stopped: ${history.reason}`);
    },
    onTrainError() {
      stopBar();
    },
  };
}
