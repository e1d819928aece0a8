/**
 * One 2-D LOAD with padding as hw/rtl/vta_tensor_load.sv and vta_pad_walk.sv run it: the walk
 * offers one destination tile per cycle from the cycle after the start; a pad tile is taken at
 * once, a data tile when its beats have come (a tile of whole beats: one beat per cycle; a tile
 * narrower than a beat: one tile per cycle while its beat is on the bus, the beat taken with the
 * beat's or the row's last tile). The read bursts are issued from the cycle after the start. The
 * load is done the cycle after its last tile is taken (at once when it is empty).
 */
import type { MemInsn } from '../../isa/index.ts';
import { DmaCmd } from './dma-cmd.ts';

const IDLE = 0;
const RUN = 1;
const LAST = 2;

export class TensorLoad {
  readonly dma: DmaCmd;
  private state = IDLE;
  private tileBytes = 0;
  private narrow = false;
  private lastBeat = 0;
  private beat = 0;
  private row = 0;
  private col = 0;
  private xTotal = 0;
  private yTotal = 0;
  private yLo = 0;
  private yHi = 0;
  private xLo = 0;
  private xHi = 0;
  /** Narrow tiles: byte offset in its beat of the next tile, of the current row's first tile, and the stride's step. */
  private part = 0;
  private rowOff = 0;
  private strideOff = 0;
  /** Tiles written by the running load (data and pad), for the ACC write count. */
  tiles = 0;

  constructor(private readonly busBytes: number) {
    this.dma = new DmaCmd(busBytes);
  }

  get busy(): boolean {
    return this.state !== IDLE;
  }

  /** Start `insn` whose tiles are `tileBytes` bytes at `dramAddr`; true when it is done at once (empty). */
  start(insn: MemInsn, tileBytes: number, dramAddr: number): boolean {
    const xTotal = insn.x_pad_0 + insn.x_size + insn.x_pad_1;
    const yTotal = insn.y_pad_0 + insn.y_size + insn.y_pad_1;
    if (insn.x_size === 0 || yTotal === 0) return true;
    const strideBytes = insn.x_stride * tileBytes;
    this.state = RUN;
    this.tileBytes = tileBytes;
    this.narrow = tileBytes < this.busBytes;
    this.lastBeat = this.narrow ? 0 : tileBytes / this.busBytes - 1;
    this.beat = 0;
    this.row = 0;
    this.col = 0;
    this.xTotal = xTotal;
    this.yTotal = yTotal;
    this.yLo = insn.y_pad_0;
    this.yHi = insn.y_pad_0 + insn.y_size;
    this.xLo = insn.x_pad_0;
    this.xHi = insn.x_pad_0 + insn.x_size;
    this.rowOff = dramAddr % this.busBytes;
    this.strideOff = strideBytes % this.busBytes;
    this.part = 0;
    this.tiles = xTotal * yTotal;
    this.dma.start(dramAddr, insn.y_size, insn.x_size * tileBytes, strideBytes);
    return false;
  }

  private isPad(): boolean {
    return this.row < this.yLo || this.row >= this.yHi || this.col < this.xLo || this.col >= this.xHi;
  }

  private curOff(): number {
    return this.col === this.xLo ? this.rowOff : this.part;
  }

  /** Whether the load takes a beat this cycle if one of its own is on the bus (r_ready). */
  rReady(): boolean {
    if (this.state !== RUN || this.isPad()) return false;
    if (!this.narrow) return true;
    return this.curOff() + this.tileBytes >= this.busBytes || this.col === this.xHi - 1;
  }

  /**
   * Whether the load's tiles stay as they are while none of its beats is on the bus: idle, or at a
   * data tile (its bursts may still be addressed meanwhile).
   */
  stillWithoutBeats(): boolean {
    return this.state === IDLE || (this.state === RUN && !this.isPad());
  }

  /**
   * One cycle: `beatOnBus` says one of this load's beats is on the bus (taken when rReady()).
   * Returns whether the load is done this cycle; `moved` whether its state changed.
   */
  tick(beatOnBus: boolean): { done: boolean; moved: boolean } {
    if (this.state === LAST) {
      this.state = IDLE;
      return DONE;
    }
    if (this.state !== RUN) return IDLE_TICK;
    let take = false;
    if (this.isPad()) {
      take = true;
    } else if (beatOnBus) {
      if (this.narrow) {
        take = true;
        const next = this.curOff() + this.tileBytes;
        if (this.col === this.xHi - 1) this.rowOff = (this.rowOff + this.strideOff) % this.busBytes;
        this.part = next % this.busBytes;
      } else if (this.beat === this.lastBeat) {
        take = true;
        this.beat = 0;
      } else {
        this.beat++;
        return MOVED;
      }
    }
    if (!take) return IDLE_TICK;
    this.nextSlot();
    return MOVED;
  }

  private nextSlot(): void {
    if (this.col === this.xTotal - 1) {
      this.col = 0;
      if (this.row === this.yTotal - 1) this.state = LAST;
      this.row++;
    } else {
      this.col++;
    }
  }

  /**
   * Beats the load takes one per cycle from now on without a pad slot in between: the rest of the
   * row's data tiles, when its tiles are whole beats and the current slot is data (else 0).
   */
  streamBeats(): number {
    if (this.state !== RUN || this.narrow || this.isPad()) return 0;
    const perTile = this.lastBeat + 1;
    return perTile - this.beat + (this.xHi - 1 - this.col) * perTile;
  }

  /** Take `n` beats (at most streamBeats()), one per cycle: what n cycles of tick(true) do. */
  takeBeats(n: number): void {
    const perTile = this.lastBeat + 1;
    let total = this.beat + n;
    while (total >= perTile) {
      total -= perTile;
      this.nextSlot();
    }
    this.beat = total;
  }
}

const DONE = { done: true, moved: true };
const MOVED = { done: false, moved: true };
const IDLE_TICK = { done: false, moved: false };
