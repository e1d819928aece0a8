/**
 * The model's own interface: float32 in and out around the VTA kernels, and k batches in one input
 * run through one loaded program, equal to k single runs and to the reference executor.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { concatBatches, modelInputs, openModel, outputStep, randomInput, runModel, sliceBatch, type Tensor } from '../../api/index.ts';
import { runReference } from '../../graph/reference.ts';
import { writeNpy } from '../../lib/npy.ts';
import { floatAdd, floatConv, floatDense, writeModel } from './float-models.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'vta-batches-'));

/** Three batches of random float32 input for `shape` (first dimension tripled). */
function threeBatches(shape: number[], seed: number): Tensor {
  return concatBatches([0, 1, 2].map((b) => randomInput(shape, 'float32', seed + b)));
}

describe('k batches through one program', () => {
  for (const [label, graph] of [['dense', floatDense()], ['dense of batch 2', floatDense(2)], ['conv2d', floatConv()]] as const) {
    it(`float-interface ${label}: 3 batches equal three single runs and the reference`, async () => {
      const model = openModel(writeModel(tmp(), graph));
      const spec = model.graph.inputs[0]!;
      const x = threeBatches(spec.shape, 7);
      const report = await runModel(model, new Map([['x', x]]), { check: true });
      expect(report.batches).toBe(3);
      expect(report.check?.reference.mismatch).toBeUndefined();
      const y = report.outputs.get('y')!;
      expect(y.dtype).toBe('float32');
      expect(y.shape).toEqual([3 * spec.shape[0]!, ...spec.shape.slice(1)]);
      for (let b = 0; b < 3; b++) {
        const one = sliceBatch(x, b, 3);
        const single = await runModel(model, new Map([['x', one]]));
        expect(single.batches).toBe(1);
        expect(Array.from(sliceBatch(y, b, 3).data)).toEqual(Array.from(single.outputs.get('y')!.data));
        expect(Array.from(sliceBatch(y, b, 3).data)).toEqual(Array.from(runReference(model.graph, { x: one }).y!.data));
      }
      // Each batch's tensors were compared with the reference.
      const perBatch = (await runModel(model, new Map([['x', sliceBatch(x, 0, 3)]]), { check: true })).check!.reference.compared;
      expect(report.check!.reference.compared).toBe(3 * perBatch);
      // Counters are summed over the batches.
      const single = await runModel(model, new Map([['x', sliceBatch(x, 0, 3)]]));
      expect(report.kernels[0]!.counters!.gemm_counter).toBe(3 * single.kernels[0]!.counters!.gemm_counter);
    }, 60_000);
  }

  it('reports where each step runs and why the host steps run there', async () => {
    const report = await runModel(openModel(writeModel(tmp(), floatDense())), new Map([['x', randomInput([1, 16], 'float32', 1)]]));
    expect(report.placement.vtaKernels).toBe(1);
    expect(report.placement.host.map((h) => [h.node, h.op, h.float])).toEqual([['q', 'quantize', true], ['dq', 'dequantize', true]]);
    expect(report.placement.host.every((h) => h.reason.length > 0)).toBe(true);
  });

  it('takes the quantization step of an output from its dequantize node, 1 for an integer output', () => {
    expect(outputStep(floatDense(), 'y')).toBe(0.1);
    expect(outputStep(floatConv(), 'y')).toBe(0.05);
    expect(outputStep(floatDense(), 'yq')).toBe(1);
    const flattened = floatConv();
    flattened.nodes.push({ name: 'flat', op: 'flatten', inputs: ['y'], output: 'z' });
    expect(outputStep(flattened, 'z')).toBe(0.05);
    flattened.nodes.push({ name: 'soft', op: 'softmax', inputs: ['z'], output: 'p' });
    expect(outputStep(flattened, 'p')).toBeUndefined();
  });
});

describe('input files on the model interface', () => {
  const model = () => openModel(writeModel(tmp(), floatAdd()));
  const file = (t: Tensor) => {
    const f = join(tmp(), `${t.dtype}-${t.shape.join('x')}.npy`);
    writeFileSync(f, writeNpy(t));
    return f;
  };
  const oneLine = async (files: Map<string, string>) => {
    const e = await modelInputs(model(), files).then(() => undefined, (err: Error) => err);
    expect(e).toBeDefined();
    expect(e!.message.split('\n')).toHaveLength(1);
    return e!.message;
  };

  it('refuses another dtype or shape in one line naming the file and the expected dtype and shape', async () => {
    const f = file(randomInput([1, 16], 'int8', 0));
    expect(await oneLine(new Map([['a', f], ['b', f]]))).toBe(`${f}: bad input: int8[1,16] but input a is float32[1,16] (or float32[k,16] for k batches)`);
    const g = file(randomInput([1, 8], 'float32', 0));
    expect(await oneLine(new Map([['a', g]]))).toBe(`${g}: bad input: float32[1,8] but input a is float32[1,16] (or float32[k,16] for k batches)`);
  });

  it('refuses inputs holding different numbers of batches, and random inputs beside several batches', async () => {
    const two = file(randomInput([2, 16], 'float32', 0));
    const three = file(randomInput([3, 16], 'float32', 0));
    expect(await oneLine(new Map([['a', two], ['b', three]]))).toBe(`${three}: bad input: holds 3 batches of input b but ${two} holds 2 batches: every input must hold the same number`);
    expect(await oneLine(new Map([['a', two]]))).toMatch(/input b \(random, one batch\): bad input: holds 1 batch of input b but .* holds 2 batches/);
  });

  it('refuses a first dimension that is not a multiple of the batch', async () => {
    const m = openModel(writeModel(tmp(), floatDense(2)));
    const f = file(randomInput([3, 16], 'float32', 0));
    await expect(modelInputs(m, new Map([['x', f]]))).rejects.toThrow(`${f}: bad input: first dimension 3 is not a multiple of input x's batch 2 (float32[2,16])`);
    // The API checks tensors handed in directly the same way.
    await expect(runModel(m, new Map([['x', randomInput([3, 16], 'float32', 0)]]))).rejects.toThrow(`input x: bad input: first dimension 3 is not a multiple`);
  });
});
