#!/usr/bin/env bash
# `make demo`: the main job on the built-in simulator (fsim).
set -euo pipefail
cd "$(dirname "$0")/.."
VTA="node bin/vta.mjs"
bundle=conformance/mixed-s1-legal-b1000.bundle.json
echo "== A VTA program: $bundle"
$VTA disasm "$bundle" | head -25
echo
echo "== Replayed on fsim"
$VTA replay "$bundle" -o /tmp/vta-demo.result.json
echo
echo "== The conformance kit on fsim"
$VTA conformance --driver fsim | tail -2
