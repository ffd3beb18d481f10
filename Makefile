# Deep Transformer trainer in C. `make run` trains the default model; `make test` tests.
CC      ?= cc
CFLAGS  ?= -O3 -g
CFLAGS  += -std=c11 -Wall -Wextra -fopenmp -Iinclude -I/usr/include/stb
LDLIBS  := -lopenblas -lstb -lm
# Debian packages, by purpose (make deps-build, deps-run, deps-test, deps-experiments).
DEPS_BUILD := libopenblas-dev libstb-dev
DEPS_RUN   := dataset-fashion-mnist gnuplot-nox
DEPS_PY    := python3-numpy python3-scipy python3-pandas python3-matplotlib
DEPS_TEST  := $(DEPS_BUILD) $(DEPS_RUN) $(DEPS_PY) python3-torch slurm-wlm munge
DEPS_EXPERIMENTS := $(DEPS_BUILD) $(DEPS_RUN) $(DEPS_PY) slurm-wlm munge
# Debian's python3, whatever python3 comes first on PATH (the sweeps' analysis needs its packages)
PYTHON  := /usr/bin/python3
GIT_COMMIT := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

# src/ has a folder per role (docs/CODE.md); each program links the folders it uses.
MAINS   := src/trainer/train.c src/sim/simulate.c
LIB_SRC := $(filter-out $(MAINS),$(wildcard src/*/*.c))
LIB_OBJ := $(LIB_SRC:src/%.c=build/%.o)
# objs DIRS PREFIX: the objects of the library sources in src/DIR/ for each DIR
objs = $(patsubst src/%.c,$(2)/%.o,$(filter-out $(MAINS),$(wildcard $(1:%=src/%/*.c))))
TRAIN_DIRS := base cli nn data store trainer
SIM_DIRS   := base cli nn data store sim
TEST_OBJ := $(patsubst tests/%.c,build/tests/%.o,$(wildcard tests/*.c))

.PHONY: all run test deps deps-build deps-run deps-test deps-experiments check-build-deps \
        clean bench check-expf
all: train simulate

# install-deps PACKAGES: installs the Debian packages of the list that are missing (apt-get as
# root, else through sudo). Without apt-get and dpkg (not Debian) it names what to install and
# stops; NO_DEPS=1 skips the step (everything installed by other means).
define install-deps
@if [ -n "$(NO_DEPS)" ]; then exit 0; fi; \
if ! command -v dpkg >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then \
  echo "make: no apt-get/dpkg here (not Debian). Install by other means what these Debian packages hold:"; \
  for p in $(1); do echo "  $$p"; done; \
  echo "  (libopenblas-dev: OpenBLAS with cblas.h; libstb-dev: stb_image.h and libstb;"; \
  echo "   dataset-fashion-mnist: the four IDX .gz files in /usr/share/datasets/fashion-mnist;"; \
  echo "   python3-*: those Python modules for /usr/bin/python3; slurm-wlm, munge: Slurm)"; \
  echo "then run make again with NO_DEPS=1."; exit 1; \
fi; \
missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
if [ -n "$$missing" ]; then \
  echo "installing: "$$missing; \
  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
fi
endef

deps-build:
	$(call install-deps,$(DEPS_BUILD))
# the build, the default dataset and gnuplot (make run)
deps-run:
	$(call install-deps,$(DEPS_BUILD) $(DEPS_RUN))
# everything the test suite needs, so that no test is skipped (PyTorch for the parity tests)
deps-test:
	$(call install-deps,$(DEPS_TEST))
# the sweeps' analysis (Python) and the Slurm engine
deps-experiments:
	$(call install-deps,$(DEPS_EXPERIMENTS))
# all of the above
deps:
	$(call install-deps,$(sort $(DEPS_TEST) $(DEPS_EXPERIMENTS)))

# Before the first object is compiled: the headers of the build's packages are there.
check-build-deps:
	@printf '#include <cblas.h>\n#include <stb_image.h>\n' | $(CC) -I/usr/include/stb -E -x c - >/dev/null 2>&1 || \
	{ echo "make: cblas.h (OpenBLAS) or stb_image.h (stb) not found: 'make deps-build' installs them on Debian (libopenblas-dev, libstb-dev)"; exit 1; }

train: build/trainer/train.o $(call objs,$(TRAIN_DIRS),build)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# ./simulate depth|pair|tokens: token dynamics at initialization (docs/SIMULATE.md).
simulate: build/sim/simulate.o $(call objs,$(SIM_DIRS),build)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/run_tests: $(TEST_OBJ) $(LIB_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The C side of the PyTorch parity test (tools/parity.py, tests/test_parity.c).
build/parity: build/tools/parity.o $(LIB_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The commit goes into config.json; rebuild train.o only when it changes.
build/commit: FORCE
	@mkdir -p $(@D)
	@echo '$(GIT_COMMIT)' | cmp -s - $@ || echo '$(GIT_COMMIT)' > $@
FORCE:

build/trainer/train.o: src/trainer/train.c build/commit
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -DGIT_COMMIT='"$(GIT_COMMIT)"' -MMD -c -o $@ $<

build/%.o: src/%.c | check-build-deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -c -o $@ $<

build/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests -MMD -c -o $@ $<

build/tools/%.o: tools/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -c -o $@ $<

# C trainer vs PyTorch, side by side (tools/bench.sh prints the table).
build/bench: build/tools/bench.o $(LIB_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

bench: deps-test build/bench
	tools/bench.sh

# expf_batch against the C library's expf on all 2^32 floats (about 40 s of a core).
build/check_expf: build/tools/check_expf.o $(LIB_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

check-expf: build/check_expf
	build/check_expf

# device/ (git-ignored): a static bundle for a many-core machine without our Debian packages
# and without a package registry, to run the map sweep and the scaling bench there: ./train
# and build/bench linked statically (OpenBLAS's .a has every CPU's kernels), stripped,
# gzipped, and Fashion-MNIST. experiments/device_run.sh runs them there (docs/EXPERIMENTS.md).
# (ld warns that libgomp calls dlopen: only for offloading to accelerators, which we never do)
STATIC_LIBS := -lopenblas -lstb -lgfortran -lquadmath -lm -lpthread
build/static/train: build/trainer/train.o $(call objs,$(TRAIN_DIRS),build)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -static -o $@ $^ $(STATIC_LIBS)
build/static/bench: build/tools/bench.o $(LIB_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -static -o $@ $^ $(STATIC_LIBS)

.PHONY: device-bundle
device-bundle: deps-run train build/bench build/static/train build/static/bench
	experiments/device_bundle.sh

# The packages first, then the build (also under make -j, where prerequisites run at once).
run: deps-run
	@$(MAKE) --no-print-directory train
	./train

test: deps-test
	@$(MAKE) --no-print-directory train simulate build/run_tests build/parity
	./build/run_tests

clean:
	rm -rf build build-san build-fuzz train simulate

-include build/*/*.d

# The programs and the tests with AddressSanitizer + UndefinedBehaviorSanitizer in
# build-san/ (the normal build is untouched); the tests run build-san/train, simulate and
# parity through TEST_BIN_DIR (tests/proc.c). Every report, also from a program a test
# runs (which may be expected to exit 1 anyway), goes to a file in build-san/reports/:
# any file there fails the target (TEST_FILTER=NAME: only the tests whose name has NAME).
# Leaks are checked (detect_leaks=1). No suppressions: the uninstrumented OpenMP runtime and
# OpenBLAS gave no report. clang, not gcc: gcc's libubsan ignores log_path.
SAN_CC := clang
SAN_DEPS := clang libomp-dev
SAN_CFLAGS = $(filter-out -O%,$(CFLAGS)) -O1 -fsanitize=address,undefined \
             -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_LIB_OBJ := $(LIB_SRC:src/%.c=build-san/%.o)
SAN_TEST_OBJ := $(TEST_OBJ:build/%=build-san/%)
SAN_REPORTS := $(CURDIR)/build-san/reports
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:log_path=$(SAN_REPORTS)/asan \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$(SAN_REPORTS)/ubsan \
    TEST_BIN_DIR=build-san

.PHONY: test-sanitize deps-san
deps-san:
	$(call install-deps,$(DEPS_TEST) $(SAN_DEPS))

test-sanitize: deps-san train build-san/train build-san/simulate build-san/parity build-san/run_tests
	@rm -rf $(SAN_REPORTS) && mkdir -p $(SAN_REPORTS)
	@start=$$(date +%s); $(SAN_ENV) ./build-san/run_tests $(TEST_FILTER); rc=$$?; \
	echo "sanitized suite: $$(( $$(date +%s) - start ))s"; \
	if [ -n "$$(ls -A $(SAN_REPORTS))" ]; then \
	  cat $(SAN_REPORTS)/*; echo "sanitizer reports in $(SAN_REPORTS): failed"; exit 1; fi; \
	exit $$rc

build-san/train: build-san/trainer/train.o $(call objs,$(TRAIN_DIRS),build-san)
	$(SAN_CC) $(SAN_CFLAGS) -o $@ $^ $(LDLIBS)
build-san/simulate: build-san/sim/simulate.o $(call objs,$(SIM_DIRS),build-san)
	$(SAN_CC) $(SAN_CFLAGS) -o $@ $^ $(LDLIBS)
build-san/parity: build-san/tools/parity.o $(SAN_LIB_OBJ)
	$(SAN_CC) $(SAN_CFLAGS) -o $@ $^ $(LDLIBS)
build-san/run_tests: $(SAN_TEST_OBJ) $(SAN_LIB_OBJ)
	$(SAN_CC) $(SAN_CFLAGS) -o $@ $^ $(LDLIBS)

build-san/trainer/train.o: src/trainer/train.c build/commit
	@mkdir -p $(@D)
	$(SAN_CC) $(SAN_CFLAGS) -DGIT_COMMIT='"$(GIT_COMMIT)"' -MMD -c -o $@ $<
build-san/%.o: src/%.c
	@mkdir -p $(@D)
	$(SAN_CC) $(SAN_CFLAGS) -MMD -c -o $@ $<
build-san/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(SAN_CC) $(SAN_CFLAGS) -Itests -MMD -c -o $@ $<
build-san/tools/%.o: tools/%.c
	@mkdir -p $(@D)
	$(SAN_CC) $(SAN_CFLAGS) -MMD -c -o $@ $<

-include build-san/*/*.d

# Sweeps of ./train (experiments/sweep.py; docs/EXPERIMENTS.md): each finished run leaves a
# record in results/PLAN/runs/, so a rerun continues with what is missing; the report is
# rewritten at the end (experiments/analyze.py). SWEEP_FLAGS passes flags, e.g. --jobs 1.
# map: the claim-1 map, 160 runs, about 12 hours on 2 cores (24.5 h of one core); full:
# the first sweep, 60 runs, about 2 hours; quick: the pipeline on short runs, a few minutes.
.PHONY: experiment experiment-map experiment-quick
experiment-map: deps-experiments train
	$(PYTHON) experiments/sweep.py --plan map $(SWEEP_FLAGS)

experiment: deps-experiments train
	$(PYTHON) experiments/sweep.py --plan full $(SWEEP_FLAGS)

experiment-quick: deps-experiments train
	$(PYTHON) experiments/sweep.py --plan quick $(SWEEP_FLAGS)

# libFuzzer harnesses (tests/fuzz/) for the safetensors reader, the config.json
# reader, the IDX/gzip reader and the option parser, built with clang, ASan and UBSan in
# build-fuzz/. `make fuzz` runs each for FUZZ_SECONDS (default 60) from the seeds of
# tests/fuzz/seeds.sh plus what earlier runs found (build-fuzz/corpus/), prints the
# executions of each and stops at the first crash (its input in build-fuzz/crashes/).
# `make fuzz-smoke` is the 10-second run of CI.
FUZZ_SECONDS ?= 60
FUZZERS := safetensors config_json idx options
FUZZ_CFLAGS = $(filter-out -O%,$(CFLAGS)) -O1 -fsanitize=address,undefined \
              -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_LIB_OBJ := $(LIB_SRC:src/%.c=build-fuzz/%.o)

.PHONY: fuzz fuzz-smoke
fuzz: deps-san $(FUZZERS:%=build-fuzz/fuzz_%)
	@rm -rf build-fuzz/seeds && tests/fuzz/seeds.sh build-fuzz/seeds
	@mkdir -p build-fuzz/crashes
	@for f in $(FUZZERS); do \
	  mkdir -p build-fuzz/corpus/$$f; \
	  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  build-fuzz/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix=build-fuzz/crashes/$$f- \
	    build-fuzz/corpus/$$f build-fuzz/seeds/$$f > build-fuzz/$$f.log 2>&1; rc=$$?; \
	  runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' build-fuzz/$$f.log); \
	  corpus=$$(ls build-fuzz/corpus/$$f | wc -l); \
	  printf 'fuzz %-12s %ss: %s executions, corpus %s inputs, exit %s\n' $$f $(FUZZ_SECONDS) "$${runs:-?}" $$corpus $$rc; \
	  if [ $$rc != 0 ]; then tail -40 build-fuzz/$$f.log; exit 1; fi; \
	done

fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10

build-fuzz/fuzz_%: build-fuzz/fuzz/fuzz_%.o $(FUZZ_LIB_OBJ)
	$(SAN_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)
build-fuzz/fuzz/%.o: tests/fuzz/%.c
	@mkdir -p $(@D)
	$(SAN_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -c -o $@ $<
build-fuzz/%.o: src/%.c
	@mkdir -p $(@D)
	$(SAN_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -c -o $@ $<

# kept between runs (make would delete these intermediate objects)
.SECONDARY: $(FUZZ_LIB_OBJ) $(FUZZERS:%=build-fuzz/fuzz/fuzz_%.o)

-include build-fuzz/*/*.d
