/**
 * The 2-D burst command generator of the RTL (hw/rtl/vta_dma_cmd.sv): `rows` rows of `rowBytes`
 * bytes, row r at base + r*stride, each covered by whole bus beats, cut into bursts of at most
 * MAX_BURST_BEATS beats that never cross a 4 KiB boundary. One burst is offered at a time; the
 * channel takes it (`advance`) in some cycle, and the next one is offered from the next cycle.
 */

/** AXI burst length cap of the RTL (hw/gen-params.ts MaxBurstBeats). */
export const MAX_BURST_BEATS = 16;
const PAGE = 4096;

export class DmaCmd {
  busy = false;
  private rowStart = 0;
  private cur = 0;
  private end = 0;
  private rowsLeft = 0;
  private stride = 0;
  private rowBytes = 0;

  constructor(private readonly busBytes: number) {}

  private alignDown(a: number): number {
    return a - (a % this.busBytes);
  }

  private openRow(start: number): void {
    this.rowStart = start;
    this.cur = this.alignDown(start);
    this.end = this.alignDown(start + this.rowBytes + this.busBytes - 1);
  }

  /** Start a command (offered from the next cycle); an empty one does nothing. */
  start(base: number, rows: number, rowBytes: number, stride: number): void {
    if (rows === 0 || rowBytes === 0) return;
    this.busy = true;
    this.rowsLeft = rows;
    this.stride = stride;
    this.rowBytes = rowBytes;
    this.openRow(base);
  }

  /** Beats of the burst on offer. */
  burstBeats(): number {
    const rem = (this.end - this.cur) / this.busBytes;
    const toPage = (PAGE - (this.cur % PAGE)) / this.busBytes;
    return Math.min(MAX_BURST_BEATS, rem, toPage);
  }

  /** The burst on offer was taken: offer the next one, or finish. */
  advance(): void {
    const next = this.cur + this.burstBeats() * this.busBytes;
    if (next !== this.end) {
      this.cur = next;
      return;
    }
    if (this.rowsLeft === 1) this.busy = false;
    this.rowsLeft--;
    this.openRow(this.rowStart + this.stride);
  }
}
