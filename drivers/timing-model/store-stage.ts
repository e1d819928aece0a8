/**
 * The store engine as hw/rtl/vta_store.sv runs a STORE: write bursts are addressed one per cycle
 * while the 4-entry burst-length FIFO has room; OUT tiles are read into a two-entry buffer (a read
 * takes a cycle to land, and one is issued only while buffer plus read in flight hold fewer than
 * two); beats go out one per cycle from the buffer's head once their burst is addressed (tiles
 * narrower than a beat are gathered into one strobed beat). The STORE is done when every tile
 * went out, every burst was addressed and every write response came back.
 */
import type { MemInsn } from '../../isa/index.ts';
import { DmaCmd } from './dma-cmd.ts';
import type { WriteResponses } from './memory-bus.ts';

const LEN_FIFO_DEPTH = 4;
const TILE_FIFO_DEPTH = 2;

export class StoreEngine {
  private readonly dma: DmaCmd;
  private readonly narrow: boolean;
  private readonly outBeats: number;
  private running = false;
  private rdLeft = 0;
  private wrLeft = 0;
  private rdInflight = false;
  private tileCount = 0;
  private readonly lens: number[] = [];
  private burstBeat = 0;
  private beatQ = 0;
  private bPending = 0;
  /** Narrow tiles: offsets in the beat, column in the row, row length. */
  private off = 0;
  private rowOff = 0;
  private strideOff = 0;
  private col = 0;
  private xSize = 0;
  /** Write beats sent (the mem_write_beats counter). */
  writeBeats = 0;

  constructor(
    private readonly busBytes: number,
    private readonly tileBytes: number,
    private readonly responses: WriteResponses,
  ) {
    this.dma = new DmaCmd(busBytes);
    this.narrow = tileBytes < busBytes;
    this.outBeats = this.narrow ? 1 : tileBytes / busBytes;
  }

  /** Start a STORE; true when it is done at once (nothing to write). */
  start(insn: MemInsn): boolean {
    if (insn.x_size === 0 || insn.y_size === 0) return true;
    const addr = insn.dram_base * this.tileBytes;
    const strideBytes = insn.x_stride * this.tileBytes;
    this.running = true;
    this.rdLeft = this.wrLeft = insn.x_size * insn.y_size;
    this.xSize = insn.x_size;
    this.rowOff = addr % this.busBytes;
    this.strideOff = strideBytes % this.busBytes;
    this.col = 0;
    this.dma.start(addr, insn.y_size, insn.x_size * this.tileBytes, strideBytes);
    return false;
  }

  /** The cycle of the next write response, for skipping idle cycles. */
  nextTimer(): number {
    return this.running ? this.responses.nextAt() : Infinity;
  }

  /** Whether a running STORE is done in the cycle it is about to run (what tick would say). */
  doneNow(): boolean {
    return this.wrLeft === 0 && !this.dma.busy && this.bPending === 0 && !this.rdInflight;
  }

  /** One cycle of a running STORE: whether it is done this cycle, and whether anything moved. */
  tick(c: number): { done: boolean; moved: boolean } {
    // Combinational view of this cycle (registered state only).
    const lenCount = this.lens.length;
    const awFire = this.dma.busy && lenCount < LEN_FIFO_DEPTH;
    const rdIssue = this.rdLeft > 0 && this.tileCount + (this.rdInflight ? 1 : 0) < TILE_FIFO_DEPTH;
    const tileValid = this.tileCount > 0;
    const lenValid = lenCount > 0;
    let wFire: boolean;
    let tilePop: boolean;
    let beatEnd = true;
    let curOff = 0;
    if (!this.narrow) {
      wFire = tileValid && lenValid;
      tilePop = wFire && this.beatQ === this.outBeats - 1;
    } else {
      curOff = this.col === 0 ? this.rowOff : this.off;
      beatEnd = curOff + this.tileBytes >= this.busBytes || this.col === this.xSize - 1;
      wFire = tileValid && lenValid && beatEnd;
      tilePop = beatEnd ? wFire : tileValid;
    }
    const bFire = this.responses.take(c);
    const done = this.doneNow();

    // Registered updates.
    const landed = this.rdInflight;
    this.rdInflight = rdIssue;
    this.tileCount += (landed ? 1 : 0) - (tilePop ? 1 : 0);
    if (rdIssue) this.rdLeft--;
    if (wFire) {
      this.writeBeats++;
      const last = this.burstBeat === this.lens[0];
      this.burstBeat = last ? 0 : this.burstBeat + 1;
      if (last) {
        this.lens.shift();
        this.responses.lastBeat(c);
      }
      if (!this.narrow) this.beatQ = this.beatQ === this.outBeats - 1 ? 0 : this.beatQ + 1;
    }
    if (awFire) {
      this.lens.push(this.dma.burstBeats() - 1);
      this.dma.advance();
    }
    if (awFire && !bFire) this.bPending++;
    else if (!awFire && bFire) this.bPending--;
    if (tilePop) {
      this.wrLeft--;
      if (this.narrow) {
        const rowEnd = this.col === this.xSize - 1;
        this.off = (curOff + this.tileBytes) % this.busBytes;
        this.col = rowEnd ? 0 : this.col + 1;
        if (rowEnd) this.rowOff = (this.rowOff + this.strideOff) % this.busBytes;
      }
    }
    if (done) this.running = false;
    if (done) return DONE;
    return awFire || rdIssue || landed || wFire || tilePop || bFire ? MOVED : WAITING;
  }
}

const DONE = { done: true, moved: true };
const MOVED = { done: false, moved: true };
const WAITING = { done: false, moved: false };
