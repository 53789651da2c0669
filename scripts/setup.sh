#!/usr/bin/env bash
# Installs everything lamina needs on a fresh Debian 12 machine: system packages with
# apt-get, Python tools into .venv with pip. Idempotent and quick when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  g++ cmake ninja-build ccache pkg-config   # toolchain
  libopenblas-dev                           # GEMM (BLAS)
  libdnnl-dev                               # oneDNN: CPU convolutions
  libhwy-dev                                # SIMD with run-time ISA dispatch
  libdlpack-dev                             # DLPack interop header
  googletest libgtest-dev                   # C++ tests
  libbenchmark-dev                          # C++ benchmarks
  zlib1g-dev                                # gzip-compressed data files (IDX)
  libzip-dev                                # .npz archives (zip)
  libgloo-dev                               # distributed: Gloo collectives over TCP (CPU tensors)
  libopenmpi-dev openmpi-bin                # distributed: the MPI backend, and mpirun for its tests
  iproute2                                  # distributed tests: two hosts as network namespaces
  nlohmann-json3-dev                        # safetensors headers (JSON)
  protobuf-compiler libprotobuf-dev         # TensorBoard event files (protobuf messages)
  clang                                     # libFuzzer target for the safetensors parser
  dataset-fashion-mnist                     # the built-in data set (make demo)
  python3-venv                              # the .venv
  python3-torch                             # PyTorch reference for tests and benchmarks (own interpreter)
  python3-matplotlib                        # plots of the pytorch/examples programs run under PyTorch in tests
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: apt-get install ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
PIP_PACKAGES=("nanobind>=2.0" "scikit-build-core>=0.10" "numpy>=1.24" "pytest>=7" "tqdm>=4.60"
              "safetensors>=0.4" "tensorboard>=2.14" "onnx>=1.14" "onnxruntime>=1.16" "atheris>=2.3"
              "matplotlib>=3.6")  # the pytorch/examples programs the tests run unmodified plot with it
if ! .venv/bin/python -c "import nanobind, scikit_build_core, numpy, pytest, tqdm, safetensors, tensorboard, onnx, onnxruntime, atheris, matplotlib" >/dev/null 2>&1; then
  echo "setup: pip install ${PIP_PACKAGES[*]}"
  .venv/bin/pip install -q --disable-pip-version-check "${PIP_PACKAGES[@]}"
fi
