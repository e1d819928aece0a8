/** The progress bar of `vta run`: batches and steps, drawn on a terminal only (logs and pipes get none). */
import { SingleBar } from 'cli-progress';

export interface Progress {
  /** Step `done` of `total` (batches × steps) is about to run. */
  update(done: number, total: number, label: string): void;
  stop(): void;
}

/** A bar on `stream` when it is a terminal and not `quiet`; undefined otherwise. */
export function runProgress(stream: NodeJS.WriteStream, quiet: boolean, batches: number, steps: number): Progress | undefined {
  if (!stream.isTTY || quiet) return undefined;
  const bar = new SingleBar({ stream, format: 'running {bar} batch {batch}/{batches} {step}', clearOnComplete: true, hideCursor: true });
  bar.start(batches * steps, 0, { batch: 1, batches, step: '' });
  return {
    update: (done, _total, label) => bar.update(done, { batch: Math.floor(done / steps) + 1, step: label }),
    stop: () => bar.stop(),
  };
}
