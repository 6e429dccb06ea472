# The two commands of the README: `make test` and `make bench`.
BUILD ?= build
JOBS  ?= $(shell nproc)

.PHONY: all build test bench soak clean

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
# release), SOAK_THREADS and SOAK_MODE pass through the environment.
soak:
	python3 bench/soak.py

clean:
	rm -rf $(BUILD)
