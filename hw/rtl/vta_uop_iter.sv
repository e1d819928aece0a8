// Index generator of GEMM and ALU (spec §3.4/§3.5): for i < iter_out, j < iter_in and
// uop_bgn <= k < uop_end it emits one (k, dst, src, wgt offset) per cycle, the offsets being
// i*factor_out + j*factor_in kept as running sums. Zero counts or an empty uop range emit
// nothing (no wrap-around).
`include "vta_assert.svh"

module vta_uop_iter
  import vta_pkg::*;
(
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        start_i,
  input  logic        kill_i,
  input  logic [15:0] uop_bgn_i,
  input  logic [15:0] uop_end_i,
  input  logic [15:0] iter_out_i,
  input  logic [15:0] iter_in_i,
  input  logic [31:0] dst_out_i,
  input  logic [31:0] dst_in_i,
  input  logic [31:0] src_out_i,
  input  logic [31:0] src_in_i,
  input  logic [31:0] wgt_out_i,
  input  logic [31:0] wgt_in_i,
  output logic        valid_o,
  output logic [15:0] uop_o,
  output logic [31:0] dst_o,
  output logic [31:0] src_o,
  output logic [31:0] wgt_o,
  output logic        busy_o
);
  logic        busy_q;
  logic [15:0] i_q, j_q, k_q;
  logic [31:0] dst_q, src_q, wgt_q;       // offsets of the current (i, j)
  logic [31:0] dst_ob_q, src_ob_q, wgt_ob_q;  // i * factor_out

  logic empty;
  assign empty = (iter_out_i == '0) || (iter_in_i == '0) || (uop_end_i <= uop_bgn_i);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      busy_q   <= 1'b0;
      i_q      <= '0;
      j_q      <= '0;
      k_q      <= '0;
      dst_q    <= '0;
      src_q    <= '0;
      wgt_q    <= '0;
      dst_ob_q <= '0;
      src_ob_q <= '0;
      wgt_ob_q <= '0;
    end else if (kill_i) begin
      busy_q <= 1'b0;
    end else if (!busy_q) begin
      if (start_i && !empty) begin
        busy_q   <= 1'b1;
        i_q      <= '0;
        j_q      <= '0;
        k_q      <= uop_bgn_i;
        dst_q    <= '0;
        src_q    <= '0;
        wgt_q    <= '0;
        dst_ob_q <= '0;
        src_ob_q <= '0;
        wgt_ob_q <= '0;
      end
    end else if (k_q != uop_end_i - 16'd1) begin
      k_q <= k_q + 16'd1;
    end else begin
      k_q <= uop_bgn_i;
      if (j_q != iter_in_i - 16'd1) begin
        j_q   <= j_q + 16'd1;
        dst_q <= dst_q + dst_in_i;
        src_q <= src_q + src_in_i;
        wgt_q <= wgt_q + wgt_in_i;
      end else begin
        j_q      <= '0;
        i_q      <= i_q + 16'd1;
        dst_ob_q <= dst_ob_q + dst_out_i;
        src_ob_q <= src_ob_q + src_out_i;
        wgt_ob_q <= wgt_ob_q + wgt_out_i;
        dst_q    <= dst_ob_q + dst_out_i;
        src_q    <= src_ob_q + src_out_i;
        wgt_q    <= wgt_ob_q + wgt_out_i;
        if (i_q == iter_out_i - 16'd1) busy_q <= 1'b0;
      end
    end
  end

  assign valid_o = busy_q;
  assign uop_o   = k_q;
  assign dst_o   = dst_q;
  assign src_o   = src_q;
  assign wgt_o   = wgt_q;
  assign busy_o  = busy_q;

  `VTA_ASSERT(UopInLoopRange, !valid_o || (uop_o >= uop_bgn_i && uop_o < uop_end_i))
endmodule
