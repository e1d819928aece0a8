// One LOAD of tiles at least one bus beat wide (INP, WGT, ACC, ACC_8BIT) into an SRAM, with zero
// padding (spec §3.2): vta_pad_walk walks the destination tiles; pad tiles are written one per
// cycle, data tiles as their beats arrive. The read bursts are issued ahead by vta_dma_cmd, so
// the bus runs one beat per cycle while memory keeps up.
module vta_tensor_load
  import vta_pkg::*;
#(
  parameter int unsigned MaxBeats = 2,
  parameter int unsigned Depth = 2048,
  localparam int unsigned IdxW = $clog2(Depth),
  localparam int unsigned TileW = MaxBeats * BusWidth,
  localparam int unsigned BeatW = (MaxBeats > 1) ? $clog2(MaxBeats) : 1
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
  input  logic [3:0]           log_bytes_i,  // log2 of the tile bytes (>= log2 BusBytes)
  input  logic [31:0]          depth_i,      // tiles in the destination SRAM
  output logic                 done_o,
  output logic                 fault_o,
  output logic                 busy_o,
  // Memory read client
  output mem_rd_req_t          mem_req_o,
  input  mem_rd_rsp_t          mem_rsp_i,
  // SRAM write (registered); wr_zero_o means write a zero tile
  output logic                 wr_valid_o,
  output logic [IdxW-1:0]      wr_idx_o,
  output logic                 wr_zero_o,
  output logic [TileW-1:0]     wr_data_o,
  output logic                 data_tile_o
);
  logic [BeatW-1:0] beat_q;
  logic [TileW-1:0] tile_q;
  logic             wr_zero_q;

  // Beats per tile - 1
  logic [BeatW-1:0] last_beat;
  assign last_beat = BeatW'((32'd1 << (log_bytes_i - 4'($clog2(BusBytes)))) - 32'd1);

  logic launch, slot_valid, slot_pad, tile_end;
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
    .slot_ready_i     (tile_end),
    .slot_pad_o       (slot_pad),
    .slot_first_data_o(),
    .slot_last_data_o (),
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

  assign mem_req_o.r_ready = slot_valid && !slot_pad;
  assign tile_end  = slot_pad || (mem_rsp_i.r_valid && beat_q == last_beat);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      beat_q    <= '0;
      wr_zero_q <= 1'b0;
    end else begin
      if (launch) beat_q <= '0;
      if (mem_req_o.r_ready && mem_rsp_i.r_valid) beat_q <= (beat_q == last_beat) ? '0 : beat_q + 1'b1;
      if (slot_valid && tile_end) wr_zero_q <= slot_pad;
    end
  end

  // Beats land in place; the tile register needs no reset.
  always_ff @(posedge clk_i) begin
    if (mem_req_o.r_ready && mem_rsp_i.r_valid) tile_q[32'(beat_q) * BusWidth +: BusWidth] <= mem_rsp_i.r_data;
  end

  assign wr_zero_o = wr_zero_q;
  assign wr_data_o = tile_q;
  // The beat count ends a tile; the burst's last flag is not needed.
  logic unused_r_last;
  assign unused_r_last = mem_rsp_i.r_last;
endmodule
