/**
 * A compiled model loaded once on a driver and run as often as needed: k batches through one
 * program, without reloading code and constants between them.
 */
import { makeConfig } from '../config/config.ts';
import type { CompiledModel } from '../compiler/compile.ts';
import { execute, loadModel, type RunOptions as ExecuteOptions, type RunOutcome } from '../compiler/execute.ts';
import type { MemoryModel } from '../drivers/api.ts';
import { getDriver } from '../drivers/registry.ts';
import type { Tensor } from '../graph/ir.ts';

export interface LoadedSession {
  /** One run of the program on one batch of inputs (graph input name → tensor). */
  run(inputs: Record<string, Tensor>, options?: Omit<ExecuteOptions, 'driver'>): Promise<RunOutcome>;
  /** Release the driver (and with it the device memory). */
  close(): void;
  /** The driver's DRAM model, when it has a clock. */
  readonly memory: MemoryModel | undefined;
}

/** Open driver `driverName` for the model's config and load the model on it once. */
export async function loadSession(model: CompiledModel, driverName: string): Promise<LoadedSession> {
  const cfg = makeConfig(model.config, 'compiled model');
  const info = await getDriver(driverName, cfg);
  const driver = await info.open(cfg);
  try {
    const loaded = loadModel(model, driver);
    return {
      run: (inputs, options = {}) => execute(model, cfg, loaded, inputs, options, info.clocked),
      close: () => driver.close(),
      memory: info.clocked ? driver.dram : undefined,
    };
  } catch (e) {
    driver.close();
    throw e;
  }
}
