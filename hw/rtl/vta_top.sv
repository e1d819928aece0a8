// VTA top level: host registers (vta_vcr), fetch, the load / compute / store stages, the four
// token semaphores and the memory engine with one AXI4-style master (read: AR/R with the client
// in the id; write: AW/W/B). The status outputs let a harness stop at finish, fault or deadlock.
`include "vta_assert.svh"

module vta_top
  import vta_pkg::*;
(
  input  logic                 clk_i,
  input  logic                 rst_ni,
  // Host register port
  input  logic                 host_req_i,
  input  logic                 host_we_i,
  input  logic [7:0]           host_addr_i,
  input  logic [31:0]          host_wdata_i,
  output logic [31:0]          host_rdata_o,
  // AXI read
  output logic                 ar_valid_o,
  input  logic                 ar_ready_i,
  output logic [AddrWidth-1:0] ar_addr_o,
  output logic [7:0]           ar_len_o,
  output logic [1:0]           ar_id_o,
  input  logic                 r_valid_i,
  output logic                 r_ready_o,
  input  logic [BusWidth-1:0]  r_data_i,
  input  logic [1:0]           r_id_i,
  input  logic                 r_last_i,
  // AXI write
  output logic                 aw_valid_o,
  input  logic                 aw_ready_i,
  output logic [AddrWidth-1:0] aw_addr_o,
  output logic [7:0]           aw_len_o,
  output logic                 w_valid_o,
  input  logic                 w_ready_i,
  output logic [BusWidth-1:0]  w_data_o,
  output logic [BusBytes-1:0]  w_strb_o,
  output logic                 w_last_o,
  input  logic                 b_valid_i,
  output logic                 b_ready_o,
  // Run status
  output logic                 finished_o,
  output logic                 deadlock_o,
  output logic                 fault_o,
  // Instruction events for the timeline, one bit / index per stage (0 fetch, 1 load, 2 compute,
  // 3 store), valid while running: an instruction started or ended this cycle (fetch: was
  // dispatched to its stage's queue, an end only), stamped with the cycle since launch.
  output logic [3:0]           ev_start_o,
  output logic [3:0]           ev_end_o,
  output logic [3:0][31:0]     ev_insn_o,
  output logic [31:0]          ev_cycle_o,
  // The enables of every clock gate (see "Clock gating"), for a harness that models the gates
  // when it skips evaluating a falling edge (hw/bridge/bridge.cc)
  output logic [6:0]           clk_en_o
);
  localparam int unsigned QW = InsnBits + 32;

  logic        launch, running, finish, enable;
  logic [31:0] cycles;
  logic [31:0] insn_count, insn_addr, uop_base, inp_base, wgt_base, acc_base, out_base;

  // Faults (first one wins in the VCR; in one cycle, load before compute before store)
  stage_status_t ld_status, co_status, st_status;
  logic          f_fetch, any_fault, fault_q;
  logic [3:0]    f_code;
  logic [31:0]   f_insn, f_value, fetch_fault_idx;
  assign any_fault = f_fetch || ld_status.fault || co_status.fault || st_status.fault;
  always_comb begin
    f_code  = 4'd1;
    f_insn  = fetch_fault_idx;
    f_value = 32'd0;
    if (ld_status.fault) begin
      {f_code, f_insn, f_value} = {ld_status.fault_code, ld_status.insn_idx, ld_status.fault_value};
    end else if (co_status.fault) begin
      {f_code, f_insn, f_value} = {co_status.fault_code, co_status.insn_idx, co_status.fault_value};
    end else if (st_status.fault) begin
      {f_code, f_insn, f_value} = {st_status.fault_code, st_status.insn_idx, st_status.fault_value};
    end
  end
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) fault_q <= 1'b0;
    else if (any_fault) fault_q <= 1'b1;
  end
  assign enable  = !fault_q;
  assign fault_o = fault_q;

  // Tokens
  logic l2g_post, l2g_wait, l2g_avail, g2l_post, g2l_wait, g2l_avail;
  logic g2s_post, g2s_wait, g2s_avail, s2g_post, s2g_wait, s2g_avail;
  logic [TokenWidth-1:0] l2g_count, g2l_count, g2s_count, s2g_count;
  vta_semaphore #(.Width(TokenWidth)) u_l2g (
    .clk_i(clk_i), .rst_ni(rst_ni), .post_i(l2g_post), .wait_i(l2g_wait),
    .avail_o(l2g_avail), .count_o(l2g_count)
  );
  vta_semaphore #(.Width(TokenWidth)) u_g2l (
    .clk_i(clk_i), .rst_ni(rst_ni), .post_i(g2l_post), .wait_i(g2l_wait),
    .avail_o(g2l_avail), .count_o(g2l_count)
  );
  vta_semaphore #(.Width(TokenWidth)) u_g2s (
    .clk_i(clk_i), .rst_ni(rst_ni), .post_i(g2s_post), .wait_i(g2s_wait),
    .avail_o(g2s_avail), .count_o(g2s_count)
  );
  vta_semaphore #(.Width(TokenWidth)) u_s2g (
    .clk_i(clk_i), .rst_ni(rst_ni), .post_i(s2g_post), .wait_i(s2g_wait),
    .avail_o(s2g_avail), .count_o(s2g_count)
  );

  // Clock gating: fetch and the load and store stages run on their own gated clocks
  // (vta_clock_gate), enabled exactly in the cycles where their state can change: the unit is
  // busy, or an input it waits on arrives (an instruction for its queue, a memory beat or write
  // response, launch). A stage waiting for a token is gated: the token's arrival lets its head
  // instruction start, which its busy output shows in that same cycle. The compute stage gates
  // its engines itself; its queue and sequencing (busy nearly always), the scratchpads, the read
  // arbiter, the semaphores, the host registers with their counters and the run-status flops
  // below stay on clk_i. hw/README.md ("Clock gating") has the figures and the mapping to an ICG
  // cell or an FPGA BUFGCE.
  logic fetch_clk, load_clk, store_clk;
  logic fetch_en, load_en, store_en;

  // Memory read clients: 0 fetch, 1 load, 2 compute
  localparam int unsigned ClientFetch = 0, ClientLoad = 1, ClientCompute = 2;
  mem_rd_req_t c_req [3];
  mem_rd_rsp_t c_rsp [3];
  vta_mem_arb #(
    .NumClients(3)
  ) u_mem_arb (
    .clk_i     (clk_i),
    .rst_ni    (rst_ni),
    .c_req_i   (c_req),
    .c_rsp_o   (c_rsp),
    .ar_valid_o(ar_valid_o),
    .ar_ready_i(ar_ready_i),
    .ar_addr_o (ar_addr_o),
    .ar_len_o  (ar_len_o),
    .ar_id_o   (ar_id_o),
    .r_valid_i (r_valid_i),
    .r_ready_o (r_ready_o),
    .r_id_i    (r_id_i),
    .r_last_i  (r_last_i)
  );

  // Fetch
  logic          ld_valid, ld_ready, co_valid, co_ready, st_valid, st_ready;
  logic [QW-1:0] fetched;
  logic [1:0]    fetch_state;
  logic [31:0]   dispatched;
  logic          fetch_busy, fetch_stall;
  vta_fetch u_fetch (
    .clk_i       (fetch_clk),
    .rst_ni      (rst_ni),
    .enable_i    (enable),
    .launch_i    (launch),
    .insn_addr_i (insn_addr),
    .insn_count_i(insn_count),
    .mem_req_o   (c_req[ClientFetch]),
    .mem_rsp_i   (c_rsp[ClientFetch]),
    .mem_r_data_i(r_data_i),
    .mem_r_last_i(r_last_i),
    .ld_valid_o  (ld_valid),
    .ld_ready_i  (ld_ready),
    .co_valid_o  (co_valid),
    .co_ready_i  (co_ready),
    .st_valid_o  (st_valid),
    .st_ready_i  (st_ready),
    .insn_o      (fetched),
    .fault_o     (f_fetch),
    .fault_idx_o (fetch_fault_idx),
    .state_o     (fetch_state),
    .dispatched_o(dispatched),
    .busy_o      (fetch_busy),
    .stall_o     (fetch_stall)
  );

  // Load stage
  logic                   inp_re, wgt_re;
  logic [LogInpDepth-1:0] inp_raddr;
  logic [LogWgtDepth-1:0] wgt_raddr;
  logic [InpTileBits-1:0] inp_rdata;
  logic [WgtTileBits-1:0] wgt_rdata;
  logic                   inp_tile, wgt_tile;
  vta_load u_load (
    .clk_i        (load_clk),
    .sram_clk_i   (clk_i),
    .rst_ni       (rst_ni),
    .enable_i     (enable),
    .inp_base_i   (inp_base),
    .wgt_base_i   (wgt_base),
    .insn_valid_i (ld_valid),
    .insn_ready_o (ld_ready),
    .insn_i       (fetched),
    .g2l_avail_i  (g2l_avail),
    .g2l_wait_o   (g2l_wait),
    .l2g_post_o   (l2g_post),
    .mem_req_o    (c_req[ClientLoad]),
    .mem_rsp_i    (c_rsp[ClientLoad]),
    .mem_r_data_i (r_data_i),
    .inp_re_i     (inp_re),
    .inp_raddr_i  (inp_raddr),
    .inp_rdata_o  (inp_rdata),
    .wgt_re_i     (wgt_re),
    .wgt_raddr_i  (wgt_raddr),
    .wgt_rdata_o  (wgt_rdata),
    .status_o     (ld_status),
    .inp_tile_o   (inp_tile),
    .wgt_tile_o   (wgt_tile)
  );

  // Compute stage
  logic                   out_we;
  logic [LogAccDepth-1:0] out_waddr;
  logic [OutTileBits-1:0] out_wdata;
  logic uop_tile, acc_tile, acc8_tile;
  logic gemm_iter, gemm_reset_iter, alu_iter, acc_write, gemm_busy, alu_busy;
  logic [3:0] compute_engine_en;
  vta_compute u_compute (
    .clk_i            (clk_i),
    .rst_ni           (rst_ni),
    .enable_i         (enable),
    .uop_base_i       (uop_base),
    .acc_base_i       (acc_base),
    .insn_valid_i     (co_valid),
    .insn_ready_o     (co_ready),
    .insn_i           (fetched),
    .l2g_avail_i      (l2g_avail),
    .l2g_wait_o       (l2g_wait),
    .s2g_avail_i      (s2g_avail),
    .s2g_wait_o       (s2g_wait),
    .g2l_post_o       (g2l_post),
    .g2s_post_o       (g2s_post),
    .mem_req_o        (c_req[ClientCompute]),
    .mem_rsp_i        (c_rsp[ClientCompute]),
    .mem_r_data_i     (r_data_i),
    .inp_re_o         (inp_re),
    .inp_raddr_o      (inp_raddr),
    .inp_rdata_i      (inp_rdata),
    .wgt_re_o         (wgt_re),
    .wgt_raddr_o      (wgt_raddr),
    .wgt_rdata_i      (wgt_rdata),
    .out_we_o         (out_we),
    .out_waddr_o      (out_waddr),
    .out_wdata_o      (out_wdata),
    .status_o         (co_status),
    .finish_o         (finish),
    .uop_tile_o       (uop_tile),
    .acc_tile_o       (acc_tile),
    .acc8_tile_o      (acc8_tile),
    .gemm_iter_o      (gemm_iter),
    .gemm_reset_iter_o(gemm_reset_iter),
    .alu_iter_o       (alu_iter),
    .acc_write_o      (acc_write),
    .gemm_busy_o      (gemm_busy),
    .alu_busy_o       (alu_busy),
    .clk_en_o         (compute_engine_en)
  );

  // Store stage
  logic out_tile;
  vta_store u_store (
    .clk_i        (store_clk),
    .sram_clk_i   (clk_i),
    .rst_ni       (rst_ni),
    .enable_i     (enable),
    .out_base_i   (out_base),
    .insn_valid_i (st_valid),
    .insn_ready_o (st_ready),
    .insn_i       (fetched),
    .g2s_avail_i  (g2s_avail),
    .g2s_wait_o   (g2s_wait),
    .s2g_post_o   (s2g_post),
    .out_we_i     (out_we),
    .out_waddr_i  (out_waddr),
    .out_wdata_i  (out_wdata),
    .aw_valid_o   (aw_valid_o),
    .aw_ready_i   (aw_ready_i),
    .aw_addr_o    (aw_addr_o),
    .aw_len_o     (aw_len_o),
    .w_valid_o    (w_valid_o),
    .w_ready_i    (w_ready_i),
    .w_data_o     (w_data_o),
    .w_strb_o     (w_strb_o),
    .w_last_o     (w_last_o),
    .b_valid_i    (b_valid_i),
    .b_ready_o    (b_ready_o),
    .status_o     (st_status),
    .out_tile_o   (out_tile)
  );

  // The enables; reset keeps every clock running, so that reset acts as without gating.
  // Fetch: launch, running and not stalled (a head instruction no queue takes waits for a ready,
  // which does not change fetch's state), or memory traffic for it. The load and store stages:
  // an instruction offered to the queue, a busy stage (an instruction starting or running; its
  // engine is idle again from the edge that retires it), or a memory beat or write response.
  assign fetch_en = !rst_ni || launch || (fetch_busy && !fetch_stall) ||
                    c_req[ClientFetch].ar_valid || c_rsp[ClientFetch].r_valid;
  assign load_en  = !rst_ni || ld_valid || ld_status.busy || c_rsp[ClientLoad].r_valid;
  assign store_en = !rst_ni || st_valid || st_status.busy || b_valid_i;
  vta_clock_gate u_fetch_cg (.clk_i(clk_i), .en_i(fetch_en), .clk_o(fetch_clk));
  vta_clock_gate u_load_cg  (.clk_i(clk_i), .en_i(load_en),  .clk_o(load_clk));
  vta_clock_gate u_store_cg (.clk_i(clk_i), .en_i(store_en), .clk_o(store_clk));
  assign clk_en_o = {compute_engine_en, store_en, load_en, fetch_en};

  // Run end: FINISH has retired and nothing can move any more (leftovers are reported by the
  // driver from the debug registers). Without FINISH, the same stillness is a deadlock.
  logic       quiet, finish_seen_q;
  logic [2:0] quiet_cycles_q;
  assign quiet = running && ld_status.blocked && co_status.blocked && st_status.blocked &&
                 (!fetch_busy || fetch_stall) && !any_fault;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      finish_seen_q  <= 1'b0;
      quiet_cycles_q <= '0;
    end else begin
      if (launch) finish_seen_q <= 1'b0;
      else if (finish) finish_seen_q <= 1'b1;
      if (!quiet || launch) quiet_cycles_q <= '0;
      else if (quiet_cycles_q != 3'd7) quiet_cycles_q <= quiet_cycles_q + 3'd1;
    end
  end
  logic run_end;
  assign run_end    = quiet_cycles_q == 3'd4;
  assign deadlock_o = running && !finish_seen_q && quiet_cycles_q == 3'd7;
  assign finished_o = !running && !launch && finish_seen_q;

  // Stall causes: a read client that wants a beat which has not come waits for memory; fetch
  // waits for memory while it has nothing to offer a stage.
  logic [2:0] read_wait;
  logic       dispatch_offered, dispatched_now;
  for (genvar i = 0; i < 3; i++) begin : g_read_wait
    assign read_wait[i] = c_req[i].r_ready && !c_rsp[i].r_valid;
  end
  assign dispatch_offered = ld_valid || co_valid || st_valid;
  assign dispatched_now   = (ld_valid && ld_ready) || (co_valid && co_ready) || (st_valid && st_ready);

  // Timeline events: a stage starts an instruction when it is busy in a cycle after one where it
  // was idle or retired one (vta_stage_ctrl fires then).
  logic [2:0] busy_prev_q, retire_prev_q, stage_busy, stage_retire;
  assign stage_busy   = {st_status.busy, co_status.busy, ld_status.busy};
  assign stage_retire = {st_status.retire, co_status.retire, ld_status.retire};
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      busy_prev_q   <= '0;
      retire_prev_q <= '0;
    end else begin
      busy_prev_q   <= stage_busy;
      retire_prev_q <= stage_retire;
    end
  end
  assign ev_start_o = running ? {stage_busy & (~busy_prev_q | retire_prev_q), 1'b0} : '0;
  assign ev_end_o   = running ? {stage_retire, dispatched_now} : '0;
  assign ev_insn_o  = {st_status.insn_idx, co_status.insn_idx, ld_status.insn_idx,
                       fetched[QW-1:InsnBits]};
  assign ev_cycle_o = cycles;

  // Host registers, counters, debug view. Some counters count events that depend on this
  // cycle's bus inputs (memory beats and waits, the store's tiles, which leave on a write
  // handshake): those are one bit each in cnt_bus, and the VCR steps them by BusSteps. Every
  // other counter's step depends on the core's state only (cnt_inc). Kept apart, the wide step
  // vector is worked out once per clock edge, not at every evaluation of the bus inputs.
  function automatic logic [NumCounters-1:0][31:0] bus_steps();
    logic [NumCounters-1:0][31:0] s;
    s = '0;
    s[CntOutStoreNbytes]       = 32'(OutTileBits / 8);
    s[CntMemReadBeats]         = 32'd1;
    s[CntMemWriteBeats]        = 32'd1;
    s[CntLoadMemWaitCycles]    = 32'd1;
    s[CntComputeMemWaitCycles] = 32'd1;
    s[CntStoreMemWaitCycles]   = 32'd1;
    return s;
  endfunction
  localparam logic [NumCounters-1:0][31:0] BusSteps = bus_steps();
  logic [NumCounters-1:0][31:0] cnt_inc;
  logic [NumCounters-1:0]       cnt_bus;
  always_comb begin
    cnt_inc = '0;
    cnt_inc[CntLoadInsns]          = 32'(ld_status.retire);
    cnt_inc[CntComputeInsns]       = 32'(co_status.retire);
    cnt_inc[CntStoreInsns]         = 32'(st_status.retire);
    cnt_inc[CntUopLoadNbytes]      = uop_tile ? 32'd4 : 32'd0;
    cnt_inc[CntInpLoadNbytes]      = inp_tile ? 32'(InpTileBits / 8) : 32'd0;
    cnt_inc[CntWgtLoadNbytes]      = wgt_tile ? 32'(WgtTileBits / 8) : 32'd0;
    cnt_inc[CntAccLoadNbytes]      = acc_tile ? 32'(AccTileBits / 8) : 32'd0;
    cnt_inc[CntAcc8LoadNbytes]     = acc8_tile ? 32'(Acc8TileBits / 8) : 32'd0;
    cnt_inc[CntGemmCounter]        = 32'(gemm_iter);
    cnt_inc[CntGemmResetCounter]   = 32'(gemm_reset_iter);
    cnt_inc[CntAluCounter]         = 32'(alu_iter);
    cnt_inc[CntFetchBusyCycles]    = 32'(fetch_busy && !fetch_stall);
    cnt_inc[CntFetchStallCycles]   = 32'(fetch_stall);
    cnt_inc[CntLoadBusyCycles]     = 32'(ld_status.busy);
    cnt_inc[CntLoadStallCycles]    = 32'(ld_status.stall);
    cnt_inc[CntComputeBusyCycles]  = 32'(co_status.busy);
    cnt_inc[CntComputeStallCycles] = 32'(co_status.stall);
    cnt_inc[CntStoreBusyCycles]    = 32'(st_status.busy);
    cnt_inc[CntStoreStallCycles]   = 32'(st_status.stall);
    cnt_inc[CntGemmBusyCycles]     = 32'(gemm_busy);
    cnt_inc[CntAluBusyCycles]      = 32'(alu_busy);
    cnt_inc[CntFetchMemWaitCycles]    = 32'(fetch_busy && !dispatch_offered);
    cnt_inc[CntLoadInsnWaitCycles]    = 32'(fetch_busy && enable && !ld_status.busy && !ld_status.stall);
    cnt_inc[CntComputeInsnWaitCycles] = 32'(fetch_busy && enable && !co_status.busy && !co_status.stall);
    cnt_inc[CntStoreInsnWaitCycles]   = 32'(fetch_busy && enable && !st_status.busy && !st_status.stall);
  end
  always_comb begin
    cnt_bus = '0;
    cnt_bus[CntOutStoreNbytes]       = out_tile;
    cnt_bus[CntMemReadBeats]         = r_valid_i && r_ready_o;
    cnt_bus[CntMemWriteBeats]        = w_valid_o && w_ready_i;
    cnt_bus[CntLoadMemWaitCycles]    = read_wait[ClientLoad];
    cnt_bus[CntComputeMemWaitCycles] = read_wait[ClientCompute];
    cnt_bus[CntStoreMemWaitCycles]   = (w_valid_o && !w_ready_i) || (aw_valid_o && !aw_ready_i);
  end

  logic [NumDebug-1:0][31:0] debug;
  always_comb begin
    debug = '0;
    debug[DbgFetchState]   = 32'(fetch_state);
    debug[DbgFetchCount]   = dispatched;
    debug[DbgLoadState]    = 32'(ld_status.state);
    debug[DbgLoadInsn]     = ld_status.insn_idx;
    debug[DbgComputeState] = 32'(co_status.state);
    debug[DbgComputeInsn]  = co_status.insn_idx;
    debug[DbgStoreState]   = 32'(st_status.state);
    debug[DbgStoreInsn]    = st_status.insn_idx;
    debug[DbgTokensL2g]    = 32'(l2g_count);
    debug[DbgTokensG2l]    = 32'(g2l_count);
    debug[DbgTokensG2s]    = 32'(g2s_count);
    debug[DbgTokensS2g]    = 32'(s2g_count);
    debug[DbgQueueLoad]    = 32'(ld_status.queue_count);
    debug[DbgQueueCompute] = 32'(co_status.queue_count);
    debug[DbgQueueStore]   = 32'(st_status.queue_count);
  end

  vta_vcr #(
    .BusSteps(BusSteps)
  ) u_vcr (
    .clk_i          (clk_i),
    .rst_ni         (rst_ni),
    .req_i          (host_req_i),
    .we_i           (host_we_i),
    .addr_i         (host_addr_i),
    .wdata_i        (host_wdata_i),
    .rdata_o        (host_rdata_o),
    .launch_o       (launch),
    .running_o      (running),
    .cycles_o       (cycles),
    .finish_i       (finish_seen_q && run_end),
    .insn_count_o   (insn_count),
    .insn_addr_o    (insn_addr),
    .uop_base_o     (uop_base),
    .inp_base_o     (inp_base),
    .wgt_base_o     (wgt_base),
    .acc_base_o     (acc_base),
    .out_base_o     (out_base),
    .acc_write_i    (acc_write),
    .fault_i        (any_fault),
    .fault_code_i   (f_code),
    .fault_insn_i   (f_insn),
    .fault_value_i  (f_value),
    .finish_status_i({29'd0, fault_q, deadlock_o, finished_o}),
    .cnt_inc_i      (cnt_inc),
    .cnt_bus_i      (cnt_bus),
    .debug_i        (debug)
  );

  // The harness sees known handshakes and status out of reset (4-state simulators), and a run
  // ends one way only.
  `VTA_ASSERT_KNOWN(KnownReadValid, {ar_valid_o, r_ready_o})
  `VTA_ASSERT_KNOWN(KnownWriteValid, {aw_valid_o, w_valid_o, b_ready_o})
  `VTA_ASSERT_KNOWN(KnownStatus, {finished_o, deadlock_o, fault_o})
  `VTA_ASSERT(KnownReadRequest, !ar_valid_o || !$isunknown({ar_addr_o, ar_len_o, ar_id_o}))
  `VTA_ASSERT(KnownWriteData, !w_valid_o || !$isunknown({w_data_o, w_strb_o, w_last_o}))
  `VTA_ASSERT_ONEHOT0(OneRunEnd, {finished_o, deadlock_o})
endmodule
