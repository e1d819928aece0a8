/**
 * The timeline (`vta run --timeline FILE.json`) in Chrome's trace-event format, which Perfetto and
 * chrome://tracing open: a process per kernel run, a thread per stage (fetch, load, compute,
 * store), one complete ('X') event per instruction named by its disassembly. Times are cycles,
 * written as microseconds (1 cycle = 1 µs on screen).
 */
import type { VtaConfig } from '../config/config.ts';
import { TIMELINE_STAGES, type StageSpan } from '../drivers/api.ts';
import { describeMemory } from '../drivers/memory-model.ts';
import { disasmInsn } from '../isa/index.ts';
import type { Model } from './open.ts';
import type { RunReport } from './run.ts';

/** One run of an instruction stream: its bytes (for the disassembly), spans and cycle count. */
export interface TimelineRun {
  name: string;
  /** The stream's instructions, 16 bytes each, span `insn` at byte 16 × insn. */
  code: Uint8Array;
  spans: StageSpan[];
  cycles: number;
}

export interface TraceEvent {
  name: string;
  ph: 'X' | 'M';
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  cat?: string;
  args?: Record<string, string | number>;
}

export interface Trace {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ns' | 'ms';
  otherData: Record<string, string | number>;
}

/** Thread ids: fetch 1, load 2, compute 3, store 4. */
const tidOf = new Map(TIMELINE_STAGES.map((s, i) => [s, i + 1]));

function metadata(pid: number, run: TimelineRun): TraceEvent[] {
  return [
    { name: 'process_name', ph: 'M', pid, tid: 0, args: { name: `${run.name} (${run.cycles} cycles)` } },
    { name: 'process_sort_index', ph: 'M', pid, tid: 0, args: { sort_index: pid } },
    ...TIMELINE_STAGES.flatMap((stage): TraceEvent[] => [
      { name: 'thread_name', ph: 'M', pid, tid: tidOf.get(stage)!, args: { name: stage } },
      { name: 'thread_sort_index', ph: 'M', pid, tid: tidOf.get(stage)!, args: { sort_index: tidOf.get(stage)! } },
    ]),
  ];
}

export function buildTrace(cfg: VtaConfig, runs: TimelineRun[], about: Record<string, string | number>): Trace {
  const events: TraceEvent[] = [];
  runs.forEach((run, i) => {
    const pid = i + 1;
    events.push(...metadata(pid, run));
    for (const s of run.spans) {
      const text = disasmInsn(cfg, run.code, s.insn * 16);
      events.push({ name: text, ph: 'X', cat: s.stage, pid, tid: tidOf.get(s.stage)!, ts: s.start, dur: s.end - s.start, args: { insn: s.insn, disasm: text } });
    }
  });
  return { traceEvents: events, displayTimeUnit: 'ns', otherData: { ...about, timeUnit: '1 µs in the trace = 1 VTA cycle' } };
}

/** The timeline of a runModel run with `timeline` (the api equivalent of `vta run --timeline`). */
export function traceOfRun(model: Model, run: RunReport): Trace {
  return buildTrace(model.config, run.timeline ?? [], { driver: run.driver, config: model.config.bitstream, memory: run.memory ? describeMemory(run.memory) : 'no clock' });
}
