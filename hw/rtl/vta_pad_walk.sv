// SRAM side of a padded 2-D LOAD (spec §3.2), shared by vta_tensor_load and vta_uop_load: walks
// the (y_pad_0 + y_size + y_pad_1) x (x_pad_0 + x_size + x_pad_1) destination tiles row by row
// from sram_base and offers them as a stream of slots (valid in Run, pad_o says zero padding).
// The owner takes a slot (slot_ready_i) when its tile is complete; the walk then registers the
// write (index, and whether it was a data tile) for the cycle after. Empty loads finish at once;
// a destination past depth_i faults without starting.
`include "vta_assert.svh"

module vta_pad_walk
  import vta_pkg::*;
#(
  parameter int unsigned IdxW = 11
) (
  input  logic            clk_i,
  input  logic            rst_ni,
  // Command (held stable while busy)
  input  logic            start_i,
  input  logic [15:0]     sram_base_i,
  input  logic [15:0]     y_size_i,
  input  logic [15:0]     x_size_i,
  input  logic [3:0]      y_pad_0_i,
  input  logic [3:0]      y_pad_1_i,
  input  logic [3:0]      x_pad_0_i,
  input  logic [3:0]      x_pad_1_i,
  input  logic [31:0]     depth_i,          // tiles in the destination SRAM
  output logic            launch_o,         // the walk starts this cycle (starts the DMA too)
  output logic            done_o,
  output logic            fault_o,
  output logic            busy_o,
  // Tile slots
  output logic            slot_valid_o,
  input  logic            slot_ready_i,
  output logic            slot_pad_o,
  output logic            slot_first_data_o,  // first data tile of its row
  output logic            slot_last_data_o,   // last data tile of its row
  // Registered write of the slot taken last cycle
  output logic            wr_valid_o,
  output logic [IdxW-1:0] wr_idx_o,
  output logic            data_tile_o
);
  typedef enum logic [1:0] {Idle, Run, Last} state_e;
  state_e state_q;

  logic [16:0]     row_q, col_q, xtotal_q, ytotal_q;
  logic [16:0]     y_lo_q, y_hi_q, x_lo_q, x_hi_q;
  logic [IdxW-1:0] idx_q;
  logic            wr_valid_q, data_tile_q;
  logic [IdxW-1:0] wr_idx_q;

  // Geometry of the command, worked out only in a cycle that may launch (the product is not
  // needed otherwise: the model then skips it).
  logic [16:0] xtotal, ytotal;
  logic [39:0] extent;
  logic        launch, empty, too_far;
  always_comb begin
    xtotal  = '0;
    ytotal  = '0;
    extent  = '0;
    launch  = 1'b0;
    empty   = 1'b0;
    too_far = 1'b0;
    if (state_q == Idle && start_i) begin
      xtotal  = 17'(x_pad_0_i) + 17'(x_size_i) + 17'(x_pad_1_i);
      ytotal  = 17'(y_pad_0_i) + 17'(y_size_i) + 17'(y_pad_1_i);
      extent  = 40'(sram_base_i) + 40'(xtotal) * 40'(ytotal);
      empty   = x_size_i == '0 || ytotal == '0;
      too_far = extent > 40'(depth_i);
      launch  = !empty && !too_far;
    end
  end

  logic is_pad, take, last_tile;
  assign is_pad    = (row_q < y_lo_q) || (row_q >= y_hi_q) || (col_q < x_lo_q) || (col_q >= x_hi_q);
  assign take      = (state_q == Run) && slot_ready_i;
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
      wr_valid_q  <= 1'b0;
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
          if (take) begin
            wr_valid_q  <= 1'b1;
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

  assign launch_o          = launch;
  assign done_o            = (state_q == Last) || empty;
  assign fault_o           = !empty && too_far;
  assign busy_o            = (state_q != Idle);
  assign slot_valid_o      = (state_q == Run);
  assign slot_pad_o        = is_pad;
  assign slot_first_data_o = (col_q == x_lo_q);
  assign slot_last_data_o  = (col_q == x_hi_q - 17'd1);
  assign wr_valid_o        = wr_valid_q;
  assign wr_idx_o          = wr_idx_q;
  assign data_tile_o       = data_tile_q;

  `VTA_ASSERT(StateLegal, state_q == Idle || state_q == Run || state_q == Last)
  // The range check at launch covers every tile written.
  `VTA_ASSERT(WriteInRange, !wr_valid_o || 32'(wr_idx_o) < depth_i)
endmodule
