/**
 * Race checker: a SimObserver that flags every pair of SRAM accesses by different stages that
 * conflict (RAW, WAR, WAW) and are not ordered by dependency tokens, whatever order the simulator
 * happened to run them in. Happens-before is tracked with vector clocks: each stage counts its
 * instructions, a push sends the pusher's clock through the token queue, and a pop merges it into
 * the popper's clock. Footprints are exact: computed from the instruction fields and, for GEMM and
 * ALU, the uops in uop SRAM at the time the instruction runs.
 */
import type { VtaConfig } from '../config/config.ts';
import { type Insn, MEM_TYPE, OPCODE, formatInsn, uopFieldShifts } from '../isa/index.ts';
import { type InsnEvent, type QueueName, type SimObserver, STAGE_BY_NAME, STAGE_NAMES, type StageName } from '../isa/pipeline.ts';

type Buffer = 'uop' | 'inp' | 'wgt' | 'acc';

export interface RaceFinding {
  kind: 'RAW' | 'WAR' | 'WAW';
  buffer: Buffer;
  /** SRAM element index. */
  element: number;
  /** The earlier access (in the simulated order) and the one that conflicts with it. */
  first: { index: number; stage: StageName; text: string };
  second: { index: number; stage: StageName; text: string };
}

/** Per-element access history of one SRAM. Epoch 0 = never. */
class Shadow {
  readonly wStage: Int8Array;
  readonly wEpoch: Int32Array;
  readonly wInsn: Int32Array;
  readonly rEpoch: Int32Array[];
  readonly rInsn: Int32Array[];
  constructor(readonly depth: number) {
    this.wStage = new Int8Array(depth).fill(-1);
    this.wEpoch = new Int32Array(depth);
    this.wInsn = new Int32Array(depth);
    this.rEpoch = [0, 1, 2].map(() => new Int32Array(depth));
    this.rInsn = [0, 1, 2].map(() => new Int32Array(depth));
  }
}

export interface RaceCheckerOptions {
  /** Added to instruction indices in reports (position of the stream in a larger program). */
  insnBase?: number;
  /** Stop recording after this many findings (default 50). */
  maxFindings?: number;
}

export class RaceChecker implements SimObserver {
  private readonly clocks: Int32Array[] = [new Int32Array(3), new Int32Array(3), new Int32Array(3)];
  private readonly queues = new Map<QueueName, Int32Array[]>();
  private readonly shadows: Record<Buffer, Shadow>;
  private readonly texts = new Map<number, string>();
  private readonly list: RaceFinding[] = [];
  private readonly seen = new Set<string>();
  private readonly base: number;
  private readonly max: number;
  private readonly uopShift: ReturnType<typeof uopFieldShifts>;

  constructor(private readonly cfg: VtaConfig, options: RaceCheckerOptions = {}) {
    this.shadows = { uop: new Shadow(cfg.uopDepth), inp: new Shadow(cfg.inpDepth), wgt: new Shadow(cfg.wgtDepth), acc: new Shadow(cfg.accDepth) };
    this.base = options.insnBase ?? 0;
    this.max = options.maxFindings ?? 50;
    this.uopShift = uopFieldShifts(cfg);
  }

  onPop(stage: StageName, queue: QueueName): void {
    const clock = this.queues.get(queue)?.shift();
    if (!clock) return; // the simulator itself reports pops without tokens
    const mine = this.clocks[STAGE_BY_NAME[stage]]!;
    for (let i = 0; i < 3; i++) if (clock[i]! > mine[i]!) mine[i] = clock[i]!;
  }

  onPush(stage: StageName, queue: QueueName): void {
    let q = this.queues.get(queue);
    if (!q) this.queues.set(queue, (q = []));
    q.push(Int32Array.from(this.clocks[STAGE_BY_NAME[stage]]!));
  }

  beforeInsn(e: InsnEvent): void {
    const s = STAGE_BY_NAME[e.stage];
    const clock = this.clocks[s]!;
    clock[s]! += 1;
    this.texts.set(e.index, formatInsn(this.cfg, e.insn));
    this.footprint(e.insn, e.sram.uop, (buf, idx, write) => this.access(buf, idx, write, s, e.index));
  }

  /** All findings so far. */
  findings(): RaceFinding[] {
    return this.list;
  }

  /** One line per finding, naming both instructions by index and disassembly. */
  report(): string[] {
    return this.list.map(
      (f) =>
        `${f.kind} race on ${f.buffer}[${f.element}]: insn ${f.first.index} (${f.first.stage}: ${f.first.text}) and ` +
        `insn ${f.second.index} (${f.second.stage}: ${f.second.text}) are not ordered by dependency tokens`,
    );
  }

  private access(buf: Buffer, idx: number, write: boolean, s: number, insn: number): void {
    const sh = this.shadows[buf];
    if (idx < 0 || idx >= sh.depth) return; // out of range: the simulator reports it
    const clock = this.clocks[s]!;
    const ws = sh.wStage[idx]!;
    if (ws >= 0 && ws !== s && sh.wEpoch[idx]! > clock[ws]!) this.flag(write ? 'WAW' : 'RAW', buf, idx, sh.wInsn[idx]!, ws, insn, s);
    if (write) {
      for (let y = 0; y < 3; y++) {
        if (y !== s && sh.rEpoch[y]![idx]! > clock[y]!) this.flag('WAR', buf, idx, sh.rInsn[y]![idx]!, y, insn, s);
      }
      sh.wStage[idx] = s;
      sh.wEpoch[idx] = clock[s]!;
      sh.wInsn[idx] = insn;
    } else {
      sh.rEpoch[s]![idx] = clock[s]!;
      sh.rInsn[s]![idx] = insn;
    }
  }

  private flag(kind: RaceFinding['kind'], buffer: Buffer, element: number, i1: number, s1: number, i2: number, s2: number): void {
    const key = `${kind}:${i1}:${i2}`;
    if (this.seen.has(key) || this.list.length >= this.max) return;
    this.seen.add(key);
    const at = (i: number, s: number) => ({ index: this.base + i, stage: STAGE_NAMES[s]!, text: this.texts.get(i) ?? '?' });
    this.list.push({ kind, buffer, element, first: at(i1, s1), second: at(i2, s2) });
  }

  /** Call `f` for every SRAM element the instruction reads or writes. */
  private footprint(insn: Insn, uopSram: Uint32Array, f: (buf: Buffer, idx: number, write: boolean) => void): void {
    switch (insn.opcode) {
      case OPCODE.LOAD: {
        if (insn.x_size === 0) return;
        const n = (insn.y_size + insn.y_pad_0 + insn.y_pad_1) * (insn.x_size + insn.x_pad_0 + insn.x_pad_1);
        const t = insn.memory_type;
        const buf: Buffer | undefined =
          t === MEM_TYPE.UOP ? 'uop' : t === MEM_TYPE.INP ? 'inp' : t === MEM_TYPE.WGT ? 'wgt' : t === MEM_TYPE.ACC || t === MEM_TYPE.ACC_8BIT ? 'acc' : undefined;
        if (buf) for (let i = 0; i < n; i++) f(buf, insn.sram_base + i, true);
        return;
      }
      case OPCODE.STORE: {
        if (insn.x_size === 0) return;
        const n = insn.y_size * insn.x_size;
        for (let i = 0; i < n; i++) f('acc', insn.sram_base + i, false);
        return;
      }
      case OPCODE.GEMM:
      case OPCODE.ALU: {
        const { dst, src, wgt } = this.uopShift;
        const gemm = insn.opcode === OPCODE.GEMM;
        const readsSrc = gemm ? !insn.reset_reg : insn.use_imm === 0;
        for (let k = insn.uop_bgn; k < insn.uop_end; k++) f('uop', k, false);
        for (let i = 0; i < insn.iter_out; i++) {
          for (let j = 0; j < insn.iter_in; j++) {
            for (let k = insn.uop_bgn; k < insn.uop_end; k++) {
              const u = uopSram[k]!;
              const d = ((u >>> dst[0]) & dst[1]) + i * insn.dst_factor_out + j * insn.dst_factor_in;
              const x = ((u >>> src[0]) & src[1]) + i * insn.src_factor_out + j * insn.src_factor_in;
              if (readsSrc) f(gemm ? 'inp' : 'acc', x, false);
              if (gemm && !insn.reset_reg) {
                f('wgt', ((u >>> wgt[0]) & wgt[1]) + i * insn.wgt_factor_out + j * insn.wgt_factor_in, false);
              }
              f('acc', d, true);
            }
          }
        }
        return;
      }
      default:
        return;
    }
  }
}
