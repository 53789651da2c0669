#!/usr/bin/env bash
# Builds and runs every kernel-lab program (needs nvcc and a GPU): validation then timings.
#   bash dev/cuda/run.sh [sm_arch, default 90]
set -euo pipefail
cd "$(dirname "$0")/../.."
arch=${1:-90}
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
mkdir -p build/lab
status=0
for src in dev/cuda/*.cu; do
  name=$(basename "$src" .cu)
  "$nvcc" -O3 -std=c++17 -arch=sm_"$arch" "$src" -o build/lab/"$name"
  echo "== $name"
  build/lab/"$name" || status=1
done
exit $status
