/**
 * The DRAM side of the core as the tsim bridge serves it (hw/bridge/bridge.cc, drivers/memory-model.ts):
 * read bursts are accepted while fewer than `outstanding` are open, answered in the order they were
 * accepted (whatever client asked), one beat per cycle from `readLatency` cycles after acceptance;
 * a beat its client does not take holds up the channel. A write burst's response comes
 * `writeLatency` cycles after its last beat. The read-address channel takes at most one burst per
 * cycle, fixed priority fetch, load, compute (hw/rtl/vta_mem_arb.sv).
 */
import type { MemoryModel } from '../memory-model.ts';

/** Read clients in arbitration order (their AXI ids). */
export const CLIENT = { FETCH: 0, LOAD: 1, COMPUTE: 2 } as const;

export class ReadChannel {
  private readonly client: number[] = [];
  private readonly beats: number[] = [];
  private readonly readyAt: number[] = [];
  private head = 0;

  constructor(private readonly memory: MemoryModel) {}

  /** Whether a burst can be accepted this cycle. */
  arReady(): boolean {
    return this.memory.outstanding === 0 || this.client.length - this.head < this.memory.outstanding;
  }

  /** The client whose beat is on the bus in cycle `c`, or -1. */
  beatClient(c: number): number {
    return this.head < this.client.length && this.readyAt[this.head]! <= c ? this.client[this.head]! : -1;
  }

  /** The cycle the front burst's beats become available, or Infinity when none is open. */
  nextBeatAt(): number {
    return this.head < this.client.length ? this.readyAt[this.head]! : Infinity;
  }

  accept(client: number, beats: number, c: number): void {
    this.client.push(client);
    this.beats.push(beats);
    this.readyAt.push(c + this.memory.readLatency);
  }

  /** Beats left in the front burst. */
  frontBeats(): number {
    return this.beats[this.head]!;
  }

  /** `n` beats of the front burst (all it has at most) were taken, one per cycle. */
  takeBeats(n: number): void {
    this.beats[this.head]! -= n - 1;
    this.take();
  }

  /** The beat on the bus was taken; true when it was its burst's last. */
  take(): boolean {
    const left = --this.beats[this.head]!;
    if (left > 0) return false;
    this.head++;
    if (this.head === this.client.length) {
      this.client.length = this.beats.length = this.readyAt.length = 0;
      this.head = 0;
    }
    return true;
  }
}

export class WriteResponses {
  private readonly at: number[] = [];
  private head = 0;

  constructor(private readonly memory: MemoryModel) {}

  /** A burst's last beat went out in cycle `c`. */
  lastBeat(c: number): void {
    this.at.push(c + this.memory.writeLatency);
  }

  /** Whether a response is on the bus in cycle `c` (taken at once: b_ready is always high). */
  take(c: number): boolean {
    if (this.head >= this.at.length || this.at[this.head]! > c) return false;
    this.head++;
    if (this.head === this.at.length) this.at.length = this.head = 0;
    return true;
  }

  nextAt(): number {
    return this.head < this.at.length ? this.at[this.head]! : Infinity;
  }
}
