#!/usr/bin/env bash
# Regenerates models/real/ (models, inputs, notes) and models/real/INVENTORY.md. Development time
# only: needs Debian's python3-torch, python3-onnx (and libonnx-testdata for the node-test table),
# and MNIST digits in $MNIST_DIR (see README.md). Deterministic: a second run gives identical bytes.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-/usr/bin/python3}
$PY torch_ptq.py
$PY ort_qdq.py
$PY qoperator.py
$PY resnet18.py
ROOT=../..
refusals=$(mktemp)
for f in "$ROOT"/models/real/*.onnx; do
  n=$(basename "$f" .onnx)
  line=$(cd "$ROOT" && node bin/vta.mjs run "models/real/$n.onnx" --input "models/real/$n.input.npy" 2>&1 | grep -E 'kernels on VTA|^error' | head -1 | sed 's/^ *//' || true)
  printf '%s\t%s\n' "$n" "$line" >>"$refusals"
done
$PY inventory.py "$refusals" /usr/share/libonnx-testdata/data/node >"$ROOT/models/real/INVENTORY.md"
rm -f "$refusals"
