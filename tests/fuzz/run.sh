#!/usr/bin/env bash
# Fuzzes the IDX parser, the checkpoint loader and the safetensors loader for a bounded time
# each: builds tests/fuzz/fuzz_idx, tests/fuzz/fuzz_checkpoint and tests/fuzz/fuzz_safetensors
# with clang++ -fsanitize=fuzzer,address,undefined (a separate Clang build of ember with ASan and
# UBSan), then runs libFuzzer from the seed corpora in tests/fuzz/corpus,
# tests/fuzz/corpus_checkpoint and tests/fuzz/corpus_safetensors (new inputs go to a temp folder,
# so the checked-in corpora stay as they are).
#
#   tests/fuzz/run.sh [SECONDS=60] [BUILD_DIR=build/fuzz]      (SECONDS per target)
#
# The build folder lives inside this checkout by default, so two checkouts never share a CMake cache.
#
# Memory is part of the contract: the checkpoint and safetensors loaders may allocate only what the
# input's size allows (Note [bounded loading], Note [hostile safetensors]), so their runs fail on
# any single allocation above 64 MB (-malloc_limit_mb; inputs are at most 64 KB) or a peak RSS
# above 512 MB (-rss_limit_mb).
#
# Exits non-zero when libFuzzer finds a crash, leak, timeout, memory excess or sanitizer report;
# the input that triggered it is kept in BUILD_DIR/fuzz-artifacts/ (reproduce:
# BUILD_DIR/tests/fuzz/fuzz_checkpoint FILE, or fuzz_safetensors FILE).
set -euo pipefail

seconds=${1:-60}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${2:-$repo/build/fuzz}

command -v clang++ >/dev/null || { echo "run.sh: clang++ not found (apt-get install clang)" >&2; exit 1; }

mkdir -p "$build"
cmake -S "$repo" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DEMBER_SANITIZE=ON -DEMBER_SANITIZE_KERNELS=OFF -DEMBER_NATIVE=OFF -DEMBER_BUILD_APPS=OFF -DEMBER_BUILD_BENCH=OFF \
  > "$build/configure.log" 2>&1 || { cat "$build/configure.log" >&2; exit 1; }
cmake --build "$build" --target fuzz_idx fuzz_checkpoint fuzz_safetensors -j2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/fuzz-artifacts" "$work/idx" "$work/checkpoint" "$work/safetensors"

echo "fuzzing the IDX parser for ${seconds}s"
"$build/tests/fuzz/fuzz_idx" "$work/idx" "$here/corpus" \
  -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$build/fuzz-artifacts/" -print_final_stats=1
echo "fuzz_idx: no crash in ${seconds}s"

echo "fuzzing the checkpoint loader for ${seconds}s"
"$build/tests/fuzz/fuzz_checkpoint" "$work/checkpoint" "$here/corpus_checkpoint" \
  -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=512 -malloc_limit_mb=64 \
  -artifact_prefix="$build/fuzz-artifacts/" -print_final_stats=1
echo "fuzz_checkpoint: no crash, no memory excess in ${seconds}s"

echo "fuzzing the safetensors loader for ${seconds}s"
"$build/tests/fuzz/fuzz_safetensors" "$work/safetensors" "$here/corpus_safetensors" \
  -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=512 -malloc_limit_mb=64 \
  -artifact_prefix="$build/fuzz-artifacts/" -print_final_stats=1
echo "fuzz_safetensors: no crash, no memory excess in ${seconds}s"
