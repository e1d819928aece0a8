// LOAD UOP: micro-ops are 32 bits, two per 64-bit bus beat, and a row may start in the upper
// half of a beat (dram_base is in 4-byte units). Padding writes zero uops, as for other types.
module vta_uop_load
  import vta_pkg::*;
#(
  localparam int unsigned IdxW = LogUopDepth
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
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
  output logic                 done_o,
  output logic                 fault_o,
  output logic                 busy_o,
  output mem_rd_req_t          mem_req_o,
  input  mem_rd_rsp_t          mem_rsp_i,
  output logic                 wr_valid_o,
  output logic [IdxW-1:0]      wr_idx_o,
  output logic [UopBits-1:0]   wr_data_o,
  output logic                 data_tile_o
);
  logic               half_q;       // which 32-bit half of the current beat is next
  logic [AddrWidth-1:0]row_addr_q;   // byte address of the next data row
  logic [31:0]        stride_q;
  logic [UopBits-1:0] wr_data_q;

  logic launch, slot_valid, slot_pad, row_first_data, row_last_data, take;
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
    .depth_i          (32'(UopDepth)),
    .launch_o         (launch),
    .done_o           (done_o),
    .fault_o          (fault_o),
    .busy_o           (busy_o),
    .slot_valid_o     (slot_valid),
    .slot_ready_i     (slot_pad || take),
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
    .row_bytes_i(32'(x_size_i) << 2),
    .stride_i   (stride_bytes_i),
    .ar_valid_o (mem_req_o.ar_valid),
    .ar_ready_i (mem_rsp_i.ar_ready),
    .ar_addr_o  (mem_req_o.ar_addr),
    .ar_len_o   (mem_req_o.ar_len),
    .busy_o     ()
  );

  // A data row starts in the half given by its address; the beat is popped after its upper
  // half or after the row's last uop.
  logic cur_half;
  assign cur_half  = row_first_data ? row_addr_q[2] : half_q;
  assign take      = slot_valid && !slot_pad && mem_rsp_i.r_valid;
  assign mem_req_o.r_ready = slot_valid && !slot_pad && (cur_half || row_last_data);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      half_q     <= 1'b0;
      row_addr_q <= '0;
      stride_q   <= '0;
      wr_data_q  <= '0;
    end else if (launch) begin
      row_addr_q <= dram_addr_i;
      stride_q   <= stride_bytes_i;
    end else if (slot_valid && (slot_pad || take)) begin
      wr_data_q <= slot_pad ? '0 : (cur_half ? mem_rsp_i.r_data[63:32] : mem_rsp_i.r_data[31:0]);
      if (!slot_pad) begin
        half_q <= !cur_half;
        if (row_last_data) row_addr_q <= row_addr_q + AddrWidth'(stride_q);
      end
    end
  end

  assign wr_data_o = wr_data_q;
  // The beat count ends a tile; the burst's last flag is not needed.
  logic unused_r_last;
  assign unused_r_last = mem_rsp_i.r_last;
endmodule
