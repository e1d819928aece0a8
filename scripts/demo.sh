#!/usr/bin/env bash
# `make demo`: the main job on the built-in simulator. The example CNN (ONNX, QDQ int8) is
# imported, fused and tensorized, run on fsim with the race checker on, and checked bit for bit
# against the reference executor and against onnxruntime.
set -euo pipefail
cd "$(dirname "$0")/.."
VTA="node bin/vta.mjs"
echo "== vta run models/cnn.onnx --input models/cnn.input.npy --check --races   (driver: fsim)"
echo
$VTA run models/cnn.onnx --input models/cnn.input.npy --check --races
echo
echo "== The same program's first kernel, as VTA instructions (vta compile + vta disasm)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
$VTA compile models/cnn.onnx -o "$tmp/cnn.vtapkg" | tail -1
$VTA disasm "$tmp/cnn.vtapkg" | sed -n '2,18p'
echo "   ..."
echo
echo "== The conformance kit on fsim"
$VTA conformance --driver fsim | tail -1
