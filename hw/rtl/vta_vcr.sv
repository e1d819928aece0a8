// Host control registers (spec §5.2 map, then event counters and debug registers; offsets in
// hw/regmap.ts). Writing 1 to control starts a run (launch pulse); the core's finish sets
// control to 0b10 and freezes the cycle counter. A read (req_i high, we_i low) is combinational:
// rdata_o holds the register at addr_i in that cycle and is 0 otherwise, so the read mux is
// worked out only for a read, not at every evaluation. Writes take a cycle.
module vta_vcr
  import vta_pkg::*;
#(
  // Per counter: 0 if cnt_inc_i steps it, else its step at each event of cnt_bus_i.
  parameter logic [NumCounters-1:0][31:0] BusSteps = '0
) (
  input  logic                            clk_i,
  input  logic                            rst_ni,
  input  logic                            req_i,
  input  logic                            we_i,
  input  logic [7:0]                      addr_i,
  input  logic [31:0]                     wdata_i,
  output logic [31:0]                     rdata_o,
  output logic                            launch_o,
  output logic                            running_o,
  output logic [31:0]                     cycles_o,     // cycles since launch (event time stamps)
  input  logic                            finish_i,
  output logic [31:0]                     insn_count_o,
  output logic [31:0]                     insn_addr_o,
  output logic [31:0]                     uop_base_o,
  output logic [31:0]                     inp_base_o,
  output logic [31:0]                     wgt_base_o,
  output logic [31:0]                     acc_base_o,
  output logic [31:0]                     out_base_o,
  input  logic                            acc_write_i,
  input  logic                            fault_i,
  input  logic [3:0]                      fault_code_i,
  input  logic [31:0]                     fault_insn_i,
  input  logic [31:0]                     fault_value_i,
  input  logic [31:0]                     finish_status_i,
  input  logic [NumCounters-1:0][31:0]    cnt_inc_i,
  input  logic [NumCounters-1:0]          cnt_bus_i,
  input  logic [NumDebug-1:0][31:0]       debug_i
);
  logic        launch_q, finished_q;
  logic [31:0] cycles_q, count_q, addr_q, acc_wr_q;
  logic [31:0] ptr_q [5];
  logic        fault_q;
  logic [3:0]  fault_code_q;
  logic [31:0] fault_insn_q, fault_value_q;
  logic [NumCounters-1:0][31:0] cnt_q;

  logic host_wr;
  assign host_wr  = req_i && we_i;
  assign launch_o = host_wr && addr_i == 8'(RegControl) && wdata_i[0] && !launch_q;
  assign running_o = launch_q && !finished_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      launch_q      <= 1'b0;
      finished_q    <= 1'b0;
      cycles_q      <= '0;
      count_q       <= '0;
      addr_q        <= '0;
      acc_wr_q      <= '0;
      for (int i = 0; i < 5; i++) ptr_q[i] <= '0;
      fault_q       <= 1'b0;
      fault_code_q  <= '0;
      fault_insn_q  <= '0;
      fault_value_q <= '0;
      cnt_q         <= '0;
    end else begin
      if (launch_o) begin
        launch_q   <= 1'b1;
        finished_q <= 1'b0;
        cycles_q   <= '0;
        acc_wr_q   <= '0;
        cnt_q      <= '0;
      end else if (running_o) begin
        cycles_q <= cycles_q + 32'd1;
        if (acc_write_i) acc_wr_q <= acc_wr_q + 32'd1;
        for (int i = 0; i < int'(NumCounters); i++) begin
          if (BusSteps[i] == '0) cnt_q[i] <= cnt_q[i] + cnt_inc_i[i];
          else if (cnt_bus_i[i]) cnt_q[i] <= cnt_q[i] + BusSteps[i];
        end
        if (finish_i) begin
          launch_q   <= 1'b0;
          finished_q <= 1'b1;
        end
      end
      if (host_wr) begin
        unique case (addr_i)
          8'(RegInsnCount): count_q <= wdata_i;
          8'(RegInsnAddr):  addr_q <= wdata_i;
          8'(RegUopBase):   ptr_q[0] <= wdata_i;
          8'(RegInpBase):   ptr_q[1] <= wdata_i;
          8'(RegWgtBase):   ptr_q[2] <= wdata_i;
          8'(RegAccBase):   ptr_q[3] <= wdata_i;
          8'(RegOutBase):   ptr_q[4] <= wdata_i;
          8'(RegCycles):    cycles_q <= wdata_i;
          default: ;
        endcase
      end
      if (fault_i && !fault_q) begin
        fault_q       <= 1'b1;
        fault_code_q  <= fault_code_i;
        fault_insn_q  <= fault_insn_i;
        fault_value_q <= fault_value_i;
      end
    end
  end

  always_comb begin
    rdata_o = '0;
    if (req_i && !we_i) begin
      if (addr_i >= 8'(RegCounterBase) && addr_i < 8'(RegCounterBase + 4 * NumCounters)) begin
        rdata_o = cnt_q[5'((addr_i - 8'(RegCounterBase)) >> 2)];
      end else if (addr_i >= 8'(RegDebugBase) && addr_i < 8'(RegDebugBase + 4 * NumDebug)) begin
        rdata_o = debug_i[4'((addr_i - 8'(RegDebugBase)) >> 2)];
      end else begin
        unique case (addr_i)
          8'(RegControl):      rdata_o = {30'd0, finished_q, launch_q};
          8'(RegCycles):       rdata_o = cycles_q;
          8'(RegInsnCount):    rdata_o = count_q;
          8'(RegInsnAddr):     rdata_o = addr_q;
          8'(RegUopBase):      rdata_o = ptr_q[0];
          8'(RegInpBase):      rdata_o = ptr_q[1];
          8'(RegWgtBase):      rdata_o = ptr_q[2];
          8'(RegAccBase):      rdata_o = ptr_q[3];
          8'(RegOutBase):      rdata_o = ptr_q[4];
          8'(RegAccWrCount):   rdata_o = acc_wr_q;
          8'(RegFaultStatus):  rdata_o = {24'd0, fault_code_q, 3'd0, fault_q};
          8'(RegFaultInsn):    rdata_o = fault_insn_q;
          8'(RegFaultValue):   rdata_o = fault_value_q;
          8'(RegFinishStatus): rdata_o = finish_status_i;
          default:             rdata_o = '0;
        endcase
      end
    end
  end

  assign cycles_o     = cycles_q;
  assign insn_count_o = count_q;
  assign insn_addr_o  = addr_q;
  assign uop_base_o   = ptr_q[0];
  assign inp_base_o   = ptr_q[1];
  assign wgt_base_o   = ptr_q[2];
  assign acc_base_o   = ptr_q[3];
  assign out_base_o   = ptr_q[4];
endmodule
