/**
 * The tsim timeline and stall counters: spans from the RTL's own instruction events are well formed,
 * one per instruction per stage, non-overlapping within a stage, inside the run and the last one
 * ending at its cycle count (the FINISH); the trace-event JSON built from them is valid; the stall
 * causes add up with the busy cycles to no more than the run. For a conformance bundle and for a
 * compiled model.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelInputs, openModel, reportOfRun, runModel, traceOfRun, buildTrace, type Trace } from '../../api/index.ts';
import { defaultVtaConfig } from '../../config/config.ts';
import { TIMELINE_STAGES, type StageSpan } from '../../drivers/api.ts';
import tsim, { addonPath } from '../../drivers/backends/tsim.ts';
import { loadBundle, replayBundle } from '../../drivers/bundle.ts';
import { OPCODE } from '../../isa/fields.ts';
import type { Counters } from '../../sim/api.ts';
import { routeStream } from '../../sim/stream.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const cfg = defaultVtaConfig();

/** Every check the timeline must pass against the run's counters; returns the spans' latest end. */
function checkSpans(spans: StageSpan[], counters: Counters, insnCount: number): number {
  const cycles = counters.cycles!;
  for (const stage of TIMELINE_STAGES) {
    const mine = spans.filter((s) => s.stage === stage);
    for (const [i, s] of mine.entries()) {
      expect(Number.isInteger(s.start) && Number.isInteger(s.end), `${stage} span ${i}`).toBe(true);
      expect(s.start).toBeGreaterThanOrEqual(0);
      expect(s.end).toBeGreaterThan(s.start);
      expect(s.end).toBeLessThanOrEqual(cycles);
      expect(s.insn).toBeLessThan(insnCount);
      if (i > 0) expect(s.start, `${stage} span ${i} overlaps the one before`).toBeGreaterThanOrEqual(mine[i - 1]!.end);
    }
  }
  // Every instruction is fetched once and run once by its stage.
  expect(spans.filter((s) => s.stage === 'fetch').map((s) => s.insn).sort((a, b) => a - b)).toEqual([...Array(insnCount).keys()]);
  const ran = spans.filter((s) => s.stage !== 'fetch');
  expect(ran.length).toBe(insnCount);
  expect(ran.filter((s) => s.stage === 'load').length).toBe(counters.load_insns);
  expect(ran.filter((s) => s.stage === 'compute').length).toBe(counters.compute_insns);
  expect(ran.filter((s) => s.stage === 'store').length).toBe(counters.store_insns);
  return Math.max(...spans.map((s) => s.end));
}

/** The trace survives JSON, its complete events are well formed and name their instruction. */
function checkTrace(trace: Trace, spanCount: number): void {
  const parsed = JSON.parse(JSON.stringify(trace)) as Trace;
  const complete = parsed.traceEvents.filter((e) => e.ph === 'X');
  expect(complete.length).toBe(spanCount);
  for (const e of complete) {
    expect(typeof e.name === 'string' && e.name.length > 0).toBe(true);
    expect(e.args!.disasm).toBe(e.name);
    expect(e.ts! >= 0 && e.dur! > 0).toBe(true);
    expect(e.tid).toBe(TIMELINE_STAGES.indexOf(e.cat as never) + 1);
  }
  const threads = parsed.traceEvents.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => e.args!.name);
  expect(new Set(threads)).toEqual(new Set(TIMELINE_STAGES));
}

/** Stall causes are disjoint from busy cycles (token/fetch waits) or inside them (memory waits). */
function checkStalls(c: Counters): void {
  const cycles = c.cycles!;
  for (const s of ['load', 'compute', 'store']) {
    const busy = c[`${s}_busy_cycles`]!;
    expect(busy + c[`${s}_stall_cycles`]! + c[`${s}_insn_wait_cycles`]!, s).toBeLessThanOrEqual(cycles);
    expect(c[`${s}_mem_wait_cycles`]!, s).toBeLessThanOrEqual(busy);
  }
  expect(c.fetch_mem_wait_cycles! + c.fetch_stall_cycles!).toBeLessThanOrEqual(cycles);
}

describe.skipIf(!existsSync(addonPath(cfg)))('tsim timeline', () => {
  it('a conformance bundle: spans per stage non-overlapping, the last ending at the cycle count in FINISH', async () => {
    const bundle = loadBundle(join(ROOT, 'conformance', 'mixed-s1-legal-b1000.bundle.json'));
    const d = await tsim.open(bundle.config);
    try {
      const plain = await replayBundle(d, bundle);
      expect(plain.spans).toBeUndefined();
      const r = await replayBundle(d, bundle, { timeline: true });
      // Recording changes nothing the core does.
      expect(r.counters).toEqual(plain.counters);
      expect(r.outputs).toEqual(plain.outputs);
      const code = bundle.memory.data.slice(bundle.insn.addr - bundle.memory.base, bundle.insn.addr - bundle.memory.base + 16 * bundle.insn.count);
      const spans = r.spans!;
      const end = checkSpans(spans, r.counters, bundle.insn.count);
      expect(end).toBe(r.counters.cycles);
      const program = routeStream(bundle.config, code, bundle.insn.addr);
      const finish = program.routed.find((x) => x.insn.opcode === OPCODE.FINISH)!.index;
      const last = spans.filter((s) => s.stage !== 'fetch' && s.end === end);
      expect(last.map((s) => s.insn)).toContain(finish);
      checkTrace(buildTrace(bundle.config, [{ name: 'bundle', code, spans, cycles: end }], {}), spans.length);
      checkStalls(r.counters);
    } finally {
      d.close();
    }
  });

  it('a compiled model: every kernel timeline ends at its cycles; the report has utilisation, DRAM and stalls', async () => {
    const model = openModel(join(ROOT, 'models', 'cnn.onnx'));
    const run = await runModel(model, await modelInputs(model), { driver: 'tsim', timeline: true });
    expect(run.timeline!.map((t) => t.name)).toEqual(model.compiled.kernels.map((k) => k.name));
    for (const [i, t] of run.timeline!.entries()) {
      const counters = run.kernels[i]!.counters!;
      expect(checkSpans(t.spans, counters, model.compiled.kernels[i]!.insnCount)).toBe(counters.cycles);
      checkStalls(counters);
    }
    const trace = traceOfRun(model, run);
    checkTrace(trace, run.timeline!.reduce((a, t) => a + t.spans.length, 0));
    expect(new Set(trace.traceEvents.map((e) => e.pid)).size).toBe(model.compiled.kernels.length);

    const report = reportOfRun(model, run);
    expect(report.memory.description).toBe('ideal (read latency 1, no limit on outstanding reads, 64-bit bus, write latency 1)');
    expect(report.peak).toEqual({ macsPerCycle: cfg.batch * cfg.blockIn * cfg.blockOut, bytesPerCycle: 8 });
    const sumCycles = run.kernels.reduce((a, k) => a + k.counters!.cycles!, 0);
    expect(report.total!.cycles).toBe(sumCycles);
    for (const [i, k] of report.kernels.entries()) {
      const c = run.kernels[i]!.counters!;
      expect(k.gemmUtilisation).toBeCloseTo(c.gemm_counter / c.cycles!, 12);
      expect(k.gemmUtilisation!).toBeLessThanOrEqual(1);
      expect(k.stalls!.compute.token).toBe(c.compute_stall_cycles);
      expect(k.dram.moved).toBeGreaterThanOrEqual(k.dram.minimum);
    }
  });
});
