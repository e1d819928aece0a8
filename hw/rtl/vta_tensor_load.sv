// One LOAD of tiles at least one bus beat wide (INP, WGT, ACC, ACC_8BIT) into an SRAM, with zero
// padding (spec §3.2): SRAM rows are contiguous with pitch x_pad_0 + x_size + x_pad_1; pad tiles
// are written one per cycle, data tiles as their beats arrive. The read bursts are issued ahead
// by vta_dma_cmd, so the bus runs one beat per cycle while memory keeps up.
module vta_tensor_load
  import vta_pkg::*;
#(
  parameter int unsigned MaxBeats = 2,
  parameter int unsigned Depth = 2048,
  parameter int unsigned AddrW = 48,
  localparam int unsigned IdxW = $clog2(Depth),
  localparam int unsigned TileW = MaxBeats * BusWidth,
  localparam int unsigned BeatW = (MaxBeats > 1) ? $clog2(MaxBeats) : 1
) (
  input  logic                clk_i,
  input  logic                rst_ni,
  // Command (held stable while busy)
  input  logic                start_i,
  input  logic [15:0]         sram_base_i,
  input  logic [AddrW-1:0]    dram_addr_i,
  input  logic [31:0]         stride_bytes_i,
  input  logic [15:0]         y_size_i,
  input  logic [15:0]         x_size_i,
  input  logic [3:0]          y_pad_0_i,
  input  logic [3:0]          y_pad_1_i,
  input  logic [3:0]          x_pad_0_i,
  input  logic [3:0]          x_pad_1_i,
  input  logic [3:0]          log_bytes_i,  // log2 of the tile bytes (>= log2 BusBytes)
  input  logic [31:0]         depth_i,      // tiles in the destination SRAM
  output logic                done_o,
  output logic                fault_o,
  output logic                busy_o,
  // AXI read channels of this client
  output logic                ar_valid_o,
  input  logic                ar_ready_i,
  output logic [AddrW-1:0]    ar_addr_o,
  output logic [7:0]          ar_len_o,
  input  logic                r_valid_i,
  output logic                r_ready_o,
  input  logic [BusWidth-1:0] r_data_i,
  // SRAM write (registered); wr_zero_o means write a zero tile
  output logic                wr_valid_o,
  output logic [IdxW-1:0]     wr_idx_o,
  output logic                wr_zero_o,
  output logic [TileW-1:0]    wr_data_o,
  output logic                data_tile_o
);
  typedef enum logic [1:0] {Idle, Run, Last} state_e;
  state_e state_q;

  logic [16:0]      row_q, col_q, xtotal_q, ytotal_q;
  logic [16:0]      y_lo_q, y_hi_q, x_lo_q, x_hi_q;
  logic [IdxW-1:0]  idx_q;
  logic [BeatW-1:0] beat_q;
  logic [TileW-1:0] tile_q;
  logic             wr_valid_q, wr_zero_q, data_tile_q;
  logic [IdxW-1:0]  wr_idx_q;

  // Geometry of the command
  logic [16:0] xtotal, ytotal;
  logic [39:0] extent;
  assign xtotal = 17'(x_pad_0_i) + 17'(x_size_i) + 17'(x_pad_1_i);
  assign ytotal = 17'(y_pad_0_i) + 17'(y_size_i) + 17'(y_pad_1_i);
  assign extent = 40'(sram_base_i) + 40'(xtotal) * 40'(ytotal);

  // Beats per tile - 1
  logic [BeatW-1:0] last_beat;
  assign last_beat = BeatW'((32'd1 << (log_bytes_i - 4'($clog2(BusBytes)))) - 32'd1);

  logic launch;
  assign launch = (state_q == Idle) && start_i && x_size_i != '0 && ytotal != '0 &&
                  extent <= 40'(depth_i);

  vta_dma_cmd #(
    .AddrW(AddrW)
  ) u_cmd (
    .clk_i      (clk_i),
    .rst_ni     (rst_ni),
    .start_i    (launch),
    .base_i     (dram_addr_i),
    .rows_i     (y_size_i),
    .row_bytes_i(32'(x_size_i) << log_bytes_i),
    .stride_i   (stride_bytes_i),
    .ar_valid_o (ar_valid_o),
    .ar_ready_i (ar_ready_i),
    .ar_addr_o  (ar_addr_o),
    .ar_len_o   (ar_len_o),
    .busy_o     ()
  );

  logic is_pad, tile_end, last_tile;
  assign is_pad    = (row_q < y_lo_q) || (row_q >= y_hi_q) || (col_q < x_lo_q) || (col_q >= x_hi_q);
  assign r_ready_o = (state_q == Run) && !is_pad;
  assign tile_end  = is_pad || (r_valid_i && beat_q == last_beat);
  assign last_tile = (col_q == xtotal_q - 17'd1) && (row_q == ytotal_q - 17'd1);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q     <= Idle;
      row_q       <= '0;
      col_q       <= '0;
      xtotal_q    <= '0;
      ytotal_q    <= '0;
      y_lo_q      <= '0;
      y_hi_q      <= '0;
      x_lo_q      <= '0;
      x_hi_q      <= '0;
      idx_q       <= '0;
      beat_q      <= '0;
      wr_valid_q  <= 1'b0;
      wr_zero_q   <= 1'b0;
      wr_idx_q    <= '0;
      data_tile_q <= 1'b0;
    end else begin
      wr_valid_q  <= 1'b0;
      data_tile_q <= 1'b0;
      unique case (state_q)
        Idle: begin
          if (launch) begin
            state_q  <= Run;
            row_q    <= '0;
            col_q    <= '0;
            beat_q   <= '0;
            xtotal_q <= xtotal;
            ytotal_q <= ytotal;
            y_lo_q   <= 17'(y_pad_0_i);
            y_hi_q   <= 17'(y_pad_0_i) + 17'(y_size_i);
            x_lo_q   <= 17'(x_pad_0_i);
            x_hi_q   <= 17'(x_pad_0_i) + 17'(x_size_i);
            idx_q    <= IdxW'(sram_base_i);
          end
        end
        Run: begin
          if (!is_pad && r_valid_i) beat_q <= (beat_q == last_beat) ? '0 : beat_q + 1'b1;
          if (tile_end) begin
            wr_valid_q  <= 1'b1;
            wr_zero_q   <= is_pad;
            wr_idx_q    <= idx_q;
            data_tile_q <= !is_pad;
            idx_q       <= idx_q + 1'b1;
            if (col_q == xtotal_q - 17'd1) begin
              col_q <= '0;
              row_q <= row_q + 17'd1;
            end else begin
              col_q <= col_q + 17'd1;
            end
            if (last_tile) state_q <= Last;
          end
        end
        Last: state_q <= Idle;
        default: state_q <= Idle;
      endcase
    end
  end

  // Beats land in place; the tile register needs no reset.
  always_ff @(posedge clk_i) begin
    if (r_ready_o && r_valid_i) tile_q[32'(beat_q) * BusWidth +: BusWidth] <= r_data_i;
  end

  assign done_o      = (state_q == Last) ||
                       ((state_q == Idle) && start_i && (x_size_i == '0 || ytotal == '0));
  assign fault_o     = (state_q == Idle) && start_i && x_size_i != '0 && ytotal != '0 &&
                       extent > 40'(depth_i);
  assign busy_o      = (state_q != Idle);
  assign wr_valid_o  = wr_valid_q;
  assign wr_idx_o    = wr_idx_q;
  assign wr_zero_o   = wr_zero_q;
  assign wr_data_o   = tile_q;
  assign data_tile_o = data_tile_q;
endmodule
