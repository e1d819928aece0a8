// Tensor ALU (spec §3.5), pipelined at one uop-iteration per cycle for immediate and tensor
// operands alike (the ACC scratchpad has two read ports): S0/S1 (vta_uop_fetch) uop read -> ACC
// indices; S1 range check, reads of dst and src tiles; S2 lane-wise MIN/MAX/ADD/SHR/MUL; S3 ACC
// write. SHR shifts right by |B| & 31 for B >= 0 and left for B < 0 (Decision 4).
module vta_tensor_alu
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
  output logic                   acc_a_re_o,
  output logic [LogAccDepth-1:0] acc_a_raddr_o,
  input  logic [AccTileBits-1:0] acc_a_rdata_i,
  output logic                   acc_b_re_o,
  output logic [LogAccDepth-1:0] acc_b_raddr_o,
  input  logic [AccTileBits-1:0] acc_b_rdata_i,
  output logic                   acc_we_o,
  output logic [LogAccDepth-1:0] acc_waddr_o,
  output logic [AccTileBits-1:0] acc_wdata_o,
  output logic                   iter_o
);
  localparam int unsigned Lanes = Batch * BlockOut;

  logic [2:0]         alu_op;
  logic               use_imm;
  logic signed [31:0] imm;
  assign alu_op  = 3'(insn_i[AluAluOpcodeLsb +: AluAluOpcodeWidth]);
  assign use_imm = insn_i[AluUseImmLsb];
  assign imm     = 32'(signed'(insn_i[AluImmLsb +: AluImmWidth]));

  // S0 / S1: uop fetch and tile indices (the ALU has no weights: the wgt index stays unused)
  logic        idx_valid, oob, tail_busy;
  logic [31:0] dst, src;
  vta_uop_fetch u_fetch (
    .clk_i          (clk_i),
    .rst_ni         (rst_ni),
    .start_i        (start_i),
    .uop_bgn_i      (16'(insn_i[AluUopBgnLsb +: AluUopBgnWidth])),
    .uop_end_i      (16'(insn_i[AluUopEndLsb +: AluUopEndWidth])),
    .iter_out_i     (16'(insn_i[AluIterOutLsb +: AluIterOutWidth])),
    .iter_in_i      (16'(insn_i[AluIterInLsb +: AluIterInWidth])),
    .dst_out_i      (32'(insn_i[AluDstFactorOutLsb +: AluDstFactorOutWidth])),
    .dst_in_i       (32'(insn_i[AluDstFactorInLsb +: AluDstFactorInWidth])),
    .src_out_i      (32'(insn_i[AluSrcFactorOutLsb +: AluSrcFactorOutWidth])),
    .src_in_i       (32'(insn_i[AluSrcFactorInLsb +: AluSrcFactorInWidth])),
    .wgt_out_i      (32'd0),
    .wgt_in_i       (32'd0),
    .uop_re_o       (uop_re_o),
    .uop_raddr_o    (uop_raddr_o),
    .uop_rdata_i    (uop_rdata_i),
    .idx_valid_o    (idx_valid),
    .dst_idx_o      (dst),
    .src_idx_o      (src),
    .wgt_idx_o      (),
    .idx_oob_i      (oob),
    .idx_oob_value_i(dst >= 32'(AccDepth) ? dst : src),
    .tail_busy_i    (tail_busy),
    .done_o         (done_o),
    .fault_o        (fault_o),
    .fault_value_o  (fault_value_o),
    .busy_o         (busy_o)
  );
  assign oob = idx_valid && (dst >= 32'(AccDepth) || (!use_imm && src >= 32'(AccDepth)));
  assign acc_a_re_o    = idx_valid && !oob;
  assign acc_a_raddr_o = LogAccDepth'(dst);
  assign acc_b_re_o    = idx_valid && !oob && !use_imm;
  assign acc_b_raddr_o = LogAccDepth'(src);

  logic                   s2_valid_q, s3_valid_q;
  logic [LogAccDepth-1:0] s2_dst_q, s2_src_q, s3_dst_q;
  logic [AccTileBits-1:0] s3_res_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      s2_valid_q <= 1'b0;
      s2_dst_q   <= '0;
      s2_src_q   <= '0;
      s3_valid_q <= 1'b0;
      s3_dst_q   <= '0;
    end else begin
      s2_valid_q <= idx_valid && !oob;
      s2_dst_q   <= LogAccDepth'(dst);
      s2_src_q   <= LogAccDepth'(src);
      s3_valid_q <= s2_valid_q;
      s3_dst_q   <= s2_dst_q;
    end
  end

  always_ff @(posedge clk_i) begin
    if (s2_valid_q) begin
      logic [AccTileBits-1:0] a_tile, b_tile;
      a_tile = (s3_valid_q && s3_dst_q == s2_dst_q) ? s3_res_q : acc_a_rdata_i;
      b_tile = (s3_valid_q && s3_dst_q == s2_src_q) ? s3_res_q : acc_b_rdata_i;
      for (int l = 0; l < Lanes; l++) begin
        logic signed [31:0] a, b, r;
        logic [4:0]         sh;
        a  = a_tile[l * AccWidth +: AccWidth];
        b  = use_imm ? imm : b_tile[l * AccWidth +: AccWidth];
        sh = b[31] ? 5'(-b) : b[4:0];
        unique case (alu_op)
          3'(AluMin): r = (a < b) ? a : b;
          3'(AluMax): r = (a > b) ? a : b;
          3'(AluAdd): r = a + b;
          3'(AluShr): r = b[31] ? (a << sh) : (a >>> sh);
          3'(AluMul): r = a * b;
          default:    r = a;
        endcase
        s3_res_q[l * AccWidth +: AccWidth] <= r;
      end
    end
  end

  assign acc_we_o    = s3_valid_q;
  assign acc_waddr_o = s3_dst_q;
  assign acc_wdata_o = s3_res_q;
  assign iter_o      = s2_valid_q;
  assign tail_busy   = s2_valid_q || s3_valid_q;
endmodule
