{
  "targets": [
    {
      "target_name": "vta_tsim",
      "sources": ["bridge.cc", "verilated.cpp", "verilated_vcd_c.cpp", "verilated_threads.cpp"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!(echo $VTA_OBJ_DIR)",
        "<!(echo $VERILATOR_ROOT)/include",
        "<!(echo $VERILATOR_ROOT)/include/vltstd"
      ],
      "defines": ["NAPI_CPP_EXCEPTIONS", "NAPI_VERSION=8", "VM_TRACE=1"],
      "defines!": ["__STDC_FORMAT_MACROS"],
      "cflags_cc": ["-std=c++17", "-O2", "-fexceptions", "-Wno-unused-parameter", "-Wno-cpp"],
      "ldflags": ["-pthread"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "libraries": [
        "<!(echo $VTA_OBJ_DIR)/Vvta_top__ALL.a"
      ]
    }
  ]
}
