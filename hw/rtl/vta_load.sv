// Load stage: runs the LOADs of INP and WGT tiles (spec §3.8) in program order, owns the INP and
// WGT scratchpads and serves their read ports to the compute stage. Tokens: pops g2l (pop_next),
// posts l2g (push_next).
module vta_load
  import vta_pkg::*;
#(
  localparam int unsigned QW = InsnBits + 32
) (
  input  logic                   clk_i,
  // The scratchpads' clock: compute reads them while this stage is idle (its clk_i gated)
  input  logic                   sram_clk_i,
  input  logic                   rst_ni,
  input  logic                   enable_i,
  input  logic [31:0]            inp_base_i,
  input  logic [31:0]            wgt_base_i,
  // Instructions from fetch (with their program index in the top 32 bits)
  input  logic                   insn_valid_i,
  output logic                   insn_ready_o,
  input  logic [QW-1:0]          insn_i,
  // Tokens
  input  logic                   g2l_avail_i,
  output logic                   g2l_wait_o,
  output logic                   l2g_post_o,
  // Memory read client
  output mem_rd_req_t            mem_req_o,
  input  mem_rd_rsp_t            mem_rsp_i,
  input  logic [BusWidth-1:0]    mem_r_data_i,  // the R beat (valid when mem_rsp_i.r_valid)
  // Scratchpad read ports for compute
  input  logic                   inp_re_i,
  input  logic [LogInpDepth-1:0] inp_raddr_i,
  output logic [InpTileBits-1:0] inp_rdata_o,
  input  logic                   wgt_re_i,
  input  logic [LogWgtDepth-1:0] wgt_raddr_i,
  output logic [WgtTileBits-1:0] wgt_rdata_o,
  // Status and counter events
  output stage_status_t          status_o,
  output logic                   inp_tile_o,
  output logic                   wgt_tile_o
);
  // The larger tile in whole beats (a tile narrower than a beat, e.g. 2-bit INP, needs one).
  localparam int unsigned MaxTileBits = (WgtTileBits > InpTileBits) ? WgtTileBits : InpTileBits;
  localparam int unsigned MaxBeats = (MaxTileBits + BusWidth - 1) / BusWidth;
  localparam int unsigned Depth = (InpDepth > WgtDepth) ? InpDepth : WgtDepth;
  localparam int unsigned IdxW = $clog2(Depth);

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

  logic start, done, tl_fault;
  vta_stage_ctrl #(
    .HasPrev(1'b0),
    .HasNext(1'b1)
  ) u_ctrl (
    .clk_i       (clk_i),
    .rst_ni      (rst_ni),
    .enable_i    (enable_i),
    .insn_valid_i(q_valid),
    .insn_i      (insn),
    .insn_pop_o  (q_pop),
    .prev_avail_i(1'b0),
    .next_avail_i(g2l_avail_i),
    .prev_wait_o (),
    .next_wait_o (g2l_wait_o),
    .prev_post_o (),
    .next_post_o (l2g_post_o),
    .start_o     (start),
    .done_i      (done),
    .state_o     (status_o.state),
    .busy_o      (status_o.busy),
    .stall_o     (status_o.stall),
    .blocked_o   (status_o.blocked)
  );
  assign status_o.retire = q_pop;

  // Decode
  logic        is_wgt;
  logic [31:0] dram_base;
  logic [3:0]  log_bytes;
  logic [31:0] base_ptr;
  assign is_wgt    = insn[MemMemoryTypeLsb +: MemMemoryTypeWidth] == MemMemoryTypeWidth'(MemWgt);
  assign dram_base = 32'(insn[MemDramBaseLsb +: MemDramBaseWidth]);
  assign log_bytes = is_wgt ? 4'(LogWgtBytes) : 4'(LogInpBytes);
  assign base_ptr  = is_wgt ? wgt_base_i : inp_base_i;

  logic                wr_valid, wr_zero, data_tile;
  logic [IdxW-1:0]     wr_idx;
  logic [MaxBeats*BusWidth-1:0] wr_data;
  logic                wr_is_wgt_q;

  vta_tensor_load #(
    .MaxBeats(MaxBeats),
    .Depth   (Depth)
  ) u_tensor_load (
    .clk_i         (clk_i),
    .rst_ni        (rst_ni),
    .start_i       (start),
    .sram_base_i   (insn[MemSramBaseLsb +: MemSramBaseWidth]),
    .dram_addr_i   (AddrWidth'(base_ptr) | (AddrWidth'(dram_base) << log_bytes)),
    .stride_bytes_i(32'(insn[MemXStrideLsb +: MemXStrideWidth]) << log_bytes),
    .y_size_i      (insn[MemYSizeLsb +: MemYSizeWidth]),
    .x_size_i      (insn[MemXSizeLsb +: MemXSizeWidth]),
    .y_pad_0_i     (insn[MemYPad0Lsb +: MemYPad0Width]),
    .y_pad_1_i     (insn[MemYPad1Lsb +: MemYPad1Width]),
    .x_pad_0_i     (insn[MemXPad0Lsb +: MemXPad0Width]),
    .x_pad_1_i     (insn[MemXPad1Lsb +: MemXPad1Width]),
    .log_bytes_i   (log_bytes),
    .depth_i       (is_wgt ? 32'(WgtDepth) : 32'(InpDepth)),
    .done_o        (done),
    .fault_o       (tl_fault),
    .busy_o        (),
    .mem_req_o     (mem_req_o),
    .mem_rsp_i     (mem_rsp_i),
    .mem_r_data_i  (mem_r_data_i),
    .wr_valid_o    (wr_valid),
    .wr_idx_o      (wr_idx),
    .wr_zero_o     (wr_zero),
    .wr_data_o     (wr_data),
    .data_tile_o   (data_tile)
  );
  // The SRAM write trails the command by one cycle: remember which buffer it is for.
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) wr_is_wgt_q <= 1'b0;
    else if (start) wr_is_wgt_q <= is_wgt;
  end
  // Every load fault is a LOAD that does not fit its SRAM (VCR fault code 2).
  assign status_o.fault       = tl_fault;
  assign status_o.fault_code  = 4'd2;
  assign status_o.fault_value = 32'd0;
  assign inp_tile_o = data_tile && !wr_is_wgt_q;
  assign wgt_tile_o = data_tile && wr_is_wgt_q;

  vta_sram #(
    .Width(InpTileBits),
    .Depth(InpDepth)
  ) u_inp_sram (
    .clk_i  (sram_clk_i),
    .we_i   (wr_valid && !wr_is_wgt_q),
    .waddr_i(LogInpDepth'(wr_idx)),
    .wdata_i(wr_zero ? '0 : wr_data[InpTileBits-1:0]),
    .re_i   (inp_re_i),
    .raddr_i(inp_raddr_i),
    .rdata_o(inp_rdata_o)
  );

  vta_sram #(
    .Width(WgtTileBits),
    .Depth(WgtDepth)
  ) u_wgt_sram (
    .clk_i  (sram_clk_i),
    .we_i   (wr_valid && wr_is_wgt_q),
    .waddr_i(LogWgtDepth'(wr_idx)),
    .wdata_i(wr_zero ? '0 : wr_data[WgtTileBits-1:0]),
    .re_i   (wgt_re_i),
    .raddr_i(wgt_raddr_i),
    .rdata_o(wgt_rdata_o)
  );
endmodule
