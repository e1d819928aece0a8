/**
 * The `--check` harness: compare every tensor a compiled model produced with the reference
 * executor (graph/reference.ts, written independently of the lowering), in graph order. The
 * first difference names the layer, the element (flat index and coordinates), both values and,
 * for tensors VTA wrote, the STORE instruction that wrote that element.
 */
import { makeConfig } from '../config/config.ts';
import { MEM_TYPE, OPCODE, decodeInsn, formatInsn } from '../isa/index.ts';
import type { CompiledModel } from './model.ts';
import { compileError } from './errors.ts';
import type { Tensor } from '../graph/ir.ts';
import { packedOffsetOf } from './pack.ts';
import { runReference } from '../graph/reference.ts';
import { byName } from '../lib/named.ts';

export interface Mismatch {
  layer: string;
  tensor: string;
  index: number;
  coords: number[];
  got: number;
  want: number;
  /** Kernel and instruction (index in the program + disassembly) that stored the element. */
  writer?: { kernel: string; insn: number; text: string };
}

export interface CheckResult {
  compared: number;
  mismatch?: Mismatch;
}

function coordsOf(shape: number[], flat: number): number[] {
  const c: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    c[d] = flat % shape[d]!;
    flat = Math.floor(flat / shape[d]!);
  }
  return c;
}

/** The STORE of kernel `k` that wrote tile `tile` of the model's buffer for `tensor`. */
function findWriter(model: CompiledModel, tensor: string, flat: number, shape: number[]): Mismatch['writer'] {
  const cfg = makeConfig(model.config, 'compiled model');
  const kIndex = model.kernels.findIndex((k) => k.output === tensor);
  const buf = byName(model.buffers, byName(model.activations, tensor) ?? '');
  if (kIndex < 0 || !buf) return undefined;
  const k = model.kernels[kIndex]!;
  const tile = (buf.offset + packedOffsetOf(shape, flat, cfg)) / cfg.outElemBytes;
  const elem = Math.floor(tile);
  for (let i = k.insnStart; i < k.insnStart + k.insnCount; i++) {
    const insn = decodeInsn(cfg, model.code, i * 16);
    if (insn.opcode !== OPCODE.STORE || insn.memory_type !== MEM_TYPE.OUT) continue;
    for (let y = 0; y < insn.y_size; y++) {
      const row = insn.dram_base + y * insn.x_stride;
      if (elem >= row && elem < row + insn.x_size) return { kernel: k.name, insn: i, text: formatInsn(cfg, insn) };
    }
  }
  return undefined;
}

/** Compare `tensors` (from runCompiled with keepAll) against the reference for `inputs`. */
export function checkAgainstReference(model: CompiledModel, inputs: Record<string, Tensor>, tensors: Record<string, Tensor>): CheckResult {
  const want = runReference(model.graph, inputs);
  let compared = 0;
  for (const node of model.graph.nodes) {
    const got = byName(tensors, node.output);
    if (!got) continue; // fused intermediate: never materialised
    const ref = byName(want, node.output)!;
    // The compiled model's own type of the tensor: what the run produced must have it.
    const type = model.types.get(node.output)!;
    compared++;
    if (got.dtype !== type.dtype || got.shape.join(',') !== type.shape.join(',')) {
      throw compileError('E_INTERNAL', node, `result ${node.output} is ${got.dtype}[${got.shape}] but the model types it ${type.dtype}[${type.shape}]`);
    }
    for (let i = 0; i < ref.data.length; i++) {
      if (got.data[i] !== ref.data[i]) {
        const step = model.kernels.find((k) => k.output === node.output);
        const writer = findWriter(model, node.output, i, type.shape);
        return {
          compared,
          mismatch: {
            layer: step ? `${step.name} (${step.nodes.join(' + ')})` : node.name,
            tensor: node.output,
            index: i,
            coords: coordsOf(type.shape, i),
            got: got.data[i]!,
            want: ref.data[i]!,
            ...(writer ? { writer } : {}),
          },
        };
      }
    }
  }
  return { compared };
}

export function describeMismatch(m: Mismatch): string {
  const w = m.writer ? `; written by insn #${m.writer.insn} (${m.writer.text})` : '';
  return `layer ${m.layer}: ${m.tensor}[${m.coords.join(',')}] (flat ${m.index}) is ${m.got} on VTA, ${m.want} in the reference${w}`;
}
