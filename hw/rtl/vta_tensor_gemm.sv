// GEMM core (spec §3.4), pipelined at one uop-iteration per cycle:
//   S0/S1 (vta_uop_fetch) uop read -> tile indices; S1 range check, INP/WGT/ACC reads;
//   S2 BATCH x BLOCK_OUT dot products of BLOCK_IN (INP, WGT) pairs added to the accumulator tile
//   (or zero for reset_reg); S3 ACC write. Tiles hold packed InpWidth/WgtWidth-bit lanes (2, 4 or
//   8 bits, lane k at bits [k*w, (k+1)*w)); each lane is sign-extended to 32 bits before the
//   multiply, and sums wrap at 32 bits. Back-to-back writes to one ACC index are bypassed
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

  // S0 / S1: uop fetch and tile indices
  logic        idx_valid, oob, tail_busy;
  logic [31:0] dst, src, wgt;
  vta_uop_fetch u_fetch (
    .clk_i          (clk_i),
    .rst_ni         (rst_ni),
    .start_i        (start_i),
    .uop_bgn_i      (16'(insn_i[GemmUopBgnLsb +: GemmUopBgnWidth])),
    .uop_end_i      (16'(insn_i[GemmUopEndLsb +: GemmUopEndWidth])),
    .iter_out_i     (16'(insn_i[GemmIterOutLsb +: GemmIterOutWidth])),
    .iter_in_i      (16'(insn_i[GemmIterInLsb +: GemmIterInWidth])),
    .dst_out_i      (32'(insn_i[GemmDstFactorOutLsb +: GemmDstFactorOutWidth])),
    .dst_in_i       (32'(insn_i[GemmDstFactorInLsb +: GemmDstFactorInWidth])),
    .src_out_i      (32'(insn_i[GemmSrcFactorOutLsb +: GemmSrcFactorOutWidth])),
    .src_in_i       (32'(insn_i[GemmSrcFactorInLsb +: GemmSrcFactorInWidth])),
    .wgt_out_i      (32'(insn_i[GemmWgtFactorOutLsb +: GemmWgtFactorOutWidth])),
    .wgt_in_i       (32'(insn_i[GemmWgtFactorInLsb +: GemmWgtFactorInWidth])),
    .uop_re_o       (uop_re_o),
    .uop_raddr_o    (uop_raddr_o),
    .uop_rdata_i    (uop_rdata_i),
    .idx_valid_o    (idx_valid),
    .dst_idx_o      (dst),
    .src_idx_o      (src),
    .wgt_idx_o      (wgt),
    .idx_oob_i      (oob),
    .idx_oob_value_i(dst),
    .tail_busy_i    (tail_busy),
    .done_o         (done_o),
    .fault_o        (fault_o),
    .fault_value_o  (fault_value_o),
    .busy_o         (busy_o)
  );
  assign oob = idx_valid && (dst >= 32'(AccDepth) ||
               (!reset_reg && (src >= 32'(InpDepth) || wgt >= 32'(WgtDepth))));
  assign acc_re_o    = idx_valid && !oob && !reset_reg;
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
      s2_valid_q <= 1'b0;
      s2_dst_q   <= '0;
      s3_valid_q <= 1'b0;
      s3_dst_q   <= '0;
    end else begin
      s2_valid_q <= idx_valid && !oob;
      s2_dst_q   <= LogAccDepth'(dst);
      s3_valid_q <= s2_valid_q;
      s3_dst_q   <= s2_dst_q;
    end
  end

  // The MAC array only evaluates when an iteration is in S2. Each INP lane is sign-extended once
  // per row, not once per output; the products and sums are taken modulo 2^32, where signed and
  // unsigned multiplication agree, so the model multiplies plain 32-bit words.
  localparam logic [WgtWidth-1:0] WgtSignBit = WgtWidth'(1) << (WgtWidth - 1);
  always_ff @(posedge clk_i) begin
    if (s2_valid_q) begin
      if (reset_reg) begin
        s3_res_q <= '0;
      end else begin
        logic [AccTileBits-1:0]   acc_in;
        logic [BlockIn-1:0][31:0] inp_ext;
        acc_in = (s3_valid_q && s3_dst_q == s2_dst_q) ? s3_res_q : acc_rdata_i;
        for (int b = 0; b < Batch; b++) begin
          for (int c = 0; c < BlockIn; c++) begin
            inp_ext[c] = 32'(signed'(inp_rdata_i[(b * BlockIn + c) * InpWidth +: InpWidth]));
          end
          for (int o = 0; o < BlockOut; o++) begin
            logic [31:0] sum;
            sum = acc_in[(b * BlockOut + o) * AccWidth +: AccWidth];
            for (int c = 0; c < BlockIn; c++) begin
              // Sign extension as (w xor 2^(w-1)) - 2^(w-1): two word operations.
              sum += inp_ext[c] *
                     (32'({wgt_rdata_i[(o * BlockIn + c) * WgtWidth +: WgtWidth] ^ WgtSignBit}) -
                      32'(WgtSignBit));
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
  assign tail_busy     = s2_valid_q || s3_valid_q;
endmodule
