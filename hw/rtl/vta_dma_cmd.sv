// Read-command generator of a 2-D strided DMA: for `rows` rows of `row_bytes` bytes, the row r
// starting at base + r*stride, it issues AXI read bursts covering each row in whole bus beats.
// A burst has at most MaxBurstBeats beats and never crosses a 4 KiB boundary (AXI rule).
`include "vta_assert.svh"

module vta_dma_cmd
  import vta_pkg::*;
(
  input  logic                 clk_i,
  input  logic                 rst_ni,
  input  logic                 start_i,
  input  logic [AddrWidth-1:0] base_i,
  input  logic [15:0]          rows_i,
  input  logic [31:0]          row_bytes_i,
  input  logic [31:0]          stride_i,
  output logic                 ar_valid_o,
  input  logic                 ar_ready_i,
  output logic [AddrWidth-1:0] ar_addr_o,
  output logic [7:0]           ar_len_o,
  output logic                 busy_o
);
  localparam int unsigned BeatShift = $clog2(BusBytes);

  logic             busy_q;
  logic [AddrWidth-1:0] row_start_q, cur_q, end_q;
  logic [15:0]      rows_left_q;
  logic [31:0]      stride_q, row_bytes_q;

  // Beat-aligned bounds of the row that starts at `start`.
  function automatic logic [AddrWidth-1:0] align_down(logic [AddrWidth-1:0] a);
    return a & ~(AddrWidth'(BusBytes) - AddrWidth'(1));
  endfunction
  function automatic logic [AddrWidth-1:0] row_end(logic [AddrWidth-1:0] start, logic [31:0] nbytes);
    logic [AddrWidth-1:0] e;
    e = start + AddrWidth'(nbytes) + AddrWidth'(BusBytes) - AddrWidth'(1);
    return align_down(e);
  endfunction

  logic [AddrWidth-1:0] rem_beats, to_4k_beats;
  logic [12:0]      to_4k_bytes;
  logic [7:0]       burst_beats;
  // The burst is worked out only while a command runs (the model skips it otherwise).
  always_comb begin
    rem_beats   = '0;
    to_4k_bytes = '0;
    to_4k_beats = '0;
    burst_beats = '0;
    if (busy_q) begin
      rem_beats   = (end_q - cur_q) >> BeatShift;
      to_4k_bytes = 13'h1000 - {1'b0, cur_q[11:0]};
      to_4k_beats = AddrWidth'(to_4k_bytes) >> BeatShift;
      burst_beats = 8'(MaxBurstBeats);
      if (rem_beats < AddrWidth'(burst_beats)) burst_beats = rem_beats[7:0];
      if (to_4k_beats < AddrWidth'(burst_beats)) burst_beats = to_4k_beats[7:0];
    end
  end

  assign ar_valid_o = busy_q;
  assign ar_addr_o  = cur_q;
  assign ar_len_o   = burst_beats - 8'd1;
  assign busy_o     = busy_q;

  logic [AddrWidth-1:0] next_cur, next_row;
  assign next_cur = cur_q + (AddrWidth'(burst_beats) << BeatShift);
  assign next_row = row_start_q + AddrWidth'(stride_q);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      busy_q      <= 1'b0;
      row_start_q <= '0;
      cur_q       <= '0;
      end_q       <= '0;
      rows_left_q <= '0;
      stride_q    <= '0;
      row_bytes_q <= '0;
    end else if (!busy_q) begin
      if (start_i && rows_i != '0 && row_bytes_i != '0) begin
        busy_q      <= 1'b1;
        row_start_q <= base_i;
        cur_q       <= align_down(base_i);
        end_q       <= row_end(base_i, row_bytes_i);
        rows_left_q <= rows_i;
        stride_q    <= stride_i;
        row_bytes_q <= row_bytes_i;
      end
    end else if (ar_ready_i) begin
      if (next_cur == end_q) begin
        if (rows_left_q == 16'd1) begin
          busy_q <= 1'b0;
        end
        rows_left_q <= rows_left_q - 16'd1;
        row_start_q <= next_row;
        cur_q       <= align_down(next_row);
        end_q       <= row_end(next_row, row_bytes_q);
      end else begin
        cur_q <= next_cur;
      end
    end
  end

  `VTA_ASSERT(BurstLenLegal, !ar_valid_o || (burst_beats != '0 && 32'(burst_beats) <= MaxBurstBeats))
  `VTA_ASSERT(BurstWithin4KiB,
              !ar_valid_o || 32'(cur_q[11:0]) + (32'(burst_beats) << BeatShift) <= 32'h1000)
  `VTA_ASSERT_STABLE(BurstHeldUntilTaken, ar_valid_o && !ar_ready_i, {ar_valid_o, ar_addr_o, ar_len_o})
endmodule
