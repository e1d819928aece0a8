/** The progress bars of the CLI, drawn on a terminal only (logs and pipes get none). */
import { createRequire } from 'node:module';
import type { Options, SingleBar } from 'cli-progress';

const require = createRequire(import.meta.url);

/** A bar; cli-progress loads only when one is drawn, not at every command's start-up. */
export function progressBar(options: Options): SingleBar {
  const { SingleBar: Bar } = require('cli-progress') as typeof import('cli-progress');
  return new Bar(options);
}

export interface Progress {
  /** Step `done` of `total` (batches × steps) is about to run. */
  update(done: number, total: number, label: string): void;
  stop(): void;
}

/** A bar on `stream` when it is a terminal and not `quiet`; undefined otherwise. */
export function runProgress(stream: NodeJS.WriteStream, quiet: boolean, batches: number, steps: number): Progress | undefined {
  if (!stream.isTTY || quiet) return undefined;
  const bar = progressBar({ stream, format: 'running {bar} batch {batch}/{batches} {step}', clearOnComplete: true, hideCursor: true });
  bar.start(batches * steps, 0, { batch: 1, batches, step: '' });
  return {
    update: (done, _total, label) => bar.update(done, { batch: Math.floor(done / steps) + 1, step: label }),
    stop: () => bar.stop(),
  };
}
