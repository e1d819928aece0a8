// Memory engine, read side: NumClients read clients share one AXI read-address channel (fixed
// priority, lowest index first: fetch, load, compute) and the read-data channel is steered back
// by the AXI id, which carries the client number: each client gets its own grant and R valid,
// while the R beat's data and last flag go to every client unchanged (vta_top wires them), so
// nothing wide is copied per client. The single write client (store) connects straight through
// in vta_top.
`include "vta_assert.svh"

module vta_mem_arb
  import vta_pkg::*;
#(
  parameter int unsigned NumClients = 3,
  localparam int unsigned IdW = $clog2(NumClients)
) (
  input  logic                         clk_i,   // for the assertions (and their bookkeeping) only
  input  logic                         rst_ni,  // for the assertions (and their bookkeeping) only
  input  mem_rd_req_t                  c_req_i [NumClients],
  output mem_rd_rsp_t                  c_rsp_o [NumClients],
  output logic                         ar_valid_o,
  input  logic                         ar_ready_i,
  output logic [AddrWidth-1:0]         ar_addr_o,
  output logic [7:0]                   ar_len_o,
  output logic [IdW-1:0]               ar_id_o,
  input  logic                         r_valid_i,
  output logic                         r_ready_o,
  input  logic [IdW-1:0]               r_id_i,
  input  logic                         r_last_i  // for the assertions' bookkeeping only
);
  always_comb begin
    ar_valid_o = 1'b0;
    ar_addr_o  = '0;
    ar_len_o   = '0;
    ar_id_o    = '0;
    for (int i = NumClients - 1; i >= 0; i--) begin
      if (c_req_i[i].ar_valid) begin
        ar_valid_o = 1'b1;
        ar_addr_o  = c_req_i[i].ar_addr;
        ar_len_o   = c_req_i[i].ar_len;
        ar_id_o    = IdW'(i);
      end
    end
  end

  // The taken request's client gets the grant; only the client named by the id sees the R beat
  // valid (an id of no client: none).
  logic [NumClients-1:0] grant, r_valid;
  assign grant   = (ar_valid_o && ar_ready_i) ? NumClients'(1) << ar_id_o : '0;
  assign r_valid = r_valid_i ? NumClients'(1) << r_id_i : '0;
  always_comb begin
    for (int i = 0; i < NumClients; i++) c_rsp_o[i] = '{ar_ready: grant[i], r_valid: r_valid[i]};
  end
  assign r_ready_o = c_req_i[r_id_i].r_ready;

  // Memory answers only the ids it was given.
  `VTA_ASSERT_NEVER(ReadIdInRange, r_valid_i && 32'(r_id_i) >= NumClients)

  // A client takes R beats as the answers to its requests in the order it made them (AXI orders
  // responses per id): with a memory that has latency and several bursts in flight, a beat must
  // still answer a burst its client was granted and has not yet seen the last beat of.
  logic [NumClients-1:0][15:0] open_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      open_q <= '0;
    end else begin
      for (int i = 0; i < NumClients; i++) begin
        open_q[i] <= open_q[i] + 16'(grant[i]) -
                     16'(r_valid[i] && c_req_i[i].r_ready && r_last_i);
      end
    end
  end
  `VTA_ASSERT_NEVER(ReadResponseExpected,
                    r_valid_i && 32'(r_id_i) < NumClients && open_q[r_id_i] == '0)
  `VTA_ASSERT_ONEHOT0(OneGrant, grant)
endmodule
