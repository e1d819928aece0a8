// Compute stage: LOAD UOP / ACC / ACC_8BIT, GEMM, ALU and FINISH in program order (spec §3.8).
// Owns the uop and ACC scratchpads; every ACC write is mirrored, truncated to OUT_WIDTH per
// lane, into the store stage's OUT scratchpad, so a STORE gives the low bits of ACC whatever
// wrote it (Decision 2). Tokens: pops l2g (pop_prev) and s2g (pop_next), posts g2l and g2s.
`include "vta_assert.svh"

module vta_compute
  import vta_pkg::*;
#(
  localparam int unsigned QW = InsnBits + 32
) (
  input  logic                   clk_i,
  input  logic                   rst_ni,
  input  logic                   enable_i,
  input  logic [31:0]            uop_base_i,
  input  logic [31:0]            acc_base_i,
  input  logic                   insn_valid_i,
  output logic                   insn_ready_o,
  input  logic [QW-1:0]          insn_i,
  input  logic                   l2g_avail_i,
  output logic                   l2g_wait_o,
  input  logic                   s2g_avail_i,
  output logic                   s2g_wait_o,
  output logic                   g2l_post_o,
  output logic                   g2s_post_o,
  output mem_rd_req_t            mem_req_o,
  input  mem_rd_rsp_t            mem_rsp_i,
  input  logic [BusWidth-1:0]    mem_r_data_i,  // the R beat (valid when mem_rsp_i.r_valid)
  output logic                   inp_re_o,
  output logic [LogInpDepth-1:0] inp_raddr_o,
  input  logic [InpTileBits-1:0] inp_rdata_i,
  output logic                   wgt_re_o,
  output logic [LogWgtDepth-1:0] wgt_raddr_o,
  input  logic [WgtTileBits-1:0] wgt_rdata_i,
  output logic                   out_we_o,
  output logic [LogAccDepth-1:0] out_waddr_o,
  output logic [OutTileBits-1:0] out_wdata_o,
  output stage_status_t          status_o,
  output logic                   finish_o,
  output logic                   uop_tile_o,
  output logic                   acc_tile_o,
  output logic                   acc8_tile_o,
  output logic                   gemm_iter_o,
  output logic                   gemm_reset_iter_o,
  output logic                   alu_iter_o,
  output logic                   acc_write_o,
  output logic                   gemm_busy_o,
  output logic                   alu_busy_o,
  // The enables of the engines' clock gates, for a harness that models the gates (hw/README.md)
  output logic [3:0]             clk_en_o
);
  localparam int unsigned Lanes = Batch * BlockOut;
  localparam int unsigned AccBeats = AccTileBits / BusWidth;

  // Instruction queue and sequencing
  logic          q_valid, q_pop;
  logic [QW-1:0] q_head;
  vta_fifo #(
    .Width(QW),
    .Depth(InsnQueueDepth)
  ) u_queue (
    .clk_i      (clk_i),
    .rst_ni     (rst_ni),
    .in_valid_i (insn_valid_i),
    .in_ready_o (insn_ready_o),
    .in_data_i  (insn_i),
    .out_valid_o(q_valid),
    .out_ready_i(q_pop),
    .out_data_o (q_head),
    .count_o    (status_o.queue_count)
  );
  logic [InsnBits-1:0] insn;
  assign insn              = q_head[InsnBits-1:0];
  assign status_o.insn_idx = q_head[QW-1:InsnBits];

  logic start, done;
  vta_stage_ctrl #(
    .HasPrev(1'b1),
    .HasNext(1'b1)
  ) u_ctrl (
    .clk_i       (clk_i),
    .rst_ni      (rst_ni),
    .enable_i    (enable_i),
    .insn_valid_i(q_valid),
    .insn_i      (insn),
    .insn_pop_o  (q_pop),
    .prev_avail_i(l2g_avail_i),
    .next_avail_i(s2g_avail_i),
    .prev_wait_o (l2g_wait_o),
    .next_wait_o (s2g_wait_o),
    .prev_post_o (g2l_post_o),
    .next_post_o (g2s_post_o),
    .start_o     (start),
    .done_i      (done),
    .state_o     (status_o.state),
    .busy_o      (status_o.busy),
    .stall_o     (status_o.stall),
    .blocked_o   (status_o.blocked)
  );
  assign status_o.retire = q_pop;

  // Decode
  logic [2:0] opcode, mem_type;
  logic       is_uop_load, is_acc_load, is_acc8, is_gemm, is_alu, is_finish, is_nop;
  assign opcode      = 3'(insn[MemOpcodeLsb +: MemOpcodeWidth]);
  assign mem_type    = 3'(insn[MemMemoryTypeLsb +: MemMemoryTypeWidth]);
  assign is_uop_load = opcode == 3'(OpLoad) && mem_type == 3'(MemUop);
  assign is_acc8     = mem_type == 3'(MemAcc8bit);
  assign is_acc_load = opcode == 3'(OpLoad) && (mem_type == 3'(MemAcc) || is_acc8);
  assign is_gemm     = opcode == 3'(OpGemm);
  assign is_alu      = opcode == 3'(OpAlu);
  assign is_finish   = opcode == 3'(OpFinish);
  // Fetch only routes other LOADs here when x_size = 0: a no-op that moves tokens.
  assign is_nop      = !(is_uop_load || is_acc_load || is_gemm || is_alu || is_finish);

  // The engines' gated clocks (see "Clock gating" below).
  logic uop_clk, accl_clk, gemm_clk, alu_clk, uop_busy, accl_busy;

  logic [31:0] dram_base;
  assign dram_base = 32'(insn[MemDramBaseLsb +: MemDramBaseWidth]);

  // Scratchpads
  logic                   uop_we, uop_re_g, uop_re_a;
  logic [LogUopDepth-1:0] uop_waddr, uop_raddr_g, uop_raddr_a;
  logic [UopBits-1:0]     uop_wdata, uop_rdata;
  vta_sram #(
    .Width(UopBits),
    .Depth(UopDepth)
  ) u_uop_sram (
    .clk_i  (clk_i),
    .we_i   (uop_we),
    .waddr_i(uop_waddr),
    .wdata_i(uop_wdata),
    .re_i   (uop_re_g || uop_re_a),
    .raddr_i(uop_re_a ? uop_raddr_a : uop_raddr_g),
    .rdata_o(uop_rdata)
  );

  logic                   acc_we;
  logic [LogAccDepth-1:0] acc_waddr;
  logic [AccTileBits-1:0] acc_wdata;
  logic                   acc_a_re_g, acc_a_re_a, acc_b_re;
  logic [LogAccDepth-1:0] acc_a_raddr_g, acc_a_raddr_a, acc_b_raddr;
  logic [AccTileBits-1:0] acc_a_rdata, acc_b_rdata;
  // Two banks written together give the ALU two read ports.
  vta_sram #(
    .Width(AccTileBits),
    .Depth(AccDepth)
  ) u_acc_sram_a (
    .clk_i  (clk_i),
    .we_i   (acc_we),
    .waddr_i(acc_waddr),
    .wdata_i(acc_wdata),
    .re_i   (acc_a_re_g || acc_a_re_a),
    .raddr_i(acc_a_re_a ? acc_a_raddr_a : acc_a_raddr_g),
    .rdata_o(acc_a_rdata)
  );
  vta_sram #(
    .Width(AccTileBits),
    .Depth(AccDepth)
  ) u_acc_sram_b (
    .clk_i  (clk_i),
    .we_i   (acc_we),
    .waddr_i(acc_waddr),
    .wdata_i(acc_wdata),
    .re_i   (acc_b_re),
    .raddr_i(acc_b_raddr),
    .rdata_o(acc_b_rdata)
  );

  // LOAD UOP: 32-bit tiles, two per bus beat (vta_tensor_load's narrow-tile path).
  logic        uop_start, uop_done, uop_fault, uop_zero;
  logic [BusWidth-1:0] uop_tile;
  mem_rd_req_t uop_mem_req;
  assign uop_start = start && is_uop_load;
  vta_tensor_load #(
    .MaxBeats(1),
    .Depth   (UopDepth)
  ) u_uop_load (
    .clk_i         (uop_clk),
    .rst_ni        (rst_ni),
    .start_i       (uop_start),
    .sram_base_i   (insn[MemSramBaseLsb +: MemSramBaseWidth]),
    .dram_addr_i   (AddrWidth'(uop_base_i) | (AddrWidth'(dram_base) << LogUopBytes)),
    .stride_bytes_i(32'(insn[MemXStrideLsb +: MemXStrideWidth]) << LogUopBytes),
    .y_size_i      (insn[MemYSizeLsb +: MemYSizeWidth]),
    .x_size_i      (insn[MemXSizeLsb +: MemXSizeWidth]),
    .y_pad_0_i     (insn[MemYPad0Lsb +: MemYPad0Width]),
    .y_pad_1_i     (insn[MemYPad1Lsb +: MemYPad1Width]),
    .x_pad_0_i     (insn[MemXPad0Lsb +: MemXPad0Width]),
    .x_pad_1_i     (insn[MemXPad1Lsb +: MemXPad1Width]),
    .log_bytes_i   (4'(LogUopBytes)),
    .depth_i       (32'(UopDepth)),
    .done_o        (uop_done),
    .fault_o       (uop_fault),
    .busy_o        (uop_busy),
    .mem_req_o     (uop_mem_req),
    .mem_rsp_i     (mem_rsp_i),
    .mem_r_data_i  (mem_r_data_i),
    .wr_valid_o    (uop_we),
    .wr_idx_o      (uop_waddr),
    .wr_zero_o     (uop_zero),
    .wr_data_o     (uop_tile),
    .data_tile_o   (uop_tile_o)
  );
  assign uop_wdata = uop_zero ? '0 : uop_tile[UopBits-1:0];
  // The tile register is a beat wide; a uop is its low half.
  logic unused_uop_tile;
  assign unused_uop_tile = ^uop_tile[BusWidth-1:UopBits];

  // LOAD ACC / ACC_8BIT
  logic acc_start, accl_done, accl_fault, accl_we, accl_zero, accl_tile, acc8_q;
  mem_rd_req_t accl_mem_req;
  logic [LogAccDepth-1:0] accl_waddr;
  logic [AccTileBits-1:0] accl_data;
  logic [3:0] acc_log_bytes;
  assign acc_start     = start && is_acc_load;
  assign acc_log_bytes = is_acc8 ? 4'(LogAcc8Bytes) : 4'(LogAccBytes);
  vta_tensor_load #(
    .MaxBeats(AccBeats),
    .Depth   (AccDepth)
  ) u_acc_load (
    .clk_i         (accl_clk),
    .rst_ni        (rst_ni),
    .start_i       (acc_start),
    .sram_base_i   (insn[MemSramBaseLsb +: MemSramBaseWidth]),
    .dram_addr_i   (AddrWidth'(acc_base_i) | (AddrWidth'(dram_base) << acc_log_bytes)),
    .stride_bytes_i(32'(insn[MemXStrideLsb +: MemXStrideWidth]) << acc_log_bytes),
    .y_size_i      (insn[MemYSizeLsb +: MemYSizeWidth]),
    .x_size_i      (insn[MemXSizeLsb +: MemXSizeWidth]),
    .y_pad_0_i     (insn[MemYPad0Lsb +: MemYPad0Width]),
    .y_pad_1_i     (insn[MemYPad1Lsb +: MemYPad1Width]),
    .x_pad_0_i     (insn[MemXPad0Lsb +: MemXPad0Width]),
    .x_pad_1_i     (insn[MemXPad1Lsb +: MemXPad1Width]),
    .log_bytes_i   (acc_log_bytes),
    .depth_i       (32'(AccDepth)),
    .done_o        (accl_done),
    .fault_o       (accl_fault),
    .busy_o        (accl_busy),
    .mem_req_o     (accl_mem_req),
    .mem_rsp_i     (mem_rsp_i),
    .mem_r_data_i  (mem_r_data_i),
    .wr_valid_o    (accl_we),
    .wr_idx_o      (accl_waddr),
    .wr_zero_o     (accl_zero),
    .wr_data_o     (accl_data),
    .data_tile_o   (accl_tile)
  );
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) acc8_q <= 1'b0;
    else if (acc_start) acc8_q <= is_acc8;
  end
  assign acc_tile_o  = accl_tile && !acc8_q;
  assign acc8_tile_o = accl_tile && acc8_q;

  // ACC_8BIT: each int8 is sign-extended into one accumulator lane.
  logic [AccTileBits-1:0] accl_wdata;
  always_comb begin
    if (accl_zero) begin
      accl_wdata = '0;
    end else if (acc8_q) begin
      for (int l = 0; l < Lanes; l++) begin
        accl_wdata[l * AccWidth +: AccWidth] = 32'(signed'(accl_data[l * 8 +: 8]));
      end
    end else begin
      accl_wdata = accl_data;
    end
  end

  // Only one engine runs at a time: its memory requests own the read client.
  always_comb begin
    mem_req_o          = uop_mem_req.ar_valid ? uop_mem_req : accl_mem_req;
    mem_req_o.ar_valid = uop_mem_req.ar_valid || accl_mem_req.ar_valid;
    mem_req_o.r_ready  = uop_mem_req.r_ready || accl_mem_req.r_ready;
  end

  // GEMM
  logic gemm_start, gemm_done, gemm_fault, gemm_we;
  logic [31:0] gemm_fault_value;
  logic [LogAccDepth-1:0] gemm_waddr;
  logic [AccTileBits-1:0] gemm_wdata;
  assign gemm_start = start && is_gemm;
  vta_tensor_gemm u_gemm (
    .clk_i        (gemm_clk),
    .rst_ni       (rst_ni),
    .start_i      (gemm_start),
    .insn_i       (insn),
    .done_o       (gemm_done),
    .fault_o      (gemm_fault),
    .fault_value_o(gemm_fault_value),
    .busy_o       (gemm_busy_o),
    .uop_re_o     (uop_re_g),
    .uop_raddr_o  (uop_raddr_g),
    .uop_rdata_i  (uop_rdata),
    .acc_re_o     (acc_a_re_g),
    .acc_raddr_o  (acc_a_raddr_g),
    .acc_rdata_i  (acc_a_rdata),
    .inp_re_o     (inp_re_o),
    .inp_raddr_o  (inp_raddr_o),
    .inp_rdata_i  (inp_rdata_i),
    .wgt_re_o     (wgt_re_o),
    .wgt_raddr_o  (wgt_raddr_o),
    .wgt_rdata_i  (wgt_rdata_i),
    .acc_we_o     (gemm_we),
    .acc_waddr_o  (gemm_waddr),
    .acc_wdata_o  (gemm_wdata),
    .iter_o       (gemm_iter_o),
    .reset_iter_o (gemm_reset_iter_o)
  );

  // ALU
  logic alu_start, alu_done, alu_fault, alu_we;
  logic [31:0] alu_fault_value;
  logic [LogAccDepth-1:0] alu_waddr;
  logic [AccTileBits-1:0] alu_wdata;
  assign alu_start = start && is_alu;
  vta_tensor_alu u_alu (
    .clk_i        (alu_clk),
    .rst_ni       (rst_ni),
    .start_i      (alu_start),
    .insn_i       (insn),
    .done_o       (alu_done),
    .fault_o      (alu_fault),
    .fault_value_o(alu_fault_value),
    .busy_o       (alu_busy_o),
    .uop_re_o     (uop_re_a),
    .uop_raddr_o  (uop_raddr_a),
    .uop_rdata_i  (uop_rdata),
    .acc_a_re_o   (acc_a_re_a),
    .acc_a_raddr_o(acc_a_raddr_a),
    .acc_a_rdata_i(acc_a_rdata),
    .acc_b_re_o   (acc_b_re),
    .acc_b_raddr_o(acc_b_raddr),
    .acc_b_rdata_i(acc_b_rdata),
    .acc_we_o     (alu_we),
    .acc_waddr_o  (alu_waddr),
    .acc_wdata_o  (alu_wdata),
    .iter_o       (alu_iter_o)
  );

  // Clock gating: each engine runs on its own gated clock (vta_clock_gate), enabled while it
  // starts or runs; it is idle again from the edge that ends it (done). The queue, the
  // sequencing and the scratchpads stay on the stage's clock.
  logic uop_en, accl_en, gemm_en, alu_en;
  assign uop_en   = !rst_ni || uop_start || uop_busy;
  assign accl_en  = !rst_ni || acc_start || accl_busy;
  assign gemm_en  = !rst_ni || gemm_start || gemm_busy_o || gemm_done;
  assign alu_en   = !rst_ni || alu_start || alu_busy_o || alu_done;
  assign clk_en_o = {alu_en, gemm_en, accl_en, uop_en};
  vta_clock_gate u_uop_cg  (.clk_i(clk_i), .en_i(uop_en),  .clk_o(uop_clk));
  vta_clock_gate u_accl_cg (.clk_i(clk_i), .en_i(accl_en), .clk_o(accl_clk));
  vta_clock_gate u_gemm_cg (.clk_i(clk_i), .en_i(gemm_en), .clk_o(gemm_clk));
  vta_clock_gate u_alu_cg  (.clk_i(clk_i), .en_i(alu_en),  .clk_o(alu_clk));

  // ACC write port (and its OUT mirror)
  always_comb begin
    acc_we    = accl_we || gemm_we || alu_we;
    acc_waddr = accl_we ? accl_waddr : gemm_we ? gemm_waddr : alu_waddr;
    acc_wdata = accl_we ? accl_wdata : gemm_we ? gemm_wdata : alu_wdata;
  end
  assign acc_write_o = acc_we;
  assign out_we_o    = acc_we;
  assign out_waddr_o = acc_waddr;
  always_comb begin
    for (int l = 0; l < Lanes; l++) begin
      out_wdata_o[l * OutWidth +: OutWidth] = acc_wdata[l * AccWidth +: OutWidth];
    end
  end

  // Completion: FINISH and no-ops complete at once; engines report when done.
  assign done = (start && (is_finish || is_nop)) || uop_done || accl_done || gemm_done ||
                alu_done;
  assign finish_o = start && is_finish;

  assign status_o.fault       = uop_fault || accl_fault || gemm_fault || alu_fault;
  assign status_o.fault_code  = (uop_fault || accl_fault) ? 4'd2 : 4'd3;
  assign status_o.fault_value = gemm_fault ? gemm_fault_value :
                                alu_fault ? alu_fault_value : 32'd0;

  // One engine at a time: the decode picks one, and the shared ports have one user per cycle.
  `VTA_ASSERT_ONEHOT0(DecodeOneHot, {is_uop_load, is_acc_load, is_gemm, is_alu, is_finish})
  `VTA_ASSERT_ONEHOT0(OneMemClient, {uop_mem_req.ar_valid || uop_mem_req.r_ready,
                                     accl_mem_req.ar_valid || accl_mem_req.r_ready})
  `VTA_ASSERT_ONEHOT0(OneUopReader, {uop_re_g, uop_re_a})
  `VTA_ASSERT_ONEHOT0(OneAccReader, {acc_a_re_g, acc_a_re_a})
  `VTA_ASSERT_ONEHOT0(OneAccWriter, {accl_we, gemm_we, alu_we})
endmodule
