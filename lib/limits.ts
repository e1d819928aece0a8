/**
 * The largest inputs the toolchain accepts, each defined once here and described in
 * docs/limits.md. A file over its limit is refused (E_READ) before more than the limit is read,
 * whatever it is: a regular file by its size, a device or pipe (`/dev/zero`) as the limit is reached.
 */

const MiB = 2 ** 20;

/** The largest file of one kind, and how an error names the kind. */
export interface FileLimit {
  bytes: number;
  what: string;
}

/** Size limits of the files commands read, by kind. */
export const FILE_LIMITS = {
  /** An ONNX or vta-graph/1 model: ResNet-50 in float32 is about 100 MiB. */
  model: { bytes: 256 * MiB, what: 'a model' },
  /** A compiled package: weights packed once, plus code. */
  package: { bytes: 256 * MiB, what: 'a package' },
  /** A .npy tensor file (inputs, calibration and evaluation samples, labels). */
  tensor: { bytes: 256 * MiB, what: 'a tensor file' },
  /** A run bundle (JSON, its memory image in base64). */
  bundle: { bytes: 128 * MiB, what: 'a bundle' },
  /** A program: assembly text or instruction binary. */
  program: { bytes: 64 * MiB, what: 'a program' },
  /** A VTA config or a fusion-rules file: a few hundred bytes in practice. */
  settings: { bytes: 1 * MiB, what: 'a config or rules file' },
} as const satisfies Record<string, FileLimit>;

/** Elements of one tensor (a model's input, constant or intermediate, or a .npy file's array). */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;

/** Bytes of a .npy header, as NumPy (its max_header_size): a longer one is refused unparsed. */
export const MAX_NPY_HEADER_BYTES = 10_000;

/** Bytes of a bundle's outputs, all together (read back from the device after the run). */
export const MAX_BUNDLE_OUTPUT_BYTES = 2 ** 26;

/** Work of one fsim run (instructions plus uop-iterations) when no budget is given. */
export const DEFAULT_WORK_BUDGET = 1e9;

/** Cycles of one clocked (RTL) run when no budget is given: a few minutes of tsim. */
export const DEFAULT_CYCLE_BUDGET = 200_000_000;
