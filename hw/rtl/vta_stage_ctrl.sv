// Instruction sequencing shared by the load, compute and store stages: take the head of the
// stage's instruction queue, wait until every requested token is available (pop_prev/pop_next),
// consume them, start the stage's engine, and when it reports done post the requested tokens
// (push_prev/push_next) and retire the instruction. Flags a stage has no neighbour for are
// ignored (spec §3.9).
`include "vta_assert.svh"

module vta_stage_ctrl
  import vta_pkg::*;
#(
  parameter bit HasPrev = 1'b1,
  parameter bit HasNext = 1'b1
) (
  input  logic                clk_i,
  input  logic                rst_ni,
  input  logic                enable_i,     // low after a fault: nothing starts
  input  logic                insn_valid_i,
  input  logic [InsnBits-1:0] insn_i,
  output logic                insn_pop_o,
  input  logic                prev_avail_i,
  input  logic                next_avail_i,
  output logic                prev_wait_o,
  output logic                next_wait_o,
  output logic                prev_post_o,
  output logic                next_post_o,
  output logic                start_o,
  input  logic                done_i,
  output logic [1:0]          state_o,      // 0 idle, 1 waiting for a token, 2 busy
  output logic                busy_o,
  output logic                stall_o,
  output logic                blocked_o     // cannot progress by itself
);
  logic pop_prev, pop_next, push_prev, push_next;
  assign pop_prev  = HasPrev && insn_i[MemPopPrevLsb];
  assign pop_next  = HasNext && insn_i[MemPopNextLsb];
  assign push_prev = HasPrev && insn_i[MemPushPrevLsb];
  assign push_next = HasNext && insn_i[MemPushNextLsb];

  logic busy_q, tokens_ok, fire, retire;
  assign tokens_ok = (!pop_prev || prev_avail_i) && (!pop_next || next_avail_i);
  assign fire      = !busy_q && enable_i && insn_valid_i && tokens_ok;
  assign start_o   = fire;
  assign retire    = (fire || busy_q) && done_i;

  assign prev_wait_o = fire && pop_prev;
  assign next_wait_o = fire && pop_next;
  assign prev_post_o = retire && push_prev;
  assign next_post_o = retire && push_next;
  assign insn_pop_o  = retire;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      busy_q <= 1'b0;
    end else if (fire && !done_i) begin
      busy_q <= 1'b1;
    end else if (busy_q && done_i) begin
      busy_q <= 1'b0;
    end
  end

  assign busy_o    = busy_q || fire;
  assign stall_o   = !busy_q && insn_valid_i && !tokens_ok;
  assign blocked_o = !busy_q && (!insn_valid_i || !tokens_ok);
  assign state_o   = busy_q ? 2'd2 : (insn_valid_i && !tokens_ok) ? 2'd1 : 2'd0;

  `VTA_ASSERT(StateLegal, state_o != 2'd3)
  // The engine reports done only for the instruction it runs: a stray done would retire nothing.
  `VTA_ASSERT_NEVER(NoDoneWhenIdle, done_i && !busy_o)
  // The head instruction stays put while it runs.
  `VTA_ASSERT_NEVER(NoPopWhenBusy, busy_q && !insn_valid_i)
endmodule
