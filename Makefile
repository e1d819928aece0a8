# The two commands a new user needs are `make demo` and `make test`; both install what they need.
SHELL := /bin/bash
NODE_STAMP := node_modules/.installed-stamp
BUNDLE := dist/vta.mjs
BUNDLE_SOURCES := $(shell find api cli compiler config drivers frontend graph hw isa lib models runtime sim viz \
  -path hw/build -prune -o -name '*.ts' -print 2>/dev/null)
VTA := node bin/vta.mjs
# fsim's native GEMM (sim/native/): optional, fsim falls back to WebAssembly without it.
FSIM_ADDON := sim/native/build/Release/vta_fsim.node
NODE_GYP := $(abspath $(dir $(shell readlink -f $$(command -v npm)))/../node_modules/node-gyp/bin/node-gyp.js)

.PHONY: all deps demo test typecheck rtl lint bench clean verilator testdata chromium fuzz

all: test

# npm ci, re-run whenever the lock file changes. Install scripts of dependencies stay disabled
# (package.json allowScripts): onnxruntime-node's would try to download CUDA files.
# Then the `vta` command as one bundle (scripts/build.ts), rebuilt when a source it may hold
# changes; bin/vta.mjs runs it, or the sources through tsx when one of them is newer than it.
deps: $(NODE_STAMP) $(BUNDLE) $(FSIM_ADDON)
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(BUNDLE): $(NODE_STAMP) $(BUNDLE_SOURCES) scripts/build.ts scripts/bundle-launcher.mjs
	node_modules/.bin/tsx scripts/build.ts

# With npm's own node-gyp, as hw/ builds tsim's addon. A failed build only costs speed: the
# WebAssembly kernels give the same bytes, so it warns instead of stopping the build.
$(FSIM_ADDON): $(NODE_STAMP) sim/native/fsim_kernels.cc sim/native/binding.gyp
	cd sim/native && NODE_PATH=$(CURDIR)/node_modules node $(NODE_GYP) rebuild --nodedir=/usr --jobs=2 --loglevel=warn \
	  || echo "warning: fsim's native GEMM did not build (needs g++, make, python3); fsim runs on WebAssembly"

# Verilator from Debian when missing (we are root on these machines).
verilator:
	@command -v verilator >/dev/null 2>&1 || { apt-get update && apt-get install -y verilator; }

# ONNX's backend node tests (test/models/onnx-node-tests.test.ts runs the quantized-operator ones).
testdata:
	@test -d /usr/share/libonnx-testdata/data/node || { apt-get update && apt-get install -y libonnx-testdata; }

# A headless browser for the profile page's test (test/viz/profile-browser.test.ts).
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update && apt-get install -y chromium; }

rtl: deps verilator
	$(MAKE) -C hw rtl

lint: verilator
	$(MAKE) -C hw lint

typecheck: deps
	npx tsc -p tsconfig.json

# The main job on the built-in simulator.
demo: deps
	@bash scripts/demo.sh

# Everything: typecheck, RTL lint and build, then the whole test suite (unit, conformance on every
# available driver, end to end). Ends with the line `N passed, N failed`.
test: deps testdata chromium
	@bash scripts/test.sh

# The large fuzz campaign (test/fuzz/): thousands of cases per input path, and 10,000 valid plus
# 5,000 fault-injected programs per built config on fsim and tsim. `make test` runs its smoke size.
# FUZZ_CASES=N sets every file's case count; failures are saved under test/fuzz/failures/.
fuzz: deps rtl
	FUZZ=full npx vitest run test/fuzz

bench: deps rtl
	npx tsx bench/run.ts

clean:
	rm -rf hw/build sim/native/build bench/results dist node_modules/.installed-stamp
