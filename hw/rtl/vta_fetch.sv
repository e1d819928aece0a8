// Instruction fetch: on launch, reads insn_count 128-bit instructions from insn_addr (any byte
// address) in read bursts, and routes each, tagged with its program index, to the load, compute
// or store queue (spec §3.8). A burst is requested only when the instruction buffer can take all
// of it, so fetch never holds up the shared read-data channel. Unknown instructions fault.
`include "vta_assert.svh"

module vta_fetch
  import vta_pkg::*;
#(
  localparam int unsigned QW = InsnBits + 32,
  localparam int unsigned LogBusBytes = $clog2(BusBytes),
  // Beats per instruction (2 on a 64-bit bus, 1 on a 128-bit one).
  localparam int unsigned InsnBeats = InsnBits / BusWidth,
  // Instructions one burst can complete: its beats' worth plus one begun in the burst before.
  localparam int unsigned BurstInsns = MaxBurstBeats / InsnBeats + 1,
  localparam int unsigned BufDepth = (BurstInsns > 16) ? 32 : 16,
  localparam int unsigned BufCountW = $clog2(BufDepth + 1)
) (
  input  logic                clk_i,
  input  logic                rst_ni,
  input  logic                enable_i,
  input  logic                launch_i,
  input  logic [31:0]         insn_addr_i,
  input  logic [31:0]         insn_count_i,
  output mem_rd_req_t         mem_req_o,
  input  mem_rd_rsp_t         mem_rsp_i,
  input  logic [BusWidth-1:0] mem_r_data_i,  // the R beat (valid when mem_rsp_i.r_valid)
  input  logic                mem_r_last_i,
  output logic                ld_valid_o,
  input  logic                ld_ready_i,
  output logic                co_valid_o,
  input  logic                co_ready_i,
  output logic                st_valid_o,
  input  logic                st_ready_i,
  output logic [QW-1:0]       insn_o,
  output logic                fault_o,
  output logic [31:0]         fault_idx_o,
  output logic [1:0]          state_o,     // 0 idle, 1 fetching, 2 all dispatched
  output logic [31:0]         dispatched_o,
  output logic                busy_o,
  output logic                stall_o
);
  logic [LogBusBytes-1:0] off_q;
  logic [31:0] beat_idx_q, fetched_q, dispatched_q, count_q;
  logic        active_q, burst_open_q;
  logic [BusWidth-1:0] prev1_q, prev2_q;

  // Read bursts over the beat-aligned span of the stream
  logic        cmd_valid, cmd_ready, credit_ok;
  logic [31:0] total_beats;
  logic [BufCountW-1:0] buf_count;
  logic [LogBusBytes-1:0] addr_off;
  assign addr_off    = insn_addr_i[LogBusBytes-1:0];
  assign total_beats = insn_count_i * InsnBeats + ((addr_off != '0) ? 32'd1 : 32'd0);
  assign credit_ok   = !burst_open_q && (32'(buf_count) + BurstInsns <= 32'(BufDepth));
  vta_dma_cmd u_cmd (
    .clk_i      (clk_i),
    .rst_ni     (rst_ni),
    .start_i    (launch_i && enable_i && insn_count_i != '0),
    .base_i     (AddrWidth'({insn_addr_i[31:LogBusBytes], LogBusBytes'(0)})),
    .rows_i     (16'd1),
    .row_bytes_i(total_beats << LogBusBytes),
    .stride_i   (32'd0),
    .ar_valid_o (cmd_valid),
    .ar_ready_i (cmd_ready),
    .ar_addr_o  (mem_req_o.ar_addr),
    .ar_len_o   (mem_req_o.ar_len),
    .busy_o     ()
  );
  assign mem_req_o.ar_valid = cmd_valid && credit_ok;
  assign cmd_ready          = mem_rsp_i.ar_ready && credit_ok;

  // Reassembly: instruction n is 16 bytes from byte off + 16n of the aligned span. Aligned, it
  // ends with every InsnBeats-th beat and is the last InsnBeats beats; unaligned, it ends in the
  // beat after that and starts at byte off of the beat InsnBeats before the current one.
  logic [3*BusWidth-1:0] window;
  logic                  emit, ends_insn;
  logic [InsnBits-1:0]   assembled;
  logic [31:0]           shift;
  assign window    = {mem_r_data_i, prev1_q, prev2_q};
  assign ends_insn = (off_q == '0) ? ((beat_idx_q + 32'd1) % InsnBeats == 0) :
                                     (beat_idx_q % InsnBeats == 0 && beat_idx_q != 32'd0);
  assign emit      = mem_rsp_i.r_valid && ends_insn;
  // Cut out only when an instruction ends (the buffer takes it then; the model skips the
  // wide shift in other cycles).
  always_comb begin
    shift     = '0;
    assembled = '0;
    if (emit) begin
      shift     = (off_q == '0) ? (3 - InsnBeats) * BusWidth :
                                  (2 - InsnBeats) * BusWidth + 32'(off_q) * 8;
      assembled = InsnBits'(window >> shift);
    end
  end
  assign mem_req_o.r_ready = 1'b1;

  logic          buf_valid, buf_pop;
  logic [QW-1:0] buf_head;
  vta_fifo #(
    .Width     (QW),
    .Depth     (BufDepth),
    .MustAccept(1'b1)  // a burst is requested only when the buffer can take all of it
  ) u_buf (
    .clk_i      (clk_i),
    .rst_ni     (rst_ni),
    .in_valid_i (emit),
    .in_ready_o (),
    .in_data_i  ({fetched_q, assembled}),
    .out_valid_o(buf_valid),
    .out_ready_i(buf_pop),
    .out_data_o (buf_head),
    .count_o    (buf_count)
  );

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      off_q        <= '0;
      beat_idx_q   <= '0;
      fetched_q    <= '0;
      dispatched_q <= '0;
      count_q      <= '0;
      active_q     <= 1'b0;
      burst_open_q <= 1'b0;
      prev1_q      <= '0;
      prev2_q      <= '0;
    end else begin
      if (launch_i && enable_i) begin
        off_q        <= addr_off;
        beat_idx_q   <= '0;
        fetched_q    <= '0;
        dispatched_q <= '0;
        count_q      <= insn_count_i;
        active_q     <= 1'b1;
      end else begin
        if (mem_req_o.ar_valid && mem_rsp_i.ar_ready) burst_open_q <= 1'b1;
        if (mem_rsp_i.r_valid) begin
          prev2_q    <= prev1_q;
          prev1_q    <= mem_r_data_i;
          beat_idx_q <= beat_idx_q + 32'd1;
          if (mem_r_last_i) burst_open_q <= 1'b0;
        end
        if (emit) fetched_q <= fetched_q + 32'd1;
        if (buf_pop) dispatched_q <= dispatched_q + 32'd1;
        if (active_q && dispatched_q == count_q) active_q <= 1'b0;
      end
    end
  end

  // Routing
  // Only the routing fields are decoded here.
  /* verilator lint_off UNUSEDSIGNAL */
  logic [InsnBits-1:0] insn;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [2:0]          opcode, mem_type, alu_op;
  logic                to_ld, to_co, to_st, unknown;
  assign insn     = buf_head[InsnBits-1:0];
  assign opcode   = 3'(insn[MemOpcodeLsb +: MemOpcodeWidth]);
  assign mem_type = 3'(insn[MemMemoryTypeLsb +: MemMemoryTypeWidth]);
  assign alu_op   = 3'(insn[AluAluOpcodeLsb +: AluAluOpcodeWidth]);
  always_comb begin
    to_ld   = 1'b0;
    to_co   = 1'b0;
    to_st   = 1'b0;
    unknown = 1'b0;
    unique case (opcode)
      3'(OpLoad): begin
        if (LoadStageLoadMemTypes[mem_type]) to_ld = 1'b1;
        else if (ComputeStageLoadMemTypes[mem_type]) to_co = 1'b1;
        else unknown = 1'b1;
      end
      3'(OpAlu): begin
        if (alu_op <= 3'(AluMul)) to_co = 1'b1;
        else unknown = 1'b1;
      end
      default: begin
        to_co   = ComputeStageOpcodes[opcode];
        to_st   = StoreStageOpcodes[opcode];
        unknown = !(to_co || to_st);
      end
    endcase
  end

  assign insn_o       = buf_head;
  assign ld_valid_o   = enable_i && buf_valid && to_ld;
  assign co_valid_o   = enable_i && buf_valid && to_co;
  assign st_valid_o   = enable_i && buf_valid && to_st;
  assign buf_pop      = (ld_valid_o && ld_ready_i) || (co_valid_o && co_ready_i) ||
                        (st_valid_o && st_ready_i);
  assign fault_o      = enable_i && buf_valid && unknown;
  assign fault_idx_o  = buf_head[QW-1:InsnBits];
  assign state_o      = active_q ? 2'd1 : (count_q != '0 ? 2'd2 : 2'd0);
  assign dispatched_o = dispatched_q;
  assign busy_o       = active_q;
  assign stall_o      = buf_valid && !buf_pop;

  // An instruction goes to one queue, and a refused one is offered again unchanged the next
  // cycle (unless a fault has stopped the core).
  `VTA_ASSERT_ONEHOT0(OneQueue, {ld_valid_o, co_valid_o, st_valid_o})
  logic [QW+2:0] offer;
  assign offer = {insn_o, ld_valid_o, co_valid_o, st_valid_o};
  `VTA_ASSERT_STABLE_UNLESS(HeldUntilTaken, stall_o, offer, !enable_i)
endmodule
