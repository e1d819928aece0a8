// LOAD UOP: micro-ops are 32 bits, two per 64-bit bus beat, and a row may start in the upper
// half of a beat (dram_base is in 4-byte units). Padding writes zero uops, as for other types.
module vta_uop_load
  import vta_pkg::*;
#(
  parameter int unsigned AddrW = 48,
  localparam int unsigned IdxW = LogUopDepth
) (
  input  logic                clk_i,
  input  logic                rst_ni,
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
  output logic                done_o,
  output logic                fault_o,
  output logic                busy_o,
  output logic                ar_valid_o,
  input  logic                ar_ready_i,
  output logic [AddrW-1:0]    ar_addr_o,
  output logic [7:0]          ar_len_o,
  input  logic                r_valid_i,
  output logic                r_ready_o,
  input  logic [BusWidth-1:0] r_data_i,
  output logic                wr_valid_o,
  output logic [IdxW-1:0]     wr_idx_o,
  output logic [UopBits-1:0]  wr_data_o,
  output logic                data_tile_o
);
  typedef enum logic [1:0] {Idle, Run, Last} state_e;
  state_e state_q;

  logic [16:0]        row_q, col_q, xtotal_q, ytotal_q;
  logic [16:0]        y_lo_q, y_hi_q, x_lo_q, x_hi_q;
  logic [IdxW-1:0]    idx_q;
  logic               half_q;       // which 32-bit half of the current beat is next
  logic [AddrW-1:0]   row_addr_q;   // byte address of the next data row
  logic [31:0]        stride_q;
  logic               wr_valid_q, data_tile_q;
  logic [IdxW-1:0]    wr_idx_q;
  logic [UopBits-1:0] wr_data_q;

  logic [16:0] xtotal, ytotal;
  logic [39:0] extent;
  assign xtotal = 17'(x_pad_0_i) + 17'(x_size_i) + 17'(x_pad_1_i);
  assign ytotal = 17'(y_pad_0_i) + 17'(y_size_i) + 17'(y_pad_1_i);
  assign extent = 40'(sram_base_i) + 40'(xtotal) * 40'(ytotal);

  logic launch;
  assign launch = (state_q == Idle) && start_i && x_size_i != '0 && ytotal != '0 &&
                  extent <= 40'(UopDepth);

  vta_dma_cmd #(
    .AddrW(AddrW)
  ) u_cmd (
    .clk_i      (clk_i),
    .rst_ni     (rst_ni),
    .start_i    (launch),
    .base_i     (dram_addr_i),
    .rows_i     (y_size_i),
    .row_bytes_i(32'(x_size_i) << 2),
    .stride_i   (stride_bytes_i),
    .ar_valid_o (ar_valid_o),
    .ar_ready_i (ar_ready_i),
    .ar_addr_o  (ar_addr_o),
    .ar_len_o   (ar_len_o),
    .busy_o     ()
  );

  logic is_pad, row_first_data, row_last_data, last_tile, take;
  assign is_pad         = (row_q < y_lo_q) || (row_q >= y_hi_q) || (col_q < x_lo_q) ||
                          (col_q >= x_hi_q);
  assign row_first_data = (col_q == x_lo_q);
  assign row_last_data  = (col_q == x_hi_q - 17'd1);
  assign last_tile      = (col_q == xtotal_q - 17'd1) && (row_q == ytotal_q - 17'd1);
  // A data row starts in the half given by its address; the beat is popped after its upper
  // half or after the row's last uop.
  logic cur_half;
  assign cur_half  = row_first_data ? row_addr_q[2] : half_q;
  assign take      = (state_q == Run) && !is_pad && r_valid_i;
  assign r_ready_o = (state_q == Run) && !is_pad && (cur_half || row_last_data);

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
      half_q      <= 1'b0;
      row_addr_q  <= '0;
      stride_q    <= '0;
      wr_valid_q  <= 1'b0;
      wr_idx_q    <= '0;
      wr_data_q   <= '0;
      data_tile_q <= 1'b0;
    end else begin
      wr_valid_q  <= 1'b0;
      data_tile_q <= 1'b0;
      unique case (state_q)
        Idle: begin
          if (launch) begin
            state_q    <= Run;
            row_q      <= '0;
            col_q      <= '0;
            xtotal_q   <= xtotal;
            ytotal_q   <= ytotal;
            y_lo_q     <= 17'(y_pad_0_i);
            y_hi_q     <= 17'(y_pad_0_i) + 17'(y_size_i);
            x_lo_q     <= 17'(x_pad_0_i);
            x_hi_q     <= 17'(x_pad_0_i) + 17'(x_size_i);
            idx_q      <= IdxW'(sram_base_i);
            row_addr_q <= dram_addr_i;
            stride_q   <= stride_bytes_i;
          end
        end
        Run: begin
          if (is_pad || take) begin
            wr_valid_q  <= 1'b1;
            wr_idx_q    <= idx_q;
            wr_data_q   <= is_pad ? '0 : (cur_half ? r_data_i[63:32] : r_data_i[31:0]);
            data_tile_q <= !is_pad;
            idx_q       <= idx_q + 1'b1;
            if (!is_pad) begin
              half_q <= !cur_half;
              if (row_last_data) row_addr_q <= row_addr_q + AddrW'(stride_q);
            end
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

  assign done_o      = (state_q == Last) ||
                       ((state_q == Idle) && start_i && (x_size_i == '0 || ytotal == '0));
  assign fault_o     = (state_q == Idle) && start_i && x_size_i != '0 && ytotal != '0 &&
                       extent > 40'(UopDepth);
  assign busy_o      = (state_q != Idle);
  assign wr_valid_o  = wr_valid_q;
  assign wr_idx_o    = wr_idx_q;
  assign wr_data_o   = wr_data_q;
  assign data_tile_o = data_tile_q;
endmodule
