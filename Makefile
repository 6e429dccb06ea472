# The two commands of the README: `make test` and `make bench`.
BUILD ?= build
JOBS  ?= $(shell nproc)

.PHONY: all build test clean

all: build

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD)
