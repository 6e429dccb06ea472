# The two commands of the README: `make test` and `make bench`.
BUILD ?= build
JOBS  ?= $(shell nproc)

.PHONY: all build test bench soak fuzz clean

all: build

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Builds hakmem and the workloads itself; BENCH_QUICK=1, BENCH_RUNS=N,
# BENCH_WORKLOADS=a,b and BENCH_ALLOCATORS=a,b pass through the environment.
bench:
	python3 bench/run.py

# The long run of bench/README.md; SOAK_SECONDS (default 600, 3600 for a
# release), SOAK_THREADS, SOAK_MODE and SOAK_BASELINE_SECONDS pass through
# the environment.
soak:
	python3 bench/soak.py

# libFuzzer run of tests/fuzz/fuzz_api.c for FUZZ_SECONDS (default 60), built
# with clang in its own tree; FUZZ_SECURE=1 fuzzes the secure build.  New
# inputs collect in $(FUZZ_BUILD)/corpus (the seeds in tests/fuzz/corpus are
# only read); a crash is saved in $(FUZZ_BUILD) and fails the target.
FUZZ_SECURE  ?= 0
FUZZ_BUILD   ?= $(BUILD)/fuzz$(if $(filter 1,$(FUZZ_SECURE)),-secure)
FUZZ_SECONDS ?= 60

fuzz:
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	      -DHAKMEM_SECURE=$(if $(filter 1,$(FUZZ_SECURE)),ON,OFF)
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_api
	mkdir -p $(FUZZ_BUILD)/corpus
	$(FUZZ_BUILD)/tests/fuzz_api -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	      -artifact_prefix=$(FUZZ_BUILD)/ $(FUZZ_BUILD)/corpus tests/fuzz/corpus

clean:
	rm -rf $(BUILD)
