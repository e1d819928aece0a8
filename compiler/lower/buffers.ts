/**
 * DRAM buffer names of a kernel. Names are the memory plan's keys: `act:T` holds activation T
 * packed, `im2col:T` a kernel's im2col image of T, `const:T` constant T packed as an activation, `const:B:bias` a packed channel vector (a bias or per-channel multipliers), and each
 * kind names its packed weight (compiler/lower/*.ts).
 */

/** DRAM buffer names a kernel reads and writes. */
export interface KernelBuffers {
  input: string;
  /** Second operand of an element-wise add. */
  input2?: string;
  weight?: string;
  /** Channel-vector buffer per bias_add / per-channel requantize node, by node name. */
  bias: Map<string, string>;
  /** One ACC tile per resident epilogue constant (epilogue.ts residentConstants), by value. */
  constants?: Map<number, string>;
  output: string;
  /** Set for an int32 output: tiles per 8-bit plane (the output buffer holds four planes). */
  int32PlaneTiles?: number;
}

export const actBuffer = (tensor: string) => `act:${tensor}`;
export const constBuffer = (tensor: string) => `const:${tensor}`;
/** A channel vector; with an offset (fold-epilogue.ts), that constant is added to every lane. */
export const biasBuffer = (tensor: string, offset = 0) => `const:${tensor}:bias${offset === 0 ? '' : `:plus:${offset}`}`;
/** An accumulator tile holding `value` in every lane (a resident epilogue constant). */
export const uniformBuffer = (value: number) => `const:uniform:${value}`;
/** A kernel's own im2col image of its input tensor (lower/conv.ts), packed by the executor on every run. */
export const im2colBuffer = (tensor: string) => `im2col:${tensor}`;
/** Buffers the executor fills at run time (activations), as opposed to the constant image. */
export const isActivationBuffer = (buffer: string) => buffer.startsWith('act:') || buffer.startsWith('im2col:');

/** The buffers in the order the memory plan places them (the order fixes every offset). */
export function placementOrder(b: KernelBuffers): string[] {
  return [...b.bias.values(), ...(b.constants?.values() ?? []), b.output, ...(b.weight ? [b.weight] : []), b.input, ...(b.input2 ? [b.input2] : [])];
}

/** Whether a tensor is one of the graph's constants (own keys only: tensor names are user data). */
export const isConstant = (graph: { tensors: object }, tensor: string) => Object.hasOwn(graph.tensors, tensor);
