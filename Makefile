# Deep Transformer trainer in C. `make run` trains the default model; `make test` tests.
CC      ?= cc
CFLAGS  ?= -O3 -g
CFLAGS  += -std=c11 -Wall -Wextra -fopenmp -Iinclude -I/usr/include/stb
LDLIBS  := -lopenblas -lstb -lm
# Debian packages the build, the default dataset and the tests need.
DEPS    := libopenblas-dev libstb-dev dataset-fashion-mnist gnuplot-nox \
           python3-numpy python3-scipy python3-pandas python3-matplotlib slurm-wlm munge
# Debian's python3, whatever python3 comes first on PATH (the sweeps' analysis needs its packages)
PYTHON  := /usr/bin/python3
GIT_COMMIT := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

LIB_SRC := $(filter-out src/train.c src/simulate.c,$(wildcard src/*.c))
LIB_OBJ := $(LIB_SRC:src/%.c=build/%.o)
TEST_OBJ := $(patsubst tests/%.c,build/tests/%.o,$(wildcard tests/*.c))

.PHONY: all run test deps clean bench
all: deps train simulate

# Installs the Debian packages that are missing (apt-get as root, else through sudo).
deps:
	@missing=$$(for p in $(DEPS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

train: build/train.o $(LIB_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# ./simulate depth|pair|tokens: token dynamics at initialization (README).
simulate: build/simulate.o $(LIB_OBJ)
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

build/train.o: src/train.c build/commit
	$(CC) $(CFLAGS) -DGIT_COMMIT='"$(GIT_COMMIT)"' -MMD -c -o $@ $<

build/%.o: src/%.c
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

bench: deps build/bench
	tools/bench.sh

run: deps train
	./train

test: deps train simulate build/run_tests build/parity
	./build/run_tests

clean:
	rm -rf build train simulate

-include build/*.d build/tests/*.d build/tools/*.d

# Sweeps of ./train (experiments/sweep.py; README "Experiments"): each finished run leaves a
# record in results/PLAN/runs/, so a rerun continues with what is missing; the report is
# rewritten at the end (experiments/analyze.py). SWEEP_FLAGS passes flags, e.g. --jobs 1.
# map: the claim-1 map, 160 runs, about 6.5 hours on 2 cores; full: the first sweep, 60
# runs, about 2 hours; quick: the pipeline on short runs, a few minutes.
.PHONY: experiment experiment-map experiment-quick
experiment-map: deps train
	$(PYTHON) experiments/sweep.py --plan map $(SWEEP_FLAGS)

experiment: deps train
	$(PYTHON) experiments/sweep.py --plan full $(SWEEP_FLAGS)

experiment-quick: deps train
	$(PYTHON) experiments/sweep.py --plan quick $(SWEEP_FLAGS)
