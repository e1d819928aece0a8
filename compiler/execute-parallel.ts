/**
 * One network's kernels spread over several devices at once: tsim clocks each device's model on
 * its own thread, so a network runs on as many cores as there are devices.
 *
 * A network's kernels depend on each other only through DRAM. A reference pass on fsim (which
 * agrees with tsim bit for bit: the conformance kit, difftest) records what each kernel finds in
 * its input buffers at launch and what its output buffer holds after it. Each device then runs any
 * kernel from those inputs, longest first; a kernel's cycles, counters and timeline depend on its
 * program and the DRAM timing, not on the data. After each run the device's whole activation
 * segment must equal what it held with the inputs written and the reference's output in place, and
 * at the end each device's code and constants must be as loaded. When every check holds, each
 * kernel ran exactly as it would have on one device running the network in order (each compiled
 * kernel loads every scratchpad word it reads, so nothing carries over from the kernel a device
 * ran before it). At the first failed check or error, the network is run again in order on one
 * device, and the outcome, or the error, is that run's: the parallel run never changes a result.
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
 * Run the model on `reference` (fsim) once, then every kernel again on `devices` at once, as
 * described above. `options.observe` is not supported here (the caller runs in order for it).
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
  const launches: Launch[] = [];
  const pending: Omit<Launch, 'output'>[] = [];
  const outcome = await execute(
    model,
    cfg,
    reference,
    inputs,
    {
      ...(options.keepAll ? { keepAll: true } : {}),
      onKernel: (kernel, phase, lm) => {
        const { reads, write } = kernelBuffers(model, model.kernels[kernel]!);
        if (phase === 'launch') pending.push({ kernel, inputs: reads.map((b) => readImage(model, lm, b)) });
        else launches.push({ ...pending.pop()!, output: readImage(model, lm, write) });
      },
    },
    false,
  );

  const results = await runLaunches(model, cfg, devices, launches, options, clocked);
  if (typeof results === 'string') {
    const again = await executeInOrder(model, cfg, devices, inputs, options, clocked);
    return { ...again, parallel: { devices: devices.length, kernels: launches.length, fallback: results } };
  }
  const counters = nameRecord<Counters>();
  const spans = options.timeline ? new Map<string, StageSpan[]>() : undefined;
  launches.forEach((l, i) => {
    const k = model.kernels[l.kernel]!;
    setName(counters, k.name, results[i]!.counters);
    if (spans && results[i]!.spans) spans.set(k.name, results[i]!.spans!);
  });
  return { ...outcome, counters, ...(spans ? { spans } : {}), parallel: { devices: devices.length, kernels: launches.length } };
}

/**
 * Run every launch on the devices at once, longest first; each device takes the next launch when
 * it finishes one. Returns each launch's result, or why a check failed (or a run threw).
 */
async function runLaunches(
  model: CompiledModel,
  cfg: VtaConfig,
  devices: LoadedModel[],
  launches: Launch[],
  options: RunOptions,
  clocked: boolean | undefined,
): Promise<RunResult[] | string> {
  const cost = (l: Launch) => model.kernels[l.kernel]!.work + model.kernels[l.kernel]!.dramBytes;
  const order = launches.map((_, i) => i).sort((a, b) => cost(launches[b]!) - cost(launches[a]!));
  const hostSteps = model.steps.filter((s) => s.kind === 'host').length;
  const results: RunResult[] = [];
  let next = 0;
  let failure: string | undefined;

  const device = async (lm: LoadedModel) => {
    // What the activation segment must hold: as the device holds it now, then each launch's
    // inputs written and the reference's output in place.
    const expected = readSegment(lm, 'act', model.segments.act);
    const after = new Uint8Array(expected.length);
    while (failure === undefined && next < order.length) {
      const i = order[next++]!;
      const { kernel, inputs, output } = launches[i]!;
      const k = model.kernels[kernel]!;
      options.onStep?.(hostSteps + next - 1, model.steps.length, `vta ${k.name}`);
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
        failure ??= `kernel ${k.name} failed: ${e instanceof Error ? e.message : String(e)}`;
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
  await Promise.all(devices.map(device));
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
