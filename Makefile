# Quick start (see README):  make demo   |   make test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch must be this exact build: it is the local CPU wheel (any looser spec pulls CUDA).
TORCH  := torch==2.13.0
JOBS   ?= 2

.PHONY: help venv setup-runtime setup-train setup-dev demo test test-python test-cpp test-sanitize test-soak build-cuda clean

help:
	@echo "make demo   - create $(VENV), install argus-edge[train,export], run 'argus-edge demo'"
	@echo "make test   - create $(VENV), install argus-edge[train,export,dev], run pytest + ctest"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

venv: $(BIN)/python

# The demo exports and quantizes the bundled model the first time: train + export extras.
setup-train: venv
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet ".[train,export]"

# The package is built in build/cpp, the C++ tests' build folder, with the tests and the C
# example on, so that test-cpp finds libargus and the extension compiled (not a second
# compile). A build folder that outlives the install must find its tools again: pip builds
# without isolation, with pyproject.toml's [build-system] requires installed into $(VENV).
BUILD_REQUIRES = $(shell $(BIN)/python -c "import sys; t = __import__('tomllib' \
  if sys.version_info >= (3, 11) else 'pip._vendor.tomli', fromlist=['load']); \
  print(' '.join(repr(r) for r in t.load(open('pyproject.toml', 'rb'))['build-system']['requires']))")
setup-dev: venv
	$(BIN)/pip install --quiet $(TORCH) $(BUILD_REQUIRES)
	$(BIN)/pip install --quiet --no-build-isolation -C build-dir=build/cpp \
	  -C cmake.define.ARGUS_BUILD_TESTS=ON -C cmake.define.ARGUS_BUILD_EXAMPLES=ON \
	  ".[train,export,dev]"

demo: setup-train
	$(BIN)/argus-edge demo

test-python:
	$(BIN)/python -m pytest --durations=25

# WITH_OPENVINO=ON also builds build/cpp/libargus_openvino_ext.so (the fused
# ai.argus::ScaledDeformAttn node for OpenVINO, cmake/deform.cmake) against the openvino
# wheel of $(VENV) (the export extra); tests/test_deform_kernel.py loads it from there.
# `make test-cpp WITH_OPENVINO=OFF` builds without openvino installed.
WITH_OPENVINO ?= ON
test-cpp:
	cmake -S . -B build/cpp -G Ninja -DCMAKE_BUILD_TYPE=Release -DARGUS_BUILD_TESTS=ON \
	  -DARGUS_BUILD_EXAMPLES=ON -DARGUS_WITH_OPENVINO=$(WITH_OPENVINO) \
	  -DPython_EXECUTABLE=$(abspath $(BIN)/python)
	cmake --build build/cpp -j $(JOBS)
	ctest --test-dir build/cpp --output-on-failure

# The C++ and C API tests again under AddressSanitizer + UBSan (+ LeakSanitizer): CI runs it.
test-sanitize:
	cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DARGUS_SANITIZE=ON \
	  -DARGUS_BUILD_TESTS=ON -DARGUS_BUILD_EXAMPLES=ON -DARGUS_WITH_OPENVINO=$(WITH_OPENVINO) \
	  -DARGUS_CAPI_CYCLES=20 -DPython_EXECUTABLE=$(abspath $(BIN)/python)
	cmake --build build/asan -j $(JOBS)
	ctest --test-dir build/asan --output-on-failure

# The C API's create/run/destroy soak at 1000 cycles (the default suite runs 100, the
# fewest its resident-set-size check takes; each cycle compiles the backbone, ~1 s).
test-soak:
	cmake -S . -B build/cpp -DARGUS_CAPI_CYCLES=1000
	cmake --build build/cpp -j $(JOBS)
	ctest --test-dir build/cpp -R "capi.make_bundle|capi.bundle" --output-on-failure
	cmake -S . -B build/cpp -DARGUS_CAPI_CYCLES=100

# The CUDA kernels must compile (CI); their tests run only where a GPU is present (they
# report "skipped" elsewhere). Needs nvcc; without it this says so and does nothing.
build-cuda:
	@if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then \
	  cmake -S . -B build/cuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DARGUS_WITH_CUDA=ON \
	    -DARGUS_BUILD_TESTS=ON && cmake --build build/cuda -j $(JOBS) && \
	  ctest --test-dir build/cuda -R kernels_cuda --output-on-failure; \
	else echo "build-cuda: nvcc not found, the CUDA kernels were NOT compiled"; fi

# The README's test command: everything CI runs.
test: setup-dev test-cpp test-python

clean:
	rm -rf build $(VENV)
