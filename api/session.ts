/**
 * A compiled model loaded once on a driver and run as often as needed: k batches through one
 * program, without reloading code and constants between them.
 */
import { makeConfig } from '../config/config.ts';
import type { CompiledModel } from '../compiler/compile.ts';
import { execute, loadModel, type RunOptions as ExecuteOptions, type RunOutcome } from '../compiler/execute.ts';
import { IDEAL_MEMORY, memoryOpenOptions, type MemoryModel } from '../drivers/memory-model.ts';
import { getDriver } from '../drivers/registry.ts';
import type { Tensor } from '../graph/ir.ts';

export interface LoadedSession {
  /** One run of the program on one batch of inputs (graph input name → tensor). */
  run(inputs: Record<string, Tensor>, options?: Omit<ExecuteOptions, 'driver'>): Promise<RunOutcome>;
  /** The DRAM model of a driver that has one (tsim): the one asked for, else the ideal memory. */
  readonly memory?: MemoryModel;
  /** Release the driver (and with it the device memory). */
  close(): void;
}

/** Open driver `driverName` (with DRAM model `memory`, tsim only) for the model's config and load the model on it once. */
export async function loadSession(model: CompiledModel, driverName: string, memory?: MemoryModel): Promise<LoadedSession> {
  const cfg = makeConfig(model.config, 'compiled model');
  const info = await getDriver(driverName, cfg);
  const driver = await info.open(cfg, memoryOpenOptions(info, memory));
  try {
    const loaded = loadModel(model, driver);
    return {
      run: (inputs, options = {}) => execute(model, cfg, loaded, inputs, options, info.clocked),
      ...(info.modelsMemory ? { memory: memory ?? IDEAL_MEMORY } : {}),
      close: () => driver.close(),
    };
  } catch (e) {
    driver.close();
    throw e;
  }
}
