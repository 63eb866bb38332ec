# Thin wrapper over CMake. `make` builds build/xrem; `make test` installs what is missing,
# builds a sanitizer (ASan + UBSan) test build and runs ctest; `make demo` runs the demo.
BUILD      ?= build
TEST_BUILD ?= build-test
JOBS       ?= $(shell nproc)
CUDA_PATH_BIN := $(wildcard /usr/local/cuda/bin)
export PATH := $(PATH):$(CUDA_PATH_BIN)

.PHONY: all setup test demo clean format

all:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

setup:
	bash scripts/setup.sh

test: setup
	cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXREM_SANITIZE=ON >/dev/null
	cmake --build $(TEST_BUILD) -j $(JOBS)
	cd $(TEST_BUILD) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j 2

demo: setup all
	bash scripts/fetch_assets.sh
	$(BUILD)/xrem demo --assets data/assets --out demo

format:
	clang-format -i $$(git ls-files '*.c' '*.h' '*.cu' '*.cuh')

clean:
	rm -rf $(BUILD) $(TEST_BUILD)
