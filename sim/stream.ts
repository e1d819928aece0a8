/**
 * Reading and routing an instruction stream before it runs (spec §3.8, §3.9): every instruction is
 * decoded, given its stage and the token queues it pops and pushes, and checked (unknown opcode or
 * memory type, dependency flags the stage does not have, no FINISH, an instruction after FINISH that
 * nothing orders before it: finish-order.ts). Any driver that runs streams calls this first, so
 * every backend refuses bad programs with the same one-line errors.
 */
import type { VtaConfig } from '../config/config.ts';
import { DramError, type DeviceMemory } from './memory.ts';
import { EncodingError, MEM_TYPE, MEM_TYPE_NAMES, OPCODE, type Insn, disasmInsn } from '../isa/index.ts';
import { STAGE, STAGE_NAMES, type Stage, stageOf, tokenUses } from '../isa/pipeline.ts';
import { decodeStreamInsn } from './decode.ts';
import { SIM_CODES, SimError, insnError } from './errors.ts';
import { checkAfterFinishOrdered } from './finish-order.ts';

/** No queue: the slot of a pop or push the instruction does not make. */
export const NONE = -1;

/** An instruction prepared for the run: its stage, the queues it pops and pushes, its work. */
export interface Routed {
  index: number;
  insn: Insn;
  stage: Stage;
  pop0: number;
  pop1: number;
  push0: number;
  push1: number;
  /** 1 + uop-iterations: what the instruction costs against the budget. */
  cost: number;
}

/** A decoded, routed instruction stream. */
export interface Program {
  bytes: Uint8Array;
  routed: Routed[];
  /** Instruction indices per stage, in program order. */
  stageQueues: number[][];
}

const hex = (n: number) => '0x' + n.toString(16);

/** Why no stage can run a decoded instruction (only LOADs can lack one once decoding succeeded). */
function noStageReason(insn: Insn): string {
  const type = insn.opcode === OPCODE.LOAD ? insn.memory_type : -1;
  if (type === MEM_TYPE.OUT) return 'LOAD cannot target memory type OUT (OUT is written by STORE only)';
  return `unknown memory type ${type} (known: ${MEM_TYPE_NAMES.map((n, i) => `${n} ${i}`).join(', ')})`;
}

function route(cfg: VtaConfig, bytes: Uint8Array, words: Uint32Array, index: number): Routed {
  let insn: Insn;
  try {
    insn = decodeStreamInsn(cfg, words, index);
  } catch (e) {
    if (e instanceof EncodingError) throw insnError(index, disasmInsn(cfg, bytes, index * 16), e.message);
    throw e;
  }
  const stage = stageOf(insn.opcode, insn.opcode === OPCODE.LOAD ? insn.memory_type : 0);
  if (stage === undefined) throw insnError(index, disasmInsn(cfg, bytes, index * 16), noStageReason(insn));
  const slots = { pop_prev: NONE, pop_next: NONE, push_prev: NONE, push_next: NONE };
  for (const { flag, queue } of tokenUses(stage, insn)) {
    if (queue === undefined) {
      const why = stage === STAGE.LOAD ? 'the load stage has no previous stage' : 'the store stage has no next stage';
      throw insnError(index, disasmInsn(cfg, bytes, index * 16), `${flag} is illegal on a ${STAGE_NAMES[stage]}-stage instruction (${why})`);
    }
    slots[flag] = queue;
  }
  let cost = 1;
  if (insn.opcode === OPCODE.GEMM || insn.opcode === OPCODE.ALU) {
    cost += insn.iter_out * insn.iter_in * Math.max(0, insn.uop_end - insn.uop_bgn);
  }
  return { index, insn, stage, pop0: slots.pop_prev, pop1: slots.pop_next, push0: slots.push_prev, push1: slots.push_next, cost };
}

/**
 * Decode, route and check a whole stream (bytes as read from device memory). Throws a one-line
 * SimError naming the first bad instruction, or the missing FINISH.
 */
export function routeStream(cfg: VtaConfig, bytes: Uint8Array, insnPhys: number): Program {
  const count = bytes.length / 16;
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, count * 4);
  const routed: Routed[] = new Array(count);
  const stageQueues: number[][] = [[], [], []];
  let hasFinish = false;
  for (let i = 0; i < count; i++) {
    const r = route(cfg, bytes, words, i);
    routed[i] = r;
    stageQueues[r.stage]!.push(i);
    if (r.insn.opcode === OPCODE.FINISH) hasFinish = true;
  }
  if (!hasFinish) {
    throw new SimError(SIM_CODES.noFinish, `instruction stream at ${hex(insnPhys)} (${count} instructions) has no FINISH, so the run could never end`);
  }
  const program = { bytes, routed, stageQueues };
  checkAfterFinishOrdered(cfg, program);
  return program;
}

/** Copy `count` instructions out of device memory at `insnPhys`, refusing a bad count or address. */
export function readStream(cfg: VtaConfig, memory: DeviceMemory, insnPhys: number, count: number): Uint8Array {
  if (!Number.isInteger(count) || count <= 0) {
    throw new SimError(SIM_CODES.run, `instruction count ${count} is invalid: a run needs at least one instruction (a FINISH)`);
  }
  // Any byte address is accepted, as in TVM's fsim: 40 conformance bundles start their stream at
  // 0x2345. Instructions are copied out of DRAM first, so alignment does not matter here.
  if (!Number.isInteger(insnPhys) || insnPhys <= 0) {
    throw new SimError(SIM_CODES.run, `instruction address ${insnPhys} is invalid: a physical address is a positive integer`);
  }
  let bytes: Uint8Array;
  try {
    bytes = memory.read(insnPhys, count * cfg.insnBytes);
  } catch (e) {
    if (e instanceof DramError) {
      throw new SimError(SIM_CODES.run, `instruction stream [${hex(insnPhys)}, ${hex(insnPhys + count * 16)}) (${count} instructions) is outside allocated device memory`);
    }
    throw e;
  }
  return bytes;
}
