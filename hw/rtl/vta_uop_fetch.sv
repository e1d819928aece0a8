// Front end of the GEMM and ALU pipelines (spec §3.4/§3.5), one uop-iteration per cycle:
//   S0 vta_uop_iter -> uop SRAM read (a uop index past the uop SRAM faults);
//   S1 the uop's dst/src/wgt fields added to the iterated offsets -> idx_* stream.
// The owner range-checks the S1 indices against its SRAMs (idx_oob_i); either fault kills the
// loop nest. The cell also keeps the run bookkeeping: busy while any iteration is in flight
// (tail_busy_i covers the owner's later stages), done when the last one has left.
module vta_uop_fetch
  import vta_pkg::*;
(
  input  logic                   clk_i,
  input  logic                   rst_ni,
  input  logic                   start_i,
  // Loop nest of the instruction (held stable while busy)
  input  logic [15:0]            uop_bgn_i,
  input  logic [15:0]            uop_end_i,
  input  logic [15:0]            iter_out_i,
  input  logic [15:0]            iter_in_i,
  input  logic [31:0]            dst_out_i,
  input  logic [31:0]            dst_in_i,
  input  logic [31:0]            src_out_i,
  input  logic [31:0]            src_in_i,
  input  logic [31:0]            wgt_out_i,
  input  logic [31:0]            wgt_in_i,
  // Uop SRAM read port
  output logic                   uop_re_o,
  output logic [LogUopDepth-1:0] uop_raddr_o,
  input  logic [UopBits-1:0]     uop_rdata_i,
  // S1 index stream (no back-pressure)
  output logic                   idx_valid_o,
  output logic [31:0]            dst_idx_o,
  output logic [31:0]            src_idx_o,
  output logic [31:0]            wgt_idx_o,
  input  logic                   idx_oob_i,       // S1 indices out of range (only when valid)
  input  logic [31:0]            idx_oob_value_i, // the offending index, for fault_value_o
  // Run bookkeeping
  input  logic                   tail_busy_i,
  output logic                   done_o,
  output logic                   fault_o,
  output logic [31:0]            fault_value_o,
  output logic                   busy_o
);
  // S0: index generator
  logic        gen_valid, gen_busy, kill;
  logic [15:0] gen_uop;
  logic [31:0] gen_dst, gen_src, gen_wgt;
  vta_uop_iter u_iter (
    .clk_i     (clk_i),
    .rst_ni    (rst_ni),
    .start_i   (start_i),
    .kill_i    (kill),
    .uop_bgn_i (uop_bgn_i),
    .uop_end_i (uop_end_i),
    .iter_out_i(iter_out_i),
    .iter_in_i (iter_in_i),
    .dst_out_i (dst_out_i),
    .dst_in_i  (dst_in_i),
    .src_out_i (src_out_i),
    .src_in_i  (src_in_i),
    .wgt_out_i (wgt_out_i),
    .wgt_in_i  (wgt_in_i),
    .valid_o   (gen_valid),
    .uop_o     (gen_uop),
    .dst_o     (gen_dst),
    .src_o     (gen_src),
    .wgt_o     (gen_wgt),
    .busy_o    (gen_busy)
  );
  logic uop_oob;
  assign uop_oob     = gen_valid && gen_uop >= 16'(UopDepth);
  assign uop_re_o    = gen_valid && !uop_oob;
  assign uop_raddr_o = LogUopDepth'(gen_uop);
  assign kill        = idx_oob_i || uop_oob;

  // S1
  logic        s1_valid_q;
  logic [31:0] s1_dst_q, s1_src_q, s1_wgt_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      s1_valid_q <= 1'b0;
      s1_dst_q   <= '0;
      s1_src_q   <= '0;
      s1_wgt_q   <= '0;
    end else begin
      s1_valid_q <= gen_valid && !kill;
      s1_dst_q   <= gen_dst;
      s1_src_q   <= gen_src;
      s1_wgt_q   <= gen_wgt;
    end
  end
  assign idx_valid_o = s1_valid_q;
  assign dst_idx_o   = s1_dst_q + 32'(uop_rdata_i[UopDstIdxLsb +: UopDstIdxWidth]);
  assign src_idx_o   = s1_src_q + 32'(uop_rdata_i[UopSrcIdxLsb +: UopSrcIdxWidth]);
  assign wgt_idx_o   = s1_wgt_q + 32'(uop_rdata_i[UopWgtIdxLsb +: UopWgtIdxWidth]);
  // Shallow buffers (e.g. a 1x8 shape) need fewer index bits than a uop has: the top bits are unused.
  localparam int unsigned UopUsedBits = UopWgtIdxLsb + UopWgtIdxWidth;
  if (UopUsedBits < UopBits) begin : g_unused_uop_bits
    logic unused_uop_bits;
    assign unused_uop_bits = ^uop_rdata_i[UopBits-1:UopUsedBits];
  end

  // Done when the last iteration has left the pipeline (or at once when there is none).
  assign busy_o = gen_busy || s1_valid_q || tail_busy_i;
  logic running_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) running_q <= 1'b0;
    else if (start_i) running_q <= 1'b1;
    else if (done_o || fault_o) running_q <= 1'b0;
  end
  assign done_o        = running_q && !busy_o;
  assign fault_o       = kill;
  assign fault_value_o = uop_oob ? 32'(gen_uop) : idx_oob_value_i;
endmodule
