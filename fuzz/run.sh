#!/usr/bin/env bash
# Builds the safetensors parser's libFuzzer target with clang and runs it for FUZZ_SECONDS (default 30)
# from the seed corpus fuzz/corpus. A crash, leak, sanitizer report or timeout exits non-zero; the
# failing input is left in $FUZZ_BUILD (default build/fuzz) as crash-* / leak-* / timeout-*.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${FUZZ_BUILD:-build/fuzz}
secs=${FUZZ_SECONDS:-30}
cmake -S fuzz -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$build" ${JOBS:+-j"$JOBS"} fuzz_safetensors
mkdir -p "$build/corpus"  # inputs the fuzzer finds go here; fuzz/corpus stays the checked-in seeds
"$build/fuzz_safetensors" -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
  -dict=fuzz/safetensors.dict -artifact_prefix="$build/" -print_final_stats=1 "$build/corpus" fuzz/corpus
echo "fuzz_safetensors: no crash in ${secs}s"
