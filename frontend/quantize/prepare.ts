/**
 * Float-to-float rewrites that make a model quantize well, each a small named pass over the
 * FloatModel: Constant nodes become initializers, Gemm gets one canonical form (weight [N, K],
 * transB = 1, alpha and beta folded), BatchNormalization after a Conv or Gemm folds into its weight
 * and bias, and MatMul + Add of constants on a 2-D input becomes a Gemm. The rewritten model computes
 * the same function in float (up to float rounding).
 */
import { attribute, floatAttribute, freshName, intAttribute, type EditNode, type FloatModel, type FloatTensorValue } from './float-model.ts';

/** What onnxruntime told us about each value on the first calibration batch. */
export interface ValueInfo {
  dims: number[];
  type: string;
}

export interface PreparePass {
  name: string;
  /** Changes made, for the report (e.g. "folded BatchNormalization bn1 into conv1"). */
  run(model: FloatModel, values?: ReadonlyMap<string, ValueInfo>): string[];
}

const constantsToInitializers: PreparePass = {
  name: 'constants-to-initializers',
  run(model) {
    const kept: EditNode[] = [];
    for (const n of model.nodes) {
      // torch writes Identity nodes for parameters shared between modules: they are constants too.
      const t = n.opType === 'Constant' ? attribute(n, 'value')?.t
        : n.opType === 'Identity' ? model.initializers.get(n.inputs[0] ?? '') : undefined;
      if (t && n.outputs.length === 1 && !model.outputs.includes(n.outputs[0]!)) model.initializers.set(n.outputs[0]!, { ...t, name: n.outputs[0]! });
      else kept.push(n);
    }
    const changed = model.nodes.length - kept.length;
    model.nodes = kept;
    return changed ? [`${changed} Constant or Identity-of-constant node(s) made initializers`] : [];
  },
};

function setAttribute(n: EditNode, key: string, value: number): void {
  n.attributes = [...n.attributes.filter((a) => a.name !== key), { name: key, type: 2, i: value }];
}

function transpose2d(v: FloatTensorValue): FloatTensorValue {
  const [rows, cols] = v.dims as [number, number];
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = v.data[r * cols + c]!;
  return { dims: [cols, rows], data: out };
}

/** Gemm with a constant 2-D weight as Y = A·Wᵀ + C with W [N, K], alpha = beta = 1 and C of shape [N]. */
const canonicalGemm: PreparePass = {
  name: 'canonical-gemm',
  run(model) {
    const changes: string[] = [];
    const used = model.usedNames();
    for (const n of model.nodes) {
      if (n.opType !== 'Gemm' || intAttribute(n, 'transA', 0) !== 0) continue;
      const w = model.floatInitializer(n.inputs[1] ?? '');
      if (!w || w.dims.length !== 2) continue;
      const alpha = floatAttribute(n, 'alpha', 1);
      const beta = floatAttribute(n, 'beta', 1);
      const transB = intAttribute(n, 'transB', 0);
      const c = n.inputs[2] ? model.floatInitializer(n.inputs[2]) : undefined;
      if (n.inputs[2] && !c) continue;
      const outFeatures = transB ? w.dims[0]! : w.dims[1]!;
      if (c && c.data.length !== outFeatures) continue; // a full [M, N] C: left as it is
      if (transB === 1 && alpha === 1 && beta === 1 && (!c || c.dims.length === 1)) continue;
      let weight = transB ? w : transpose2d(w);
      if (alpha !== 1) weight = { dims: weight.dims, data: weight.data.map((x) => x * alpha) };
      const wName = freshName(used, `${n.inputs[1]}_gemm`);
      model.setFloatInitializer(wName, weight.dims, weight.data);
      n.inputs[1] = wName;
      if (c) {
        const cName = freshName(used, `${n.inputs[2]}_gemm`);
        model.setFloatInitializer(cName, [outFeatures], c.data.map((x) => x * beta));
        n.inputs[2] = cName;
      }
      n.attributes = n.attributes.filter((a) => !['alpha', 'beta', 'transB'].includes(a.name ?? ''));
      setAttribute(n, 'transB', 1);
      changes.push(`Gemm ${n.name}: weight stored as [N, K] with alpha and beta folded`);
    }
    model.pruneInitializers();
    return changes;
  },
};

/** BatchNormalization right after a Conv (or canonical Gemm) that only it reads: folded into the weights. */
const foldBatchNorm: PreparePass = {
  name: 'fold-batchnorm',
  run(model) {
    const changes: string[] = [];
    const producers = model.producers();
    const consumers = model.consumers();
    const used = model.usedNames();
    const removed = new Set<EditNode>();
    for (const bn of model.nodes) {
      if (bn.opType !== 'BatchNormalization' || bn.outputs.filter(Boolean).length !== 1) continue;
      const prev = producers.get(bn.inputs[0] ?? '');
      if (!prev || (prev.opType !== 'Conv' && !(prev.opType === 'Gemm' && intAttribute(prev, 'transB', 0) === 1))) continue;
      if ((consumers.get(bn.inputs[0]!) ?? []).length !== 1 || model.outputs.includes(bn.inputs[0]!)) continue;
      const w = model.floatInitializer(prev.inputs[1] ?? '');
      const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((k) => model.floatInitializer(bn.inputs[k] ?? ''));
      if (!w || !gamma || !beta || !mean || !variance) continue;
      const channels = w.dims[0]!;
      if ([gamma, beta, mean, variance].some((p) => p.data.length !== channels)) continue;
      const bias = prev.inputs[2] ? model.floatInitializer(prev.inputs[2]) : undefined;
      if (prev.inputs[2] && !bias) continue;
      const eps = floatAttribute(bn, 'epsilon', 1e-5);
      const perChannel = w.data.length / channels;
      const newW = new Float32Array(w.data.length);
      const newB = new Float32Array(channels);
      for (let c = 0; c < channels; c++) {
        const k = gamma.data[c]! / Math.sqrt(variance.data[c]! + eps);
        for (let j = 0; j < perChannel; j++) newW[c * perChannel + j] = w.data[c * perChannel + j]! * k;
        newB[c] = ((bias?.data[c] ?? 0) - mean.data[c]!) * k + beta.data[c]!;
      }
      const wName = freshName(used, `${prev.inputs[1]}_bn`);
      const bName = freshName(used, `${prev.name}_bias_bn`);
      model.setFloatInitializer(wName, w.dims, newW);
      model.setFloatInitializer(bName, [channels], newB);
      prev.inputs[1] = wName;
      prev.inputs[2] = bName;
      prev.outputs[0] = bn.outputs[0]!;
      removed.add(bn);
      changes.push(`BatchNormalization ${bn.name} folded into ${prev.opType} ${prev.name}`);
    }
    model.nodes = model.nodes.filter((n) => !removed.has(n));
    model.pruneInitializers();
    return changes;
  },
};

/** MatMul(x [M, K], W [K, N]) read only by Add(·, b [N]) (as TF and hand-written graphs have it): one Gemm. */
const matmulAddToGemm: PreparePass = {
  name: 'matmul-add-to-gemm',
  run(model, values) {
    const changes: string[] = [];
    const consumers = model.consumers();
    const used = model.usedNames();
    const removed = new Set<EditNode>();
    for (const mm of model.nodes) {
      if (mm.opType !== 'MatMul' || values?.get(mm.inputs[0] ?? '')?.dims.length !== 2) continue;
      const w = model.floatInitializer(mm.inputs[1] ?? '');
      if (!w || w.dims.length !== 2) continue;
      const readers = consumers.get(mm.outputs[0]!) ?? [];
      const add = readers[0];
      if (readers.length !== 1 || add?.opType !== 'Add' || model.outputs.includes(mm.outputs[0]!)) continue;
      const biasName = add.inputs[0] === mm.outputs[0] ? add.inputs[1]! : add.inputs[0]!;
      const bias = model.floatInitializer(biasName);
      if (!bias || bias.data.length !== w.dims[1] || bias.dims.length > 1 && bias.dims.slice(0, -1).some((d) => d !== 1)) continue;
      const wName = freshName(used, `${mm.inputs[1]}_gemm`);
      const bName = freshName(used, `${biasName}_gemm`);
      const wt = transpose2d(w);
      model.setFloatInitializer(wName, wt.dims, wt.data);
      model.setFloatInitializer(bName, [w.dims[1]!], bias.data.slice());
      Object.assign(mm, { opType: 'Gemm', inputs: [mm.inputs[0]!, wName, bName], outputs: [add.outputs[0]!], attributes: [{ name: 'transB', type: 2, i: 1 }] });
      removed.add(add);
      changes.push(`MatMul ${mm.name} + Add ${add.name} made one Gemm`);
    }
    model.nodes = model.nodes.filter((n) => !removed.has(n));
    model.pruneInitializers();
    return changes;
  },
};

/** Passes that need no value shapes, in order. */
export const STRUCTURAL_PASSES: readonly PreparePass[] = [constantsToInitializers, canonicalGemm];
/** Passes that use the value shapes of a first float run, in order (BatchNorm folding after the MatMul rewrite so BN after a Linear folds too). */
export const SHAPED_PASSES: readonly PreparePass[] = [matmulAddToGemm, foldBatchNorm];

