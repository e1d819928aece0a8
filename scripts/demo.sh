#!/usr/bin/env bash
# `make demo`: the main job on the built-in simulator. The example CNN (ONNX, QDQ int8) is
# imported, fused and tensorized, run on fsim with the race checker on, and checked bit for bit
# against the reference executor and against onnxruntime; then a float CNN is quantized with real
# MNIST calibration digits and run on VTA on held-out digits, its accuracy beside the float model's;
# then a torch-quantized model runs on its own float interface with four samples.
set -euo pipefail
cd "$(dirname "$0")/.."
VTA="node bin/vta.mjs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "== vta run models/cnn.onnx --input models/cnn.input.npy --check --races   (driver: fsim)"
echo
$VTA run models/cnn.onnx --input models/cnn.input.npy --check --races
echo
echo "== A float model of your own, start to finish: models/float/mnist-cnn.onnx (Conv+BatchNorm, trained"
echo "   on real MNIST digits) quantized with 200 calibration digits, then run on VTA on 500 held-out digits"
npx tsx scripts/mnist-data.ts "$tmp/mnist" --calibration 200 --eval 500 > /dev/null
echo "== vta quantize models/float/mnist-cnn.onnx --calibration calibration.npy -o mnist-cnn.q.onnx --eval eval.npy --labels eval.labels.npy"
echo
$VTA quantize models/float/mnist-cnn.onnx --calibration "$tmp/mnist/calibration.npy" -o "$tmp/mnist-cnn.q.onnx" \
  --eval "$tmp/mnist/eval.npy" --labels "$tmp/mnist/eval.labels.npy" -q
echo
echo "== vta run mnist-cnn.q.onnx --input eval.npy --labels eval.labels.npy --check -q   (driver: fsim)"
echo
$VTA run "$tmp/mnist-cnn.q.onnx" --input "$tmp/mnist/eval.npy" --labels "$tmp/mnist/eval.labels.npy" --check -q
echo
echo "== A model quantized by torch's own post-training quantization (uint8 activations, per-channel"
echo "   weights), run on its own float interface: 4 real MNIST digits in one .npy, float logits out"
echo "== vta run models/real/torch-cnn-onednn.onnx --input models/real/torch-cnn-onednn.input.npy --check -q"
echo
$VTA run models/real/torch-cnn-onednn.onnx --input models/real/torch-cnn-onednn.input.npy --check -q
echo
echo "== The same CNN's first kernel, as VTA instructions (vta compile + vta disasm)"
$VTA compile models/cnn.onnx -o "$tmp/cnn.vtapkg" | tail -1
$VTA disasm "$tmp/cnn.vtapkg" | sed -n '2,18p'
echo "   ..."
echo
echo "== The conformance kit on fsim"
$VTA conformance --driver fsim | tail -1
