#!/usr/bin/env bash
# Builds the safetensors parser's libFuzzer target with clang and runs it for FUZZ_SECONDS (default 30),
# then the .pt reader's atheris target for as long, from the seed corpora fuzz/corpus and
# fuzz/pt_corpus. A crash, leak, sanitizer report, uncaught exception or timeout exits non-zero;
# the failing input is left in $FUZZ_BUILD (default build/fuzz) as crash-* / pt-crash-* / ....
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

# The reader of PyTorch's .pt files (python/lamina/serialization.py) under atheris, for as long,
# against the installed package (make test-fuzz runs make python first).
py=${PY:-.venv/bin/python}
mkdir -p "$build/pt_corpus"
if ! LAMINA_FORCE_CPU=1 "$py" fuzz/fuzz_pt_load.py -max_total_time="$secs" -max_len=8192 -timeout=10 \
  -rss_limit_mb=2048 -artifact_prefix="$build/pt-" -print_final_stats=1 "$build/pt_corpus" fuzz/pt_corpus \
  >"$build/pt_fuzz.log" 2>&1; then
  grep -v "^INFO: Instrumenting\|leaked\|^ - \|^nanobind: " "$build/pt_fuzz.log" | tail -40
  exit 1
fi
grep "^Done\|DONE" "$build/pt_fuzz.log" | tail -1
echo "fuzz_pt_load: no crash in ${secs}s"
