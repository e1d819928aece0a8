// Store stage: STOREs of OUT tiles in program order (spec §3.3). The OUT scratchpad lives here;
// compute writes it. A STORE reads x_size*y_size contiguous tiles and writes each row to DRAM at
// (dram_base + y*x_stride)*OUT bytes in write bursts, one beat per cycle; it completes when
// every burst is acknowledged. Tokens: pops g2s (pop_prev), posts s2g (push_prev).
`include "vta_assert.svh"

module vta_store
  import vta_pkg::*;
#(
  localparam int unsigned QW = InsnBits + 32
) (
  input  logic                   clk_i,
  // The OUT scratchpad's clock: compute writes it while this stage is idle (its clk_i gated)
  input  logic                   sram_clk_i,
  input  logic                   rst_ni,
  input  logic                   enable_i,
  input  logic [31:0]            out_base_i,
  input  logic                   insn_valid_i,
  output logic                   insn_ready_o,
  input  logic [QW-1:0]          insn_i,
  input  logic                   g2s_avail_i,
  output logic                   g2s_wait_o,
  output logic                   s2g_post_o,
  // OUT scratchpad write port (from compute)
  input  logic                   out_we_i,
  input  logic [LogAccDepth-1:0] out_waddr_i,
  input  logic [OutTileBits-1:0] out_wdata_i,
  // AXI write channels
  output logic                   aw_valid_o,
  input  logic                   aw_ready_i,
  output logic [AddrWidth-1:0]   aw_addr_o,
  output logic [7:0]             aw_len_o,
  output logic                   w_valid_o,
  input  logic                   w_ready_i,
  output logic [BusWidth-1:0]    w_data_o,
  output logic [BusBytes-1:0]    w_strb_o,
  output logic                   w_last_o,
  input  logic                   b_valid_i,
  output logic                   b_ready_o,
  // Status and counter events
  output stage_status_t          status_o,
  output logic                   out_tile_o
);
  // An OUT tile (packed elements of OutWidth bits, isa/elements.ts) is a whole number of bus
  // beats, or narrower than a beat (e.g. 2-bit OUT): then several tiles share a beat.
  localparam bit          Narrow = OutTileBits < BusWidth;
  localparam int unsigned LogBusBytes = $clog2(BusBytes);

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
    .HasNext(1'b0)
  ) u_ctrl (
    .clk_i       (clk_i),
    .rst_ni      (rst_ni),
    .enable_i    (enable_i),
    .insn_valid_i(q_valid),
    .insn_i      (insn),
    .insn_pop_o  (q_pop),
    .prev_avail_i(g2s_avail_i),
    .next_avail_i(1'b0),
    .prev_wait_o (g2s_wait_o),
    .next_wait_o (),
    .prev_post_o (s2g_post_o),
    .next_post_o (),
    .start_o     (start),
    .done_i      (done),
    .state_o     (status_o.state),
    .busy_o      (status_o.busy),
    .stall_o     (status_o.stall),
    .blocked_o   (status_o.blocked)
  );
  assign status_o.retire = q_pop;

  // Decode and checks
  logic [15:0] x_size, y_size, sram_base;
  logic [39:0] extent;
  logic        bad_kind, x_zero, oob, launch;
  logic [AddrWidth-1:0] out_addr;
  logic [31:0] stride_bytes;
  assign x_size    = insn[MemXSizeLsb +: MemXSizeWidth];
  assign y_size    = insn[MemYSizeLsb +: MemYSizeWidth];
  assign sram_base = insn[MemSramBaseLsb +: MemSramBaseWidth];
  assign extent    = 40'(sram_base) + 40'(x_size) * 40'(y_size);
  assign x_zero    = (x_size == '0);
  assign bad_kind  = insn[MemMemoryTypeLsb +: MemMemoryTypeWidth] != MemMemoryTypeWidth'(MemOut) ||
                     insn[MemYPad0Lsb +: 16] != '0;
  assign oob       = extent > 40'(AccDepth);
  assign out_addr  = AddrWidth'(out_base_i) |
                     (AddrWidth'(insn[MemDramBaseLsb +: MemDramBaseWidth]) << LogOutBytes);
  assign stride_bytes = 32'(insn[MemXStrideLsb +: MemXStrideWidth]) << LogOutBytes;
  assign launch    = start && !x_zero && !bad_kind && !oob && y_size != '0;
  assign status_o.fault       = start && !x_zero && (bad_kind || oob);
  assign status_o.fault_code  = bad_kind ? 4'd4 : 4'd5;
  assign status_o.fault_value = 32'd0;

  // Write-address bursts, and their lengths for the data side
  logic             cmd_valid, cmd_busy, len_ready, len_valid, len_pop;
  logic [7:0]       cmd_len, len_head;
  logic [AddrWidth-1:0] cmd_addr;
  vta_dma_cmd u_cmd (
    .clk_i      (clk_i),
    .rst_ni     (rst_ni),
    .start_i    (launch),
    .base_i     (out_addr),
    .rows_i     (y_size),
    .row_bytes_i(32'(x_size) << LogOutBytes),
    .stride_i   (stride_bytes),
    .ar_valid_o (cmd_valid),
    .ar_ready_i (aw_ready_i && len_ready),
    .ar_addr_o  (cmd_addr),
    .ar_len_o   (cmd_len),
    .busy_o     (cmd_busy)
  );
  assign aw_valid_o = cmd_valid && len_ready;
  assign aw_addr_o  = cmd_addr;
  assign aw_len_o   = cmd_len;

  vta_fifo #(
    .Width(8),
    .Depth(4)
  ) u_len_fifo (
    .clk_i      (clk_i),
    .rst_ni     (rst_ni),
    .in_valid_i (aw_valid_o && aw_ready_i),
    .in_ready_o (len_ready),
    .in_data_i  (cmd_len),
    .out_valid_o(len_valid),
    .out_ready_i(len_pop),
    .out_data_o (len_head),
    .count_o    ()
  );

  // Tile reader: OUT tiles in order into a two-entry buffer
  logic                   running_q, rd_inflight_q;
  logic [31:0]            rd_left_q, wr_left_q, b_pending_q;
  logic [LogAccDepth-1:0] rd_idx_q;
  logic                   tile_valid, tile_ready, tile_pop;
  logic [OutTileBits-1:0] tile_head, out_rdata;
  logic [1:0]             tile_count;
  logic                   rd_issue;
  assign rd_issue = running_q && rd_left_q != '0 &&
                    (32'(tile_count) + 32'(rd_inflight_q)) < 32'd2;

  vta_sram #(
    .Width(OutTileBits),
    .Depth(AccDepth)
  ) u_out_sram (
    .clk_i  (sram_clk_i),
    .we_i   (out_we_i),
    .waddr_i(out_waddr_i),
    .wdata_i(out_wdata_i),
    .re_i   (rd_issue),
    .raddr_i(rd_idx_q),
    .rdata_o(out_rdata)
  );

  vta_fifo #(
    .Width     (OutTileBits),
    .Depth     (2),
    .MustAccept(1'b1)
  ) u_tile_fifo (
    .clk_i      (clk_i),
    .rst_ni     (rst_ni),
    .in_valid_i (rd_inflight_q),
    .in_ready_o (tile_ready),
    .in_data_i  (out_rdata),
    .out_valid_o(tile_valid),
    .out_ready_i(tile_pop),
    .out_data_o (tile_head),
    .count_o    (tile_count)
  );

  // Beat sender: w_valid_o, w_data_o, w_strb_o and tile_pop from the tile buffer's head
  logic [7:0] burst_beat_q;
  logic       w_fire;
  assign w_last_o  = (burst_beat_q == len_head);
  assign w_fire    = w_valid_o && w_ready_i;
  assign len_pop   = w_fire && w_last_o;
  assign b_ready_o = 1'b1;
  assign out_tile_o = tile_pop;

  if (!Narrow) begin : g_wide_tiles
    // Each tile is OutBeats whole beats, sent in order.
    localparam int unsigned OutBeats = OutTileBits / BusWidth;
    localparam int unsigned BeatW = (OutBeats > 1) ? $clog2(OutBeats) : 1;
    logic [BeatW-1:0] beat_q;
    assign w_valid_o = tile_valid && len_valid;
    assign w_data_o  = tile_head[32'(beat_q) * BusWidth +: BusWidth];
    assign w_strb_o  = '1;
    assign tile_pop  = w_fire && (beat_q == BeatW'(OutBeats - 1));
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) beat_q <= '0;
      else if (w_fire) beat_q <= (beat_q == BeatW'(OutBeats - 1)) ? '0 : beat_q + 1'b1;
    end
  end else begin : g_narrow_tiles
    // Tiles are gathered into a beat at their byte offset; the beat goes out with the strobes
    // of the bytes it holds after the beat's last tile or the row's last (rows start anywhere
    // in a beat, so the bytes around a row are left as they are).
    localparam int unsigned OutBytes = OutTileBits / 8;
    logic [LogBusBytes-1:0] off_q, row_off_q, stride_off_q;
    logic [15:0]            col_q;
    logic [BusWidth-1:0]    data_q;
    logic [BusBytes-1:0]    strb_q;
    logic [LogBusBytes-1:0] cur_off;
    logic [LogBusBytes:0]   next_off;
    logic                   row_end, beat_end;
    logic [BusWidth-1:0]    tile_data;
    logic [BusBytes-1:0]    tile_strb;
    assign cur_off   = (col_q == '0) ? row_off_q : off_q;
    assign next_off  = (LogBusBytes + 1)'(cur_off) + (LogBusBytes + 1)'(OutBytes);
    assign row_end   = (col_q == x_size - 16'd1);
    assign beat_end  = next_off[LogBusBytes] || row_end;
    assign tile_data = BusWidth'(tile_head) << (32'(cur_off) * 8);
    assign tile_strb = BusBytes'((1 << OutBytes) - 1) << cur_off;
    assign w_valid_o = tile_valid && len_valid && beat_end;
    assign w_data_o  = data_q | tile_data;
    assign w_strb_o  = strb_q | tile_strb;
    assign tile_pop  = beat_end ? w_fire : tile_valid;
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        off_q        <= '0;
        row_off_q    <= '0;
        stride_off_q <= '0;
        col_q        <= '0;
        data_q       <= '0;
        strb_q       <= '0;
      end else if (launch) begin
        row_off_q    <= out_addr[LogBusBytes-1:0];
        stride_off_q <= stride_bytes[LogBusBytes-1:0];
        col_q        <= '0;
        data_q       <= '0;
        strb_q       <= '0;
      end else if (tile_pop) begin
        off_q  <= next_off[LogBusBytes-1:0];
        data_q <= beat_end ? '0 : (data_q | tile_data);
        strb_q <= beat_end ? '0 : (strb_q | tile_strb);
        col_q  <= row_end ? '0 : col_q + 16'd1;
        if (row_end) row_off_q <= row_off_q + stride_off_q;
      end
    end
    // A tile starts at a multiple of its size in the beat (OUT bases are tile-aligned).
    `VTA_ASSERT_NEVER(NarrowTileAligned, tile_valid && (32'(cur_off) % OutBytes) != 0)
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      running_q     <= 1'b0;
      rd_inflight_q <= 1'b0;
      rd_left_q     <= '0;
      wr_left_q     <= '0;
      rd_idx_q      <= '0;
      b_pending_q   <= '0;
      burst_beat_q  <= '0;
    end else begin
      rd_inflight_q <= rd_issue;
      if (launch) begin
        running_q <= 1'b1;
        rd_left_q <= 32'(x_size) * 32'(y_size);
        wr_left_q <= 32'(x_size) * 32'(y_size);
        rd_idx_q  <= LogAccDepth'(sram_base);
      end else if (done) begin
        running_q <= 1'b0;
      end
      if (rd_issue) begin
        rd_left_q <= rd_left_q - 32'd1;
        rd_idx_q  <= rd_idx_q + 1'b1;
      end
      if (w_fire) burst_beat_q <= w_last_o ? 8'd0 : burst_beat_q + 8'd1;
      if (tile_pop) wr_left_q <= wr_left_q - 32'd1;
      if ((aw_valid_o && aw_ready_i) && !b_valid_i) b_pending_q <= b_pending_q + 32'd1;
      else if (!(aw_valid_o && aw_ready_i) && b_valid_i) b_pending_q <= b_pending_q - 32'd1;
    end
  end

  assign done = (start && (x_zero || (!bad_kind && !oob && y_size == '0))) ||
                (running_q && !launch && wr_left_q == '0 && !cmd_busy && b_pending_q == '0 &&
                 !rd_inflight_q);
  // Unused handshake output of the tile buffer: it never overflows (reads are credit-checked,
  // and the FIFO asserts it).
  logic unused_ok;
  assign unused_ok = tile_ready;

  // A write response answers a burst whose address was sent.
  `VTA_ASSERT_NEVER(WriteResponseExpected, b_valid_i && b_pending_q == '0)
endmodule
