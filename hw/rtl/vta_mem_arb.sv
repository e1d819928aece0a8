// Memory engine, read side: NumClients read clients share one AXI read-address channel (fixed
// priority, lowest index first: fetch, load, compute) and the read-data channel is steered back
// by the AXI id, which carries the client number. The single write client (store) connects
// straight through in vta_top.
module vta_mem_arb
  import vta_pkg::*;
#(
  parameter int unsigned NumClients = 3,
  parameter int unsigned AddrW = 48,
  localparam int unsigned IdW = $clog2(NumClients)
) (
  input  logic [NumClients-1:0]               c_ar_valid_i,
  output logic [NumClients-1:0]               c_ar_ready_o,
  input  logic [NumClients-1:0][AddrW-1:0]    c_ar_addr_i,
  input  logic [NumClients-1:0][7:0]          c_ar_len_i,
  output logic [NumClients-1:0]               c_r_valid_o,
  input  logic [NumClients-1:0]               c_r_ready_i,
  output logic                                ar_valid_o,
  input  logic                                ar_ready_i,
  output logic [AddrW-1:0]                    ar_addr_o,
  output logic [7:0]                          ar_len_o,
  output logic [IdW-1:0]                      ar_id_o,
  input  logic                                r_valid_i,
  output logic                                r_ready_o,
  input  logic [IdW-1:0]                      r_id_i
);
  always_comb begin
    ar_valid_o   = 1'b0;
    ar_addr_o    = '0;
    ar_len_o     = '0;
    ar_id_o      = '0;
    c_ar_ready_o = '0;
    for (int i = NumClients - 1; i >= 0; i--) begin
      if (c_ar_valid_i[i]) begin
        ar_valid_o = 1'b1;
        ar_addr_o  = c_ar_addr_i[i];
        ar_len_o   = c_ar_len_i[i];
        ar_id_o    = IdW'(i);
      end
    end
    c_ar_ready_o[ar_id_o] = ar_valid_o && ar_ready_i;
  end

  always_comb begin
    c_r_valid_o          = '0;
    c_r_valid_o[r_id_i]  = r_valid_i;
    r_ready_o            = c_r_ready_i[r_id_i];
  end
endmodule
