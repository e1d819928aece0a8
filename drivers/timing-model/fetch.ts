/**
 * Instruction fetch as hw/rtl/vta_fetch.sv runs it: the stream's beat-aligned span is read in
 * bursts (vta_dma_cmd), one burst open at a time and only when the instruction buffer can take
 * all of it; an instruction enters the buffer with the beat that ends it, and the buffer's head
 * goes to its stage's queue, at most one per cycle, when that queue has room.
 */
import { DmaCmd, MAX_BURST_BEATS } from './dma-cmd.ts';

/** Bits of an instruction (spec: 128). */
const INSN_BYTES = 16;

export class Fetch {
  readonly dma: DmaCmd;
  private readonly insnBeats: number;
  private readonly burstInsns: number;
  private readonly bufDepth: number;
  private readonly offset: number;
  private burstOpen = false;
  private beatIdx = 0;
  /** Instructions that entered the buffer / left it. */
  fetched = 0;
  dispatched = 0;
  /** Busy from launch until the cycle after the last dispatch (the RTL's active_q). */
  active = true;

  constructor(
    busBytes: number,
    insnAddr: number,
    readonly count: number,
  ) {
    this.dma = new DmaCmd(busBytes);
    this.insnBeats = INSN_BYTES / busBytes;
    this.burstInsns = MAX_BURST_BEATS / this.insnBeats + 1;
    this.bufDepth = this.burstInsns > 16 ? 32 : 16;
    this.offset = insnAddr % busBytes;
    const beats = count * this.insnBeats + (this.offset !== 0 ? 1 : 0);
    this.dma.start(insnAddr - this.offset, 1, beats * busBytes, 0);
  }

  get buffered(): number {
    return this.fetched - this.dispatched;
  }

  arValid(): boolean {
    return this.dma.busy && !this.burstOpen && this.buffered + this.burstInsns <= this.bufDepth;
  }

  /**
   * Whether fetch stays as it is while no instruction leaves its buffer and none of its beats is
   * on the bus: no burst it may ask for (`arReady`: the channel takes one), and not about to end
   * (the cycle after the last dispatch).
   */
  still(arReady: boolean): boolean {
    return !(arReady && this.arValid()) && !(this.active && this.dispatched === this.count);
  }

  granted(): void {
    this.dma.advance();
    this.burstOpen = true;
  }

  /** A fetch beat was taken (`last`: its burst's last beat). */
  beat(last: boolean): void {
    const ends = this.offset === 0 ? (this.beatIdx + 1) % this.insnBeats === 0 : this.beatIdx % this.insnBeats === 0 && this.beatIdx !== 0;
    this.beatIdx++;
    if (last) this.burstOpen = false;
    if (ends) this.fetched++;
  }
}
