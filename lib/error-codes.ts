/**
 * The error catalogue: every code a VtaError can carry, defined here once with its meaning.
 * `VtaError` takes an `ErrorCode`, so a code that is not in this table does not compile;
 * `vta errors` prints the table and docs/errors.md is generated from it (a test keeps them equal).
 */
import { maxOf } from './array-loops.ts';

export const ERROR_CODES = {
  // Command line and files
  E_USAGE: 'a command-line argument or option is missing, malformed, or clashes with another',
  E_READ: 'a file or folder cannot be read, or is larger than the size a command accepts',
  E_WRITE: 'an output file cannot be written (it is a folder, a device, or an input of the same command)',
  E_NPY: 'a .npy file is malformed or holds a dtype other than int8, uint8, int32 or float32',
  // Configuration, ISA
  E_CONFIG: 'a VTA config (vta_config.json keys) has a missing, unknown or out-of-range key, or its fields do not fit the instruction',
  E_ENCODING: 'an instruction field value does not fit its bit width, or the bytes are not a valid instruction',
  E_ASM: 'assembly text cannot be assembled, or a binary is not a whole number of instructions',
  // Simulators and drivers
  E_DRAM: 'an access outside the device memory that was allocated',
  E_SIM_INSN: 'an instruction cannot execute: a bad field, an SRAM index out of range, or a bad DRAM address',
  E_SIM_DEADLOCK: 'every stage waits for a token that never comes',
  E_SIM_TOKENS: 'tokens were left in a dependency queue when FINISH completed',
  E_SIM_UNRUN: 'instructions were still queued when FINISH completed',
  E_SIM_NO_FINISH: 'the instruction stream ended without a FINISH',
  E_SIM_RUN: 'the arguments of a run (instruction count, stream address) are wrong',
  E_SIM_BUDGET: 'a run exceeded its work or cycle budget (a runaway loop, or a budget set too low)',
  E_RTL_ASSERT: 'an assertion of the RTL fired under tsim: the program broke an invariant the hardware relies on',
  E_DRIVER: 'a driver is unknown, not built, closed, or was handed a buffer it does not own',
  E_BUNDLE: 'a run bundle (conformance kit format) is malformed',
  E_RACE: 'the race checker found two SRAM accesses that no dependency token orders',
  // Remote drivers (vta serve, --driver remote://HOST:PORT)
  E_REMOTE: 'a remote driver server cannot be reached, or the connection ended (server stopped, idle timeout, session ended)',
  E_REMOTE_AUTH: 'the server refused the token: VTA_REMOTE_TOKEN differs between client and server, or is missing on the client',
  E_REMOTE_PROTOCOL: 'a remote-driver frame is malformed, truncated, oversized, or speaks another protocol version',
  E_REMOTE_LIMIT: "a remote session exceeded one of the server's bounds (device memory, run budget, sessions)",
  // Runtime (command building)
  E_RUNTIME_ARG: 'a runtime call argument is out of range, not an integer, or does not fit its instruction field',
  E_RUNTIME_RANGE: 'a DMA would read or write outside its device buffer or SRAM',
  E_RUNTIME_ALIGN: "a buffer's physical address is not a multiple of the memory type's element size",
  E_RUNTIME_UOP_DEP: 'a micro-op writes the destination of one of the two micro-ops before it',
  E_RUNTIME_KERNEL: 'a micro-op kernel is malformed (loops after pushes, more than two loops, unbalanced, empty)',
  E_RUNTIME_DEP: 'a dependency between stages that have no token queue, or a bad stage id',
  E_RUNTIME_FULL: 'the stream or its micro-op image outgrew the largest DMA transfer',
  E_RUNTIME_DRIVER: 'the driver does not run the configuration the stream was built for',
  // Models and the compiler
  E_MODEL: 'a model (vta-graph/1) is malformed: unknown op or field, bad attribute, shape or dtype mismatch',
  E_ONNX: 'an ONNX file cannot be imported: not a valid model, or an operator or attribute that cannot be computed',
  E_ORT: 'onnxruntime cannot be loaded or refused the model during a cross-check',
  E_QUANTIZE: 'a float model cannot be quantized: already quantized, an operator the quantizer does not handle, or calibration data of the wrong shape or dtype, NaN or constant',
  E_UNKNOWN_OP: 'an op is neither lowerable to VTA nor executable on the host',
  E_UNTILEABLE: 'no tiling makes the operator fit the SRAM buffers or instruction fields of the config',
  E_NOT_OFFLOADED: 'a node had to run on VTA (offload all) but cannot',
  E_RULES: 'a fusion-rules file is malformed',
  E_PACKAGE: 'a .vtapkg package is malformed, damaged, or for another config',
  E_TUNING: 'a tuning file (vta tune) is malformed, for another config, or names a kernel the model does not have',
  E_GRID: 'a config grid (vta sweep) is malformed: an entry names an unknown field or a value out of range',
  E_INPUT: 'the inputs given to a run do not match the model (missing, wrong dtype or shape)',
  E_MISMATCH: 'a check found a difference between VTA and the reference executor',
  E_INTERNAL: 'a compiler pass broke an invariant: a bug of ours, reported with the node',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The catalogue as text: one `CODE  meaning` line per code (what `vta errors` prints). */
export function errorCatalogueText(): string {
  const width = maxOf(Object.keys(ERROR_CODES).map((c) => c.length));
  return Object.entries(ERROR_CODES)
    .map(([code, meaning]) => `${code.padEnd(width)}  ${meaning}`)
    .join('\n');
}
