// Where a failed RTL assertion goes (hw/rtl/vta_assert.svh). Under Verilator the failure is
// handed to the Node-API bridge (hw/bridge/bridge.cc), which stops the run and reports the
// assertion by name; other simulators use $error.
package vta_assert_pkg;
`ifdef VERILATOR
  // name: the assertion's label; scope: its hierarchical path (%m), label included.
  import "DPI-C" function void vta_assert_failed(input string name, input string scope);
`endif
endpackage
