/**
 * Turning a clocked driver's instruction events (an instruction started / ended in a stage at a
 * cycle) into spans, incrementally: tsim hands them over in chunks as it runs.
 */
import { TIMELINE_STAGES, type StageSpan } from './api.ts';

const FETCH = 0;
const START = 0;

export class SpanBuilder {
  readonly spans: StageSpan[] = [];
  /** Per stage: the running instruction's start cycle (load/compute/store). */
  private readonly open = new Map<number, { insn: number; start: number }>();
  /** Fetch: where the next fetch span starts (the cycle after the last dispatch). */
  private fetchFrom = 0;

  /** Events as words of four: cycle, stage (index into TIMELINE_STAGES), kind (0 start, 1 end), insn. */
  add(words: Uint32Array): void {
    for (let i = 0; i + 4 <= words.length; i += 4) {
      const [cycle, stage, kind, insn] = [words[i]!, words[i + 1]!, words[i + 2]!, words[i + 3]!];
      if (stage === FETCH) {
        this.push(stage, insn, this.fetchFrom, cycle + 1);
        this.fetchFrom = cycle + 1;
      } else if (kind === START) {
        this.open.set(stage, { insn, start: cycle });
      } else {
        const o = this.open.get(stage);
        this.open.delete(stage);
        this.push(stage, insn, o && o.insn === insn ? o.start : cycle, cycle + 1);
      }
    }
  }

  private push(stage: number, insn: number, start: number, end: number): void {
    this.spans.push({ stage: TIMELINE_STAGES[stage]!, insn, start, end });
  }

  /**
   * The spans by stage then time, the span of instruction `last` (FINISH) stretched to the run's
   * cycle count: the core drains after it retires, and that tail belongs to the run's end.
   */
  finish(cycles: number, last: number): StageSpan[] {
    const order = new Map(TIMELINE_STAGES.map((s, i) => [s, i]));
    const sorted = [...this.spans].sort((a, b) => order.get(a.stage)! - order.get(b.stage)! || a.start - b.start);
    for (const s of sorted) if (s.insn === last && s.stage !== 'fetch') s.end = Math.max(s.end, cycles);
    return sorted;
  }
}
