#!/usr/bin/env bash
# The CUDA checks for a session that is lent a GPU machine (docs/cuda.md). That machine has nvcc,
# CMake, ninja and Python 3 with torch, numpy, nanobind and scikit-build-core, but none of our
# Debian build dependencies and no package registry, so they travel as .deb files:
#
#   here:    bash scripts/gpu_check.sh prepare     # .carry/: the Debian packages + carry-debs (git-ignored)
#   there:   device run, carry [".carry"], command:
#            bash scripts/gpu_check.sh build && bash scripts/gpu_check.sh test   (then: ... bench)
#
# Each stage writes its log under $OUT (or build/gpu-out without it). `build` configures with
# LAMINA_CUDA=ON for sm_90 only (the GPU there) and builds the C++ tests and the Python extension
# on every core; `test` runs lamina_tests and every tests/python/test_cuda*.py file (and the ONNX
# export tests, which have a GPU case) with the GPU visible, reporting every failure; `bench` runs the kernel lab and bench/cuda_bench.py beside PyTorch.
set -uo pipefail
cd "$(dirname "$0")/.."
stage=${1:?usage: gpu_check.sh prepare|build|test|bench}
out=${OUT:-build/gpu-out}
mkdir -p "$out"
root=$PWD/.carry/root/usr
lib=$root/lib/x86_64-linux-gnu
jobs=$(nproc)

debs=(libopenblas-dev libopenblas0-pthread libopenblas-pthread-dev libhwy-dev libhwy1 nlohmann-json3-dev
      libgtest-dev libzip-dev libzip4 libprotobuf-dev libprotobuf32 protobuf-compiler libprotoc32 libdlpack-dev
      zlib1g-dev pkgconf pkgconf-bin libpkgconf3 libbz2-dev libssl-dev)

env_for_carried() {
  export PATH=$root/bin:$PATH
  export LD_LIBRARY_PATH=$lib:$lib/openblas-pthread:${LD_LIBRARY_PATH:-}
  export PKG_CONFIG_LIBDIR=$lib/pkgconfig:$lib/openblas-pthread/pkgconfig:$root/share/pkgconfig
  export PKG_CONFIG=$root/bin/pkgconf
  cmake_args=(-DLAMINA_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 "-DCMAKE_PREFIX_PATH=$root"
              "-DLAMINA_DLPACK_INCLUDE_DIR=$root/include/dlpack" "-DCMAKE_CXX_FLAGS=-isystem $root/include"
              "-DPKG_CONFIG_EXECUTABLE=$root/bin/pkgconf" "-DProtobuf_PROTOC_EXECUTABLE=$root/bin/protoc")
}

case $stage in
prepare)
  grep -qx '/.carry/' .git/info/exclude 2>/dev/null || echo '/.carry/' >>.git/info/exclude
  mkdir -p .carry && cp ../shared/tools/carry-debs .carry/
  bash .carry/carry-debs download .carry "${debs[@]}"
  ;;
build)
  [ -d .carry ] && bash .carry/carry-debs unpack .carry >/dev/null
  # Debian's .pc and CMake files name /usr: point them at where the packages were unpacked.
  grep -rlI --include='*.pc' --include='*.cmake' '/usr' "$root" | xargs -r sed -i "s|=/usr|=$root|g; s| /usr/| $root/|g; s|\"/usr/|\"$root/|g"
  env_for_carried
  nvidia-smi >"$out/nvidia-smi.txt" 2>&1
  {
    cmake -S . -B build/gpu -G Ninja -DCMAKE_BUILD_TYPE=Release "${cmake_args[@]}" &&
      ninja -C build/gpu -j"$jobs" lamina_tests &&
      CMAKE_ARGS="${cmake_args[*]}" python3 -m pip install -q --no-build-isolation --no-deps \
        --target build/gpu-py --upgrade .
  } >"$out/build.log" 2>&1
  status=$?
  tail -30 "$out/build.log"
  exit $status
  ;;
test)
  env_for_carried
  export PYTHONPATH=$PWD/build/gpu-py LAMINA_FORCE_CPU=0 PYTHONUNBUFFERED=1
  build/gpu/lamina_tests >"$out/lamina_tests.log" 2>&1
  cpp=$?
  # No -x: device time is scarce, so one run reports every failure (each test capped at 120 s).
  python3 -m pytest -q -rf --maxfail=200 --timeout=120 -p no:cacheprovider --junitxml="$out/pytest_cuda.xml" \
    tests/python/test_cuda*.py tests/python/test_onnx.py >"$out/pytest_cuda.log" 2>&1
  py=$?
  grep -E "FAILED|PASSED|tests? from" "$out/lamina_tests.log" | tail -8
  grep -E "^FAILED|passed|failed" "$out/pytest_cuda.log" | tail -40
  [ $cpp -eq 0 ] && [ $py -eq 0 ]
  ;;
bench)
  env_for_carried
  export PYTHONPATH=$PWD/build/gpu-py LAMINA_FORCE_CPU=0 PYTHONUNBUFFERED=1
  bash dev/cuda/run.sh 90 >"$out/kernel_lab.log" 2>&1
  python3 bench/cuda_bench.py --json "$out/cuda_bench.json" >"$out/cuda_bench.log" 2>&1
  status=$?
  tail -40 "$out/cuda_bench.log"
  exit $status
  ;;
*)
  echo "unknown stage $stage" >&2
  exit 2
  ;;
esac
