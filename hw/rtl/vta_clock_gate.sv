// Integrated clock gate: the enable is latched while the clock is low and ANDed with it, so the
// gated clock has only whole pulses (an enable that changes while the clock is high waits for
// the next low phase). Maps to a library ICG cell on an ASIC and to a BUFGCE on an FPGA.
module vta_clock_gate (
  input  logic clk_i,
  input  logic en_i,
  output logic clk_o
);
  logic en_q;
  always_latch begin
    if (!clk_i) en_q = en_i;
  end
  assign clk_o = clk_i & en_q;
endmodule
