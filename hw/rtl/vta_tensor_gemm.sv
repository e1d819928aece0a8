// GEMM core (spec §3.4), pipelined at one uop-iteration per cycle:
//   S0 index generator -> uop SRAM read; S1 uop -> tile indices, range check, INP/WGT/ACC reads;
//   S2 BATCH x BLOCK_OUT dot products of BLOCK_IN int8 pairs added to the accumulator tile
//   (or zero for reset_reg); S3 ACC write. Back-to-back writes to one ACC index are bypassed
//   from S3 to S2; the write-first SRAM covers the iteration after that.
module vta_tensor_gemm
  import vta_pkg::*;
(
  input  logic                   clk_i,
  input  logic                   rst_ni,
  input  logic                   start_i,
  input  logic [InsnBits-1:0]    insn_i,
  output logic                   done_o,
  output logic                   fault_o,
  output logic [31:0]            fault_value_o,
  output logic                   busy_o,
  output logic                   uop_re_o,
  output logic [LogUopDepth-1:0] uop_raddr_o,
  input  logic [UopBits-1:0]     uop_rdata_i,
  output logic                   acc_re_o,
  output logic [LogAccDepth-1:0] acc_raddr_o,
  input  logic [AccTileBits-1:0] acc_rdata_i,
  output logic                   inp_re_o,
  output logic [LogInpDepth-1:0] inp_raddr_o,
  input  logic [InpTileBits-1:0] inp_rdata_i,
  output logic                   wgt_re_o,
  output logic [LogWgtDepth-1:0] wgt_raddr_o,
  input  logic [WgtTileBits-1:0] wgt_rdata_i,
  output logic                   acc_we_o,
  output logic [LogAccDepth-1:0] acc_waddr_o,
  output logic [AccTileBits-1:0] acc_wdata_o,
  output logic                   iter_o,
  output logic                   reset_iter_o
);
  logic reset_reg;
  assign reset_reg = insn_i[GemmResetRegLsb];

  // S0: index generator
  logic        gen_valid, gen_busy, kill;
  logic [15:0] gen_uop;
  logic [31:0] gen_dst, gen_src, gen_wgt;
  vta_uop_iter u_iter (
    .clk_i     (clk_i),
    .rst_ni    (rst_ni),
    .start_i   (start_i),
    .kill_i    (kill),
    .uop_bgn_i (16'(insn_i[GemmUopBgnLsb +: GemmUopBgnWidth])),
    .uop_end_i (16'(insn_i[GemmUopEndLsb +: GemmUopEndWidth])),
    .iter_out_i(16'(insn_i[GemmIterOutLsb +: GemmIterOutWidth])),
    .iter_in_i (16'(insn_i[GemmIterInLsb +: GemmIterInWidth])),
    .dst_out_i (32'(insn_i[GemmDstFactorOutLsb +: GemmDstFactorOutWidth])),
    .dst_in_i  (32'(insn_i[GemmDstFactorInLsb +: GemmDstFactorInWidth])),
    .src_out_i (32'(insn_i[GemmSrcFactorOutLsb +: GemmSrcFactorOutWidth])),
    .src_in_i  (32'(insn_i[GemmSrcFactorInLsb +: GemmSrcFactorInWidth])),
    .wgt_out_i (32'(insn_i[GemmWgtFactorOutLsb +: GemmWgtFactorOutWidth])),
    .wgt_in_i  (32'(insn_i[GemmWgtFactorInLsb +: GemmWgtFactorInWidth])),
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

  // S1
  logic        s1_valid_q;
  logic [31:0] s1_dst_q, s1_src_q, s1_wgt_q;
  logic [31:0] dst, src, wgt;
  assign dst = s1_dst_q + 32'(uop_rdata_i[UopDstIdxLsb +: UopDstIdxWidth]);
  assign src = s1_src_q + 32'(uop_rdata_i[UopSrcIdxLsb +: UopSrcIdxWidth]);
  assign wgt = s1_wgt_q + 32'(uop_rdata_i[UopWgtIdxLsb +: UopWgtIdxWidth]);
  logic oob;
  assign oob = s1_valid_q && (dst >= 32'(AccDepth) ||
               (!reset_reg && (src >= 32'(InpDepth) || wgt >= 32'(WgtDepth))));
  assign kill = oob || uop_oob;
  assign acc_re_o    = s1_valid_q && !oob && !reset_reg;
  assign acc_raddr_o = LogAccDepth'(dst);
  assign inp_re_o    = acc_re_o;
  assign inp_raddr_o = LogInpDepth'(src);
  assign wgt_re_o    = acc_re_o;
  assign wgt_raddr_o = LogWgtDepth'(wgt);

  // S2 / S3
  logic                   s2_valid_q, s3_valid_q;
  logic [LogAccDepth-1:0] s2_dst_q, s3_dst_q;
  logic [AccTileBits-1:0] s3_res_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      s1_valid_q <= 1'b0;
      s1_dst_q   <= '0;
      s1_src_q   <= '0;
      s1_wgt_q   <= '0;
      s2_valid_q <= 1'b0;
      s2_dst_q   <= '0;
      s3_valid_q <= 1'b0;
      s3_dst_q   <= '0;
    end else begin
      s1_valid_q <= gen_valid && !kill;
      s1_dst_q   <= gen_dst;
      s1_src_q   <= gen_src;
      s1_wgt_q   <= gen_wgt;
      s2_valid_q <= s1_valid_q && !oob;
      s2_dst_q   <= LogAccDepth'(dst);
      s3_valid_q <= s2_valid_q;
      s3_dst_q   <= s2_dst_q;
    end
  end

  // The MAC array only evaluates when an iteration is in S2.
  always_ff @(posedge clk_i) begin
    if (s2_valid_q) begin
      if (reset_reg) begin
        s3_res_q <= '0;
      end else begin
        logic [AccTileBits-1:0] acc_in;
        acc_in = (s3_valid_q && s3_dst_q == s2_dst_q) ? s3_res_q : acc_rdata_i;
        for (int b = 0; b < Batch; b++) begin
          for (int o = 0; o < BlockOut; o++) begin
            logic signed [31:0] sum;
            sum = acc_in[(b * BlockOut + o) * AccWidth +: AccWidth];
            for (int c = 0; c < BlockIn; c++) begin
              sum += 32'(signed'(inp_rdata_i[(b * BlockIn + c) * InpWidth +: InpWidth]) *
                         signed'(wgt_rdata_i[(o * BlockIn + c) * WgtWidth +: WgtWidth]));
            end
            s3_res_q[(b * BlockOut + o) * AccWidth +: AccWidth] <= sum;
          end
        end
      end
    end
  end

  assign acc_we_o      = s3_valid_q;
  assign acc_waddr_o   = s3_dst_q;
  assign acc_wdata_o   = s3_res_q;
  assign iter_o        = s2_valid_q && !reset_reg;
  assign reset_iter_o  = s2_valid_q && reset_reg;
  assign busy_o        = gen_busy || s1_valid_q || s2_valid_q || s3_valid_q;
  // Done when the last iteration has been written (or at once when there is none).
  logic running_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) running_q <= 1'b0;
    else if (start_i) running_q <= 1'b1;
    else if (done_o || fault_o) running_q <= 1'b0;
  end
  assign done_o        = running_q && !busy_o;
  assign fault_o       = oob || uop_oob;
  assign fault_value_o = uop_oob ? 32'(gen_uop) : dst;
endmodule
