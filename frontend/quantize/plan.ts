/**
 * The quantization plan of a prepared float model: which activation values get a
 * QuantizeLinear → DequantizeLinear pair, which of them must share one scale (and why), and which
 * ops are fused into their producer's requantization. Calibration measures exactly the planned
 * values; the QDQ writer follows the plan.
 */
import type { EditNode, FloatModel } from './float-model.ts';
import type { ValueInfo } from './prepare.ts';
import { roleOf, type QuantizeRole } from './rules.ts';

export interface QuantPlan {
  /** The values to quantize, in graph order (graph inputs first). */
  values: string[];
  /** Each planned value's scale group: values of one group share scale and zero point. */
  groupOf: Map<string, string>;
  /** Each node's role, by node name (names are unique in a FloatModel). */
  roles: Map<string, QuantizeRole>;
  /** Activations whose producer's output is not quantized (they are applied in its requantization), by node name. */
  fused: Set<string>;
  /** Graph outputs left in float (written by a float op). */
  floatOutputs: string[];
}

class UnionFind {
  private readonly parent = new Map<string, string>();
  find(x: string): string {
    let root = x;
    while (this.parent.has(root) && this.parent.get(root) !== root) root = this.parent.get(root)!;
    this.parent.set(x, root);
    return root;
  }
  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(rb, ra);
  }
}

const isFloat = (values: ReadonlyMap<string, ValueInfo>, name: string): boolean => values.get(name)?.type === 'float32';

export function planQuantization(model: FloatModel, values: ReadonlyMap<string, ValueInfo>): QuantPlan {
  const consumers = model.consumers();
  const byNode = new Map<EditNode, QuantizeRole>();
  for (const n of model.nodes) {
    const floatOut = n.outputs.some((o) => isFloat(values, o));
    byNode.set(n, floatOut ? roleOf(model, n) ?? 'float' : 'shape');
  }
  const roles = { get: (n: EditNode) => byNode.get(n) };
  // An activation right after a weighted op or an Add that only it reads: fused into the producer.
  const fused = new Set<string>();
  const unquantized = new Set<string>();
  for (const n of model.nodes) {
    const role = roles.get(n);
    if (role !== 'weighted' && !(role === 'shared-inputs' && n.opType === 'Add')) continue;
    const out = n.outputs[0]!;
    const readers = consumers.get(out) ?? [];
    if (readers.length === 1 && roles.get(readers[0]!) === 'activation' && readers[0]!.inputs[0] === out && !model.outputs.includes(out)) {
      fused.add(readers[0]!.name);
      unquantized.add(out);
    }
  }
  const planned: string[] = [];
  const floatOutputs: string[] = [];
  for (const i of model.inputs) if (isFloat(values, i.name)) planned.push(i.name);
  for (const n of model.nodes) {
    const role = roles.get(n)!;
    if (role === 'shape') continue;
    for (const out of n.outputs) {
      if (!out || !isFloat(values, out) || unquantized.has(out)) continue;
      const onlyOutput = model.outputs.includes(out) && (consumers.get(out) ?? []).length === 0;
      if (role === 'float' && onlyOutput) {
        floatOutputs.push(out);
        continue;
      }
      planned.push(out);
    }
  }
  const plannedSet = new Set(planned);
  const groups = new UnionFind();
  for (const n of model.nodes) {
    const role = roles.get(n);
    const ins = n.inputs.filter((i) => plannedSet.has(i));
    const out = n.outputs[0] ?? '';
    if (role === 'same-scale' && ins[0] && plannedSet.has(out)) groups.union(ins[0], out);
    if (role === 'shared-inputs' && ins.length >= 2) for (const i of ins.slice(1)) groups.union(ins[0]!, i);
    if (role === 'shared-inputs' && n.opType === 'Concat' && ins[0] && plannedSet.has(out)) groups.union(ins[0], out);
  }
  return {
    values: planned,
    groupOf: new Map(planned.map((v) => [v, groups.find(v)])),
    roles: new Map([...byNode].map(([n, r]) => [n.name, r])),
    fused,
    floatOutputs,
  };
}
