/**
 * One network's kernels spread over several devices at once: tsim clocks each device's model on
 * its own thread, so a network runs on as many cores as there are devices.
 *
 * A network's kernels depend on each other only through DRAM. A reference pass on fsim (which
 * agrees with tsim bit for bit: the conformance kit, difftest) records what each kernel finds in
 * its input buffers at launch and what its output buffer holds after it. Each device runs any
 * kernel the reference has recorded from those inputs, the costliest first; a kernel's cycles,
 * counters and timeline depend on its program and the DRAM timing, not on the data. After each
 * run the device's whole activation segment must equal what it held with the inputs written and
 * the reference's output in place, and at the end each device's code and constants must be as
 * loaded. Compiled kernels are meant to load every scratchpad word they read (nothing checks it
 * here); one that read words left by the kernel before it would find others on a device that ran
 * another kernel before it, and leave other DRAM than the reference (unless the words happened to
 * be equal). At the first failed
 * check or error, the network is run again in order on one device, and the outcome, or the error,
 * is that run's: spreading the kernels never changes a result.
 */
import type { VtaConfig } from '../config/config.ts';
import type { RunResult, StageSpan } from '../drivers/api.ts';
import { sameBytes } from '../lib/bytes.ts';
import { byName, nameRecord, setName } from '../lib/named.ts';
import type { Tensor } from '../graph/ir.ts';
import type { Counters } from '../sim/api.ts';
import { execute, kernelAddress, kernelBudget, loadModel, type LoadedModel, type RunOptions, type RunOutcome } from './execute.ts';
import { SEGMENTS, type SegmentName } from './memplan.ts';
import type { CompiledModel, KernelInfo } from './model.ts';

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** A placed buffer's bytes: where they lie and what they hold. */
interface Image {
  segment: SegmentName;
  offset: number;
  bytes: Uint8Array;
}

/** One kernel launch of the reference pass: its input buffers at launch, its output buffer after. */
interface Launch {
  kernel: number;
  inputs: Image[];
  output: Image;
}

/** How a network's kernels were spread (RunReport.parallel). */
export interface ParallelRun {
  /** Devices the kernels ran on at once. */
  devices: number;
  /** Kernel runs, each checked against the reference pass. */
  kernels: number;
  /** Why the network ran again in order on one device (the outcome is that run's), when it did. */
  fallback?: string;
}

export interface ParallelOutcome extends RunOutcome {
  parallel: ParallelRun;
}

/**
 * The buffers a kernel reads from DRAM (its placed input tensors; an im2col kernel's first input
 * reaches it as its im2col image instead) and the one it writes.
 */
function kernelBuffers(model: CompiledModel, k: KernelInfo): { reads: string[]; write: string } {
  const reads = k.inputs.flatMap((t) => byName(model.activations, t) ?? []);
  if (k.im2col) reads.push(k.im2col.buffer);
  return { reads: [...new Set(reads)], write: byName(model.activations, k.output)! };
}

function readImage(model: CompiledModel, lm: LoadedModel, buffer: string): Image {
  const b = byName(model.buffers, buffer)!;
  const bytes = new Uint8Array(b.bytes);
  lm.driver.copyToHost(bytes, lm.segments[b.segment], b.offset);
  return { segment: b.segment, offset: b.offset, bytes };
}

function readSegment(lm: LoadedModel, segment: SegmentName, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  lm.driver.copyToHost(out, lm.segments[segment]);
  return out;
}

/**
 * The launches as the reference pass records them. A device takes the costliest one recorded and
 * not yet taken, so the devices start while the reference still runs, and once it has finished
 * they share the rest longest first.
 */
class LaunchQueue {
  readonly launches: Launch[] = [];
  private readonly taken: boolean[] = [];
  private closed = false;
  private waiting: (() => void)[] = [];

  constructor(private readonly cost: (l: Launch) => number) {}

  add(launch: Launch): void {
    this.launches.push(launch);
    this.taken.push(false);
    this.wake();
  }

  /** No more launches come (the reference pass ended, or failed). */
  close(): void {
    this.closed = true;
    this.wake();
  }

  /** The index of the next launch to run, or undefined once every launch is taken and no more come. */
  async take(): Promise<number | undefined> {
    for (;;) {
      let best = -1;
      this.launches.forEach((l, i) => {
        if (!this.taken[i] && (best < 0 || this.cost(l) > this.cost(this.launches[best]!))) best = i;
      });
      if (best >= 0) {
        this.taken[best] = true;
        return best;
      }
      if (this.closed) return undefined;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = [];
    waiting.forEach((resolve) => resolve());
  }
}

/**
 * Run the model on `reference` (fsim), and every kernel it launches again on `devices` at once,
 * as described above. `options.observe` is not supported here (the caller runs in order for it).
 */
export async function executeParallel(
  model: CompiledModel,
  cfg: VtaConfig,
  reference: LoadedModel,
  devices: LoadedModel[],
  inputs: Record<string, Tensor>,
  options: RunOptions,
  clocked: boolean | undefined,
): Promise<ParallelOutcome> {
  const queue = new LaunchQueue((l) => model.kernels[l.kernel]!.work + model.kernels[l.kernel]!.dramBytes);
  let launching: Omit<Launch, 'output'> | undefined;
  const referenceRun = execute(
    model,
    cfg,
    reference,
    inputs,
    {
      ...(options.keepAll ? { keepAll: true } : {}),
      onKernel: (kernel, phase, lm) => {
        const { reads, write } = kernelBuffers(model, model.kernels[kernel]!);
        if (phase === 'launch') launching = { kernel, inputs: reads.map((b) => readImage(model, lm, b)) };
        else queue.add({ ...launching!, output: readImage(model, lm, write) });
      },
    },
    false,
  ).finally(() => queue.close());
  const devicesRun = runLaunches(model, cfg, devices, queue, options, clocked);
  let outcome: RunOutcome | undefined;
  let failure: string | undefined;
  try {
    outcome = await referenceRun;
  } catch (e) {
    failure = `the fsim reference run failed: ${messageOf(e)}`;
  }
  const results = await devicesRun;
  failure ??= typeof results === 'string' ? results : undefined;
  const parallel = { devices: devices.length, kernels: queue.launches.length };
  if (failure !== undefined || !outcome || typeof results === 'string') {
    const again = await executeInOrder(model, cfg, devices, inputs, options, clocked);
    return { ...again, parallel: { ...parallel, fallback: failure ?? 'no reference outcome' } };
  }
  const counters = nameRecord<Counters>();
  const spans = options.timeline ? new Map<string, StageSpan[]>() : undefined;
  queue.launches.forEach((l, i) => {
    const k = model.kernels[l.kernel]!;
    setName(counters, k.name, results[i]!.counters);
    if (spans && results[i]!.spans) spans.set(k.name, results[i]!.spans!);
  });
  return { ...outcome, counters, ...(spans ? { spans } : {}), parallel };
}

/**
 * Run the launches on the devices at once, each device taking the next from the queue when it
 * finishes one. Returns each launch's result, or why a check failed (or a run threw).
 */
async function runLaunches(
  model: CompiledModel,
  cfg: VtaConfig,
  devices: LoadedModel[],
  queue: LaunchQueue,
  options: RunOptions,
  clocked: boolean | undefined,
): Promise<RunResult[] | string> {
  const hostSteps = model.steps.filter((s) => s.kind === 'host').length;
  const results: RunResult[] = [];
  let started = 0;
  let failure: string | undefined;

  const device = async (lm: LoadedModel) => {
    // What the activation segment must hold: as the device holds it now, then each launch's
    // inputs written and the reference's output in place.
    const expected = readSegment(lm, 'act', model.segments.act);
    const after = new Uint8Array(expected.length);
    for (;;) {
      const i = failure === undefined ? await queue.take() : undefined;
      if (i === undefined || failure !== undefined) break;
      const { kernel, inputs, output } = queue.launches[i]!;
      const k = model.kernels[kernel]!;
      options.onStep?.(hostSteps + started++, model.steps.length, `vta ${k.name}`);
      for (const image of inputs) {
        lm.driver.copyFromHost(lm.segments[image.segment], image.bytes, image.offset);
        if (image.segment === 'act') expected.set(image.bytes, image.offset);
      }
      const budget = kernelBudget(k, options, clocked);
      try {
        results[i] = await lm.driver.run(kernelAddress(lm, k, cfg), k.insnCount, {
          ...(budget !== undefined ? { budget } : {}),
          ...(options.timeline ? { timeline: true } : {}),
        });
      } catch (e) {
        failure ??= `kernel ${k.name} failed: ${messageOf(e)}`;
        return;
      }
      if (output.segment === 'act') expected.set(output.bytes, output.offset);
      lm.driver.copyToHost(after, lm.segments.act);
      if (output.segment !== 'act' || !sameBytes(after, expected)) {
        failure ??= `kernel ${k.name} left DRAM other than the fsim reference did`;
        return;
      }
    }
    // A kernel that wrote code or constants would have changed the later kernels of an in-order run.
    const intact = (segment: SegmentName, image: Uint8Array) => sameBytes(readSegment(lm, segment, image.length), image);
    if (failure === undefined && !(intact('code', lm.codeImage) && intact('const', model.constImage))) {
      failure = 'a kernel wrote to the code or constant segment';
    }
  };
  // Never rejects: the caller awaits the reference pass first, and a rejection waiting meanwhile
  // would end the process as unhandled.
  await Promise.all(devices.map((lm) => device(lm).catch((e: unknown) => void (failure ??= `a device failed: ${messageOf(e)}`))));
  return failure ?? results;
}

/** The network in order on the first device, loaded afresh (its segments may hold anything now). */
async function executeInOrder(
  model: CompiledModel,
  cfg: VtaConfig,
  devices: LoadedModel[],
  inputs: Record<string, Tensor>,
  options: RunOptions,
  clocked: boolean | undefined,
): Promise<RunOutcome> {
  const first = devices[0]!;
  for (const s of SEGMENTS) first.driver.memFree(first.segments[s]);
  devices[0] = loadModel(model, first.driver);
  return execute(model, cfg, devices[0], inputs, options, clocked);
}
