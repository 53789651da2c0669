#!/usr/bin/env bash
# Instructions per small op (4-element `x + y`, and relu) under callgrind: a stable companion to
# the noisy microsecond figures of bench/ops.py. Instrumentation is switched on only around the
# loop (client requests in a tiny C library the driver loads with ctypes; valgrind runs with
# --instr-atstart=no, so imports and set-up run uninstrumented), and the same loop with an empty
# body is measured too: "net" = op minus empty loop, i.e. the op itself.
#
# Usage: PYTHONPATH=$(bash scripts/devpy.sh build/bench-py) bash bench/callgrind_overhead.sh [N] [ops]
#   N    iterations (default 2000); ops: space-separated, default "add relu"
#   env  PY (default .venv/bin/python) runs lamina and NumPy; TORCH_PY (default /usr/bin/python3)
#        runs PyTorch when it can import torch (skipped otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
OPS=${2:-"add relu"}
PY=${PY:-.venv/bin/python}
TORCH_PY=${TORCH_PY:-/usr/bin/python3}
export LAMINA_FORCE_CPU=1 LAMINA_NUM_THREADS=${LAMINA_NUM_THREADS:-1} OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
work=$(mktemp -d "${TMPDIR:-/tmp}/lamina_cg.XXXXXX")
trap 'rm -rf "$work"' EXIT

cat > "$work/marker.c" <<'C'
#include <valgrind/callgrind.h>
void lamina_cg_start(void) { CALLGRIND_START_INSTRUMENTATION; CALLGRIND_ZERO_STATS; }
void lamina_cg_stop(void) { CALLGRIND_STOP_INSTRUMENTATION; }
C
cc -O2 -shared -fPIC -o "$work/marker.so" "$work/marker.c"

# Ir (instructions executed) between start and stop for one (python, lib, op).
count() {
  local py=$1 lib=$2 op=$3 out="$work/cg.$2.$3.out"
  nice valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" \
    "$py" bench/callgrind_overhead.py "$lib" "$op" "$N" "$work/marker.so" >"$work/log.$lib.$op" 2>&1 ||
    { echo "valgrind failed for $lib $op:" >&2; tail -20 "$work/log.$lib.$op" >&2; return 1; }
  awk '/^totals:/ {t = $2} END {print t + 0}' "$out"
}

libs=("lamina:$PY" "numpy:$PY")
if "$TORCH_PY" -c "import torch" >/dev/null 2>&1; then libs+=("torch:$TORCH_PY"); fi

echo "callgrind, $N iterations per op, instructions per iteration (threads pinned to 1)"
printf '| %-7s | %-6s | %12s | %12s | %12s |\n' lib op "Ir/iter" "empty loop" "net Ir/op"
echo "|---|---|---|---|---|"
for entry in "${libs[@]}"; do
  lib=${entry%%:*} py=${entry#*:}
  base=$(count "$py" "$lib" empty)
  for op in $OPS; do
    total=$(count "$py" "$lib" "$op")
    awk -v t="$total" -v b="$base" -v n="$N" -v lib="$lib" -v op="$op" \
      'BEGIN { printf "| %-7s | %-6s | %12.0f | %12.0f | %12.0f |\n", lib, op, t / n, b / n, (t - b) / n }'
  done
done
