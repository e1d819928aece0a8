// One 2-D LOAD into an SRAM, with zero padding (spec §3.2), for tiles of any power-of-two size
// from 2 bytes up: INP, WGT (packed 2-, 4- or 8-bit elements, isa/elements.ts), ACC, ACC_8BIT and
// 32-bit uops. vta_pad_walk walks the destination tiles; pad tiles are written one per cycle.
// A tile of at least one bus beat is assembled from its beats; a narrower tile is cut out of the
// beat that holds it, several per beat, a row starting wherever its address falls in a beat (the
// beat is popped after its last tile or the row's last). The read bursts are issued ahead by
// vta_dma_cmd, so the bus runs one beat per cycle while memory keeps up.
`include "vta_assert.svh"

module vta_tensor_load
  import vta_pkg::*;
#(
  parameter int unsigned MaxBeats = 2,
  parameter int unsigned Depth = 2048,
  localparam int unsigned IdxW = $clog2(Depth),
  localparam int unsigned TileW = MaxBeats * BusWidth,
  localparam int unsigned BeatW = (MaxBeats > 1) ? $clog2(MaxBeats) : 1,
  localparam int unsigned LogBusBytes = $clog2(BusBytes)
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
  // Command (held stable while busy)
  input  logic                 start_i,
  input  logic [15:0]          sram_base_i,
  input  logic [AddrWidth-1:0] dram_addr_i,
  input  logic [31:0]          stride_bytes_i,
  input  logic [15:0]          y_size_i,
  input  logic [15:0]          x_size_i,
  input  logic [3:0]           y_pad_0_i,
  input  logic [3:0]           y_pad_1_i,
  input  logic [3:0]           x_pad_0_i,
  input  logic [3:0]           x_pad_1_i,
  input  logic [3:0]           log_bytes_i,  // log2 of the tile bytes (>= 1)
  input  logic [31:0]          depth_i,      // tiles in the destination SRAM
  output logic                 done_o,
  output logic                 fault_o,
  output logic                 busy_o,
  // Memory read client
  output mem_rd_req_t          mem_req_o,
  input  mem_rd_rsp_t          mem_rsp_i,
  input  logic [BusWidth-1:0]  mem_r_data_i,  // the R beat (valid when mem_rsp_i.r_valid)
  // SRAM write (registered); wr_zero_o means write a zero tile. A tile narrower than TileW
  // sits in the low bits.
  output logic                 wr_valid_o,
  output logic [IdxW-1:0]      wr_idx_o,
  output logic                 wr_zero_o,
  output logic [TileW-1:0]     wr_data_o,
  output logic                 data_tile_o
);
  logic [BeatW-1:0]       beat_q;       // wide tiles: next beat of the tile
  logic [LogBusBytes-1:0] part_q;       // narrow tiles: byte offset of the next tile in its beat
  logic [LogBusBytes-1:0] row_off_q;    // narrow tiles: byte offset of the next row's start
  logic [LogBusBytes-1:0] stride_off_q;
  logic [TileW-1:0]       tile_q;
  logic                   wr_zero_q;

  logic narrow;
  assign narrow = log_bytes_i < 4'(LogBusBytes);

  logic launch, slot_valid, slot_pad, slot_ready, row_first_data, row_last_data;
  vta_pad_walk #(
    .IdxW(IdxW)
  ) u_walk (
    .clk_i            (clk_i),
    .rst_ni           (rst_ni),
    .start_i          (start_i),
    .sram_base_i      (sram_base_i),
    .y_size_i         (y_size_i),
    .x_size_i         (x_size_i),
    .y_pad_0_i        (y_pad_0_i),
    .y_pad_1_i        (y_pad_1_i),
    .x_pad_0_i        (x_pad_0_i),
    .x_pad_1_i        (x_pad_1_i),
    .depth_i          (depth_i),
    .launch_o         (launch),
    .done_o           (done_o),
    .fault_o          (fault_o),
    .busy_o           (busy_o),
    .slot_valid_o     (slot_valid),
    .slot_ready_i     (slot_ready),
    .slot_pad_o       (slot_pad),
    .slot_first_data_o(row_first_data),
    .slot_last_data_o (row_last_data),
    .wr_valid_o       (wr_valid_o),
    .wr_idx_o         (wr_idx_o),
    .data_tile_o      (data_tile_o)
  );

  vta_dma_cmd u_cmd (
    .clk_i      (clk_i),
    .rst_ni     (rst_ni),
    .start_i    (launch),
    .base_i     (dram_addr_i),
    .rows_i     (y_size_i),
    .row_bytes_i(32'(x_size_i) << log_bytes_i),
    .stride_i   (stride_bytes_i),
    .ar_valid_o (mem_req_o.ar_valid),
    .ar_ready_i (mem_rsp_i.ar_ready),
    .ar_addr_o  (mem_req_o.ar_addr),
    .ar_len_o   (mem_req_o.ar_len),
    .busy_o     ()
  );

  // Wide tiles: beats per tile - 1.
  logic [BeatW-1:0] last_beat;
  assign last_beat = narrow ? '0 : BeatW'((32'd1 << (log_bytes_i - 4'(LogBusBytes))) - 32'd1);

  // Narrow tiles: where this tile sits in the beat, and whether it is the beat's last.
  logic [LogBusBytes-1:0] cur_off;
  logic [LogBusBytes:0]   next_off;
  logic                   beat_end;
  assign cur_off  = row_first_data ? row_off_q : part_q;
  assign next_off = (LogBusBytes + 1)'(cur_off) + ((LogBusBytes + 1)'(1) << log_bytes_i);
  assign beat_end = next_off[LogBusBytes];

  logic data_slot, take_narrow, beat_fire;
  assign data_slot   = slot_valid && !slot_pad;
  assign take_narrow = data_slot && narrow && mem_rsp_i.r_valid;
  assign mem_req_o.r_ready = data_slot && (!narrow || beat_end || row_last_data);
  assign beat_fire   = mem_req_o.r_ready && mem_rsp_i.r_valid;
  assign slot_ready  = slot_pad || take_narrow || (beat_fire && !narrow && beat_q == last_beat);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      beat_q       <= '0;
      part_q       <= '0;
      row_off_q    <= '0;
      stride_off_q <= '0;
      wr_zero_q    <= 1'b0;
    end else begin
      if (launch) begin
        beat_q       <= '0;
        row_off_q    <= dram_addr_i[LogBusBytes-1:0];
        stride_off_q <= stride_bytes_i[LogBusBytes-1:0];
      end
      if (beat_fire && !narrow) beat_q <= (beat_q == last_beat) ? '0 : beat_q + 1'b1;
      if (take_narrow) begin
        part_q <= next_off[LogBusBytes-1:0];
        if (row_last_data) row_off_q <= row_off_q + stride_off_q;
      end
      if (slot_valid && slot_ready) wr_zero_q <= slot_pad;
    end
  end

  // Beats land in place (wide) or shifted down to the tile (narrow); no reset needed.
  always_ff @(posedge clk_i) begin
    if (take_narrow) begin
      tile_q[BusWidth-1:0] <= mem_r_data_i >> (32'(cur_off) * 8);
    end else if (beat_fire) begin
      tile_q[32'(beat_q) * BusWidth +: BusWidth] <= mem_r_data_i;
    end
  end

  assign wr_zero_o = wr_zero_q;
  assign wr_data_o = tile_q;
  // The beat count ends a tile; the burst's last flag is not needed (nor wired here).

  // A narrow tile starts at a multiple of its size in the beat (DRAM bases are tile-aligned).
  `VTA_ASSERT_NEVER(NarrowTileAligned,
                    take_narrow && (cur_off & LogBusBytes'((32'd1 << log_bytes_i) - 32'd1)) != '0)
  // A wide tile is a whole number of beats no larger than the tile register.
  `VTA_ASSERT_NEVER(WideTileFits,
                    busy_o && !narrow && (32'd1 << (log_bytes_i - 4'(LogBusBytes))) > MaxBeats)
endmodule
