#!/usr/bin/env bash
# Developer helper: builds the Python extension in build dir $1 (default build-py) and lays
# out an importable package in $1/pkg, so `PYTHONPATH=$1/pkg python -c "import lamina"` works
# without installing. `make test` uses the real scikit-build-core install instead.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-py}
py=${PYTHON:-.venv/bin/python}
if [ ! -f "$dir/build.ninja" ]; then
  cmake -S . -B "$dir" -G Ninja -DLAMINA_BUILD_PYTHON=ON -DPython_EXECUTABLE="$(cd "$(dirname "$py")" && pwd)/$(basename "$py")" >/dev/null
fi
ninja -C "$dir" ${JOBS:+-j"$JOBS"} >/dev/null
mkdir -p "$dir/pkg/lamina"
for f in python/lamina/*.py; do ln -sf "$(realpath "$f")" "$dir/pkg/lamina/"; done
for sub in python/lamina/*/; do [ -d "$sub" ] && ln -sfn "$(realpath "$sub")" "$dir/pkg/lamina/$(basename "$sub")"; done
ln -sf "$(realpath "$dir"/_lamina*.so)" "$(realpath "$dir"/_lamina.pyi)" "$(realpath "$dir"/py.typed)" "$dir/pkg/lamina/"
echo "$dir/pkg"
