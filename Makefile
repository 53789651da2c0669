# The two commands: `make demo` and `make test`. Each sets up a fresh machine first.
SHELL := /bin/bash
PY := .venv/bin/python
JOBS ?= $(shell nproc)

.PHONY: setup build python demo test test-cpp test-python test-asan test-fuzz clean

setup:
	@bash scripts/setup.sh

build: setup
	cmake -S . -B build/cpp -G Ninja -DCMAKE_BUILD_TYPE=Release -DLAMINA_BUILD_BENCH=ON -DLAMINA_BUILD_EXAMPLES=ON >/dev/null
	ninja -C build/cpp -j$(JOBS)

python: setup
	$(PY) -m pip install -q --no-build-isolation --disable-pip-version-check .

# The demo's TensorBoard logs, metrics.csv and checkpoints go to runs/fashion_mnist (emptied first).
demo: python
	rm -rf runs/fashion_mnist
	LAMINA_FORCE_CPU=1 $(PY) examples/fashion_mnist.py --model cnn --epochs 3 \
	  --log-dir runs/fashion_mnist --checkpoint-dir runs/fashion_mnist/checkpoints

test-cpp: build
	cd build/cpp && ctest --output-on-failure

test-python: python
	LAMINA_FORCE_CPU=1 $(PY) -m pytest -q tests/python

# The sanitized build is also the build without CUDA (the stubs' path); the others use LAMINA_CUDA=AUTO.
test-asan: setup
	cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLAMINA_SANITIZE=ON -DLAMINA_CUDA=OFF >/dev/null
	ninja -C build/asan -j$(JOBS) lamina_tests
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 build/asan/lamina_tests

# libFuzzer on the safetensors parser (clang) and atheris on the .pt reader; longer runs:
# make test-fuzz FUZZ_SECONDS=3600. A crash fails it.
FUZZ_SECONDS ?= 30
test-fuzz: setup python
	FUZZ_SECONDS=$(FUZZ_SECONDS) JOBS=$(JOBS) bash fuzz/run.sh

test: test-cpp test-python test-asan test-fuzz
	@echo "make test: all suites passed"

clean:
	rm -rf build
