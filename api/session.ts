/**
 * A compiled model loaded once on a driver and run as often as needed: k batches through one
 * program, without reloading code and constants between them.
 */
import { makeConfig } from '../config/config.ts';
import type { CompiledModel } from '../compiler/compile.ts';
import { execute, loadModel, type LoadedModel, type RunOptions as ExecuteOptions, type RunOutcome } from '../compiler/execute.ts';
import { executeParallel, type ParallelRun } from '../compiler/execute-parallel.ts';
import type { Driver } from '../drivers/api.ts';
import { IDEAL_MEMORY, memoryOpenOptions, type MemoryModel } from '../drivers/memory-model.ts';
import { getDriver } from '../drivers/registry.ts';
import type { Tensor } from '../graph/ir.ts';

export interface LoadedSession {
  /** One run of the program on one batch of inputs (graph input name → tensor). */
  run(inputs: Record<string, Tensor>, options?: Omit<ExecuteOptions, 'driver'>): Promise<RunOutcome & { parallel?: ParallelRun }>;
  /** The DRAM model of a driver that has one (tsim): the one asked for, else the ideal memory. */
  readonly memory?: MemoryModel;
  /** Devices the kernels are spread over at once (1: in order on one). */
  readonly devices: number;
  /** Release the driver (and with it the device memory). */
  close(): void;
}

/**
 * Open driver `driverName` (with DRAM model `memory`, tsim only) for the model's config and load the
 * model on it once. With `devices` above 1 and a driver whose runs proceed at once (DriverInfo
 * `concurrent`: tsim), that many devices are opened, and a run spreads the kernels over them
 * (compiler/execute-parallel.ts), with fsim as its reference; a run with an observer runs in order.
 */
export async function loadSession(model: CompiledModel, driverName: string, memory?: MemoryModel, devices = 1): Promise<LoadedSession> {
  const cfg = makeConfig(model.config, 'compiled model');
  const info = await getDriver(driverName, cfg);
  const count = info.concurrent ? Math.max(1, Math.min(Math.floor(devices), model.kernels.length)) : 1;
  const opened: Driver[] = [];
  try {
    for (let i = 0; i < count; i++) opened.push(await info.open(cfg, memoryOpenOptions(info, memory)));
    const loaded = opened.map((d) => loadModel(model, d));
    let reference: LoadedModel | undefined;
    if (count > 1) {
      const fsim = await (await getDriver('fsim', cfg)).open(cfg);
      opened.push(fsim);
      reference = loadModel(model, fsim);
    }
    return {
      run: (inputs, options = {}) =>
        reference && !options.observe
          ? executeParallel(model, cfg, reference, loaded, inputs, options, info.clocked)
          : execute(model, cfg, loaded[0]!, inputs, options, info.clocked),
      ...(info.modelsMemory ? { memory: memory ?? IDEAL_MEMORY } : {}),
      devices: count,
      close: () => opened.forEach((d) => d.close()),
    };
  } catch (e) {
    opened.forEach((d) => d.close());
    throw e;
  }
}
