// Assertion macros of the VTA RTL (in the manner of lowRISC's prim_assert.sv). Every assertion
// has a label naming the invariant that must hold, and a failure reports it with its place, e.g.
// "NoPopWhenEmpty in vta_top.u_load.u_queue". They are compiled in with `verilator --assert` (the
// tsim build) and left out of synthesis. Clock clk_i and active-low reset rst_ni are assumed;
// assertions are disabled while reset is held.
`ifndef VTA_ASSERT_SVH
`define VTA_ASSERT_SVH

`ifdef VERILATOR
`define VTA_ASSERT_FAIL(__name) vta_assert_pkg::vta_assert_failed(`"__name`", $sformatf("%m"));
`else
`define VTA_ASSERT_FAIL(__name) $error("assertion %s failed in %m", `"__name`");
`endif

`ifndef SYNTHESIS
// __prop holds at every rising clock edge out of reset.
// Under Verilator the check is an immediate assertion in a clocked block named after the label
// (so %m still ends in it): at the rising edge it reads the values before the edge, as the
// concurrent form's sampled values are in this cycle-based 2-state model, without the copy of
// every sampled signal that Verilator makes at each evaluation for the concurrent form (the model
// took ~1.1x the CPU with it, hw/README.md "Speed"). Other simulators get the concurrent form.
`ifdef VERILATOR
`define VTA_ASSERT(__name, __prop) \
  always_ff @(posedge clk_i) begin : __name \
    if (rst_ni) assert (__prop) else `VTA_ASSERT_FAIL(__name) \
  end
`else
`define VTA_ASSERT(__name, __prop) \
  __name: assert property (@(posedge clk_i) disable iff (!rst_ni) (__prop)) \
    else `VTA_ASSERT_FAIL(__name)
`endif
// __cond never holds at a rising clock edge out of reset.
`define VTA_ASSERT_NEVER(__name, __cond) `VTA_ASSERT(__name, !(__cond))
// Every bit of __sig is 0 or 1 out of reset (a check for 4-state simulators: Verilator is
// 2-state, so there it cannot fail).
`define VTA_ASSERT_KNOWN(__name, __sig) `VTA_ASSERT(__name, !$isunknown(__sig))
// At most one bit of __sig is set.
`define VTA_ASSERT_ONEHOT0(__name, __sig) `VTA_ASSERT(__name, $onehot0(__sig))
// A registered value is held: while __hold was true on the previous edge, __sig kept its value
// (unless __unless holds now: `VTA_ASSERT_STABLE_UNLESS).
// Under Verilator the previous edge's values are explicit registers on the assertion's clock
// (named after the label), written only at that clock's edges: $past would make the model copy
// every sampled signal at each evaluation, gated units' included (hw/README.md, "Input logic
// and sampled copies"). The check and its failure are the same: <label>_hold_q is
// $past(rst_ni) && $past(__hold), as it is reset to 0 and takes __hold at each edge out of reset.
`ifdef VERILATOR
`define VTA_ASSERT_STABLE_UNLESS(__name, __hold, __sig, __unless) \
  logic __name``_hold_q; \
  logic [$bits(__sig)-1:0] __name``_sig_q; \
  always_ff @(posedge clk_i or negedge rst_ni) begin \
    if (!rst_ni) __name``_hold_q <= 1'b0; \
    else __name``_hold_q <= (__hold); \
  end \
  always_ff @(posedge clk_i) __name``_sig_q <= (__sig); \
  `VTA_ASSERT(__name, !__name``_hold_q || (__unless) || (__sig) == __name``_sig_q)
`else
`define VTA_ASSERT_STABLE_UNLESS(__name, __hold, __sig, __unless) \
  `VTA_ASSERT(__name, !($past(rst_ni) && $past(__hold)) || (__unless) || (__sig) == $past(__sig))
`endif
`define VTA_ASSERT_STABLE(__name, __hold, __sig) `VTA_ASSERT_STABLE_UNLESS(__name, __hold, __sig, 1'b0)
`else
`define VTA_ASSERT(__name, __prop)
`define VTA_ASSERT_NEVER(__name, __cond)
`define VTA_ASSERT_KNOWN(__name, __sig)
`define VTA_ASSERT_ONEHOT0(__name, __sig)
`define VTA_ASSERT_STABLE(__name, __hold, __sig)
`define VTA_ASSERT_STABLE_UNLESS(__name, __hold, __sig, __unless)
`endif

`endif
