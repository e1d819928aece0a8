#!/usr/bin/env bash
# `make test`: typecheck, RTL lint + build, the vitest suite; prints one closing line
# `N passed, N failed` that counts the vitest cases plus the typecheck, lint and build steps.
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0
failed=0
step() {
  local name=$1; shift
  echo "== $name"
  if "$@"; then passed=$((passed + 1)); else echo "FAILED: $name"; failed=$((failed + 1)); fi
}
step typecheck npx tsc -p tsconfig.json
if [ -f hw/Makefile ]; then
  step verilator make -s verilator
  step rtl-lint make -s -C hw lint
  step rtl-build make -s -C hw rtl
fi
report=$(mktemp)
npx vitest run --reporter=default --reporter=json --outputFile.json="$report"
vitest_rc=$?
counts=$(node -e '
  const fs = require("fs");
  try {
    const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    const failedSuites = (r.testResults || []).filter((t) => t.status === "failed" && (t.assertionResults || []).length === 0).length;
    console.log(r.numPassedTests, r.numFailedTests + failedSuites);
  } catch { console.log("0 1"); }' "$report")
rm -f "$report"
read -r vp vf <<<"$counts"
passed=$((passed + vp))
failed=$((failed + vf))
if [ "$vitest_rc" -ne 0 ] && [ "$vf" -eq 0 ]; then failed=$((failed + 1)); fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
