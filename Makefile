# The two commands of the project contract (README): `make demo` and `make test`. Both install whatever
# Debian/npm packages are missing first (scripts/install-deps.sh), so they work on a fresh Debian 12 machine.
SHELL := /bin/bash
JOBS ?= 2
BUILD := build
PORT ?= 8080

.PHONY: all deps web build build-asan build-fuzz test test-unit-asan test-fuzz demo bench clean format lint

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCG_WERROR=ON

build: $(BUILD)/build.ninja web
	ninja -C $(BUILD) -j $(JOBS)

# The Explorer web client (web/, docs/WEB.md): npm ci only when node_modules is missing or the lock file changed,
# then type-check + esbuild into web/dist (about a second).
web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	@touch $@

web: web/node_modules/.package-lock.json
	cd web && npm run --silent build

build-asan:
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCG_SANITIZE=ON -DCG_WERROR=ON >/dev/null
	ninja -C build-asan -j $(JOBS) $$(ninja -C build-asan -t targets all | grep -oE '^test_[a-z0-9_]+' | sort -u)

build-fuzz:
	CC=clang cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCG_SANITIZE=ON \
	  -DCG_FUZZ=ON -DCG_WERROR=ON >/dev/null
	ninja -C build-fuzz -j $(JOBS) $$(ninja -C build-fuzz -t targets all | grep -oE '^fuzz_[a-z0-9_]+' | sort -u)

# Unit tests under ASan/UBSan, the fuzzers for a bounded time, then every test on the release build.
# The last line printed is CTest's summary of the full run.
test: deps
	$(MAKE) build-asan build-fuzz build
	ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan -L unit --output-on-failure -j $(JOBS)
	ctest --test-dir build-fuzz -L fuzz --output-on-failure -j $(JOBS)
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

DEMO_H5AD := data/pbmc68k_reduced.h5ad
DEMO_CGB := $(BUILD)/demo/pbmc68k_reduced.cgb

demo: deps build
	@mkdir -p $(BUILD)/demo
	./$(BUILD)/cellgate ingest $(DEMO_H5AD) $(DEMO_CGB)
	./$(BUILD)/cellgate inspect $(DEMO_CGB)
	bash scripts/demo-serve.sh $(DEMO_CGB) $(PORT)

bench: build
	bash bench/ingest/run.sh

format:
	clang-format -i src/*/*.c src/*/*.h tests/*/*.c

lint: build
	clang-tidy -p $(BUILD) src/*/*.c

clean:
	rm -rf $(BUILD) build-asan build-fuzz
