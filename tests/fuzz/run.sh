#!/usr/bin/env bash
# Fuzzes the IDX parser for a bounded time: builds tests/fuzz/fuzz_idx with
# clang++ -fsanitize=fuzzer,address,undefined (a separate Clang build of ember_core with ASan and
# UBSan), then runs libFuzzer from the seed corpus in tests/fuzz/corpus (new inputs go to a temp
# folder, so the checked-in corpus stays as is).
#
#   tests/fuzz/run.sh [SECONDS=60] [BUILD_DIR=build/fuzz]
#
# The build folder lives inside this checkout by default, so two checkouts never share a CMake cache.
#
# Exits non-zero when libFuzzer finds a crash, leak, timeout or sanitizer report; the input that
# triggered it is kept in BUILD_DIR/fuzz-artifacts/ (reproduce: BUILD_DIR/tests/fuzz/fuzz_idx FILE).
set -euo pipefail

seconds=${1:-60}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${2:-$repo/build/fuzz}

command -v clang++ >/dev/null || { echo "run.sh: clang++ not found (apt-get install clang)" >&2; exit 1; }

mkdir -p "$build"
cmake -S "$repo" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release \
  -DEMBER_SANITIZE=ON -DEMBER_NATIVE=OFF -DEMBER_BUILD_APPS=OFF -DEMBER_BUILD_BENCH=OFF \
  > "$build/configure.log" 2>&1 || { cat "$build/configure.log" >&2; exit 1; }
cmake --build "$build" --target fuzz_idx -j2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/fuzz-artifacts"

echo "fuzzing the IDX parser for ${seconds}s"
"$build/tests/fuzz/fuzz_idx" "$work" "$here/corpus" \
  -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$build/fuzz-artifacts/" -print_final_stats=1
echo "fuzz_idx: no crash in ${seconds}s"
