#!/usr/bin/env bash
# Builds ember and runs every check CI runs: formatting, the whole test suite with warnings as
# errors, the API documentation (Doxygen, zero warnings), a consumer project linked against the
# installed package, the installed app and the consumer on a CPU without AVX-512 (qemu-x86_64 -cpu
# Haswell) with the native run's figures, the OpenMP build (-DEMBER_THREADS=openmp: core and
# optim cases, the app's figures equal to the pool build's), the .deb packages (static and shared)
# installed and consumed (tests/package.sh), the suite again under AddressSanitizer +
# UndefinedBehaviorSanitizer, and the IDX and checkpoint fuzzers for a bounded time.
# Installs missing Debian packages first (as root; otherwise prints the apt-get line).
# Usage: tests/run.sh [--quick]   (--quick: the Release suite only)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
quick=false
[ "${1:-}" = "--quick" ] && quick=true
jobs=$(nproc)

packages=(g++ make cmake libxsimd-dev zlib1g-dev catch2 libcli11-dev libfmt-dev nlohmann-json3-dev
          libcairo2-dev pkg-config fonts-dejavu-core help2man dataset-fashion-mnist libxml2-utils
          graphviz libopenmpi-dev openmpi-bin)
$quick || packages+=(clang clang-format libclang-rt-14-dev qemu-user)
$quick || packages+=(dpkg-dev file pkgconf)  # tests/package.sh: cpack -G DEB, pkg-config
$quick || packages+=(doxygen)                 # the `docs` target: API documentation
# golden_regenerate: the golden files against PyTorch, on OpenBLAS (results within tolerance).
$quick || packages+=(python3-torch libopenblas0-pthread)
$quick || packages+=(ccache)  # the OpenMP build compiles only what differs from the first one
bash cmake/install-deps.sh "${packages[@]}"
if command -v ccache >/dev/null; then
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache CCACHE_BASEDIR="$root"
fi

# Each step prints the minutes:seconds since the start, so a slow step shows in CI's log.
started=$SECONDS
step() { printf '\n== [%d:%02d] %s\n' $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60)) "$*"; }

if ! $quick; then
  step "clang-format"
  files=$(git ls-files '*.h' '*.cpp' 2>/dev/null || find . -name '*.h' -o -name '*.cpp' | grep -v '^./build')
  clang-format --dry-run -Werror $files
  echo "all $(echo "$files" | wc -w) files formatted"
fi

step "build (Release, -Werror) and test"
cmake --preset ci >/dev/null
cmake --build build/ci -j"$jobs"
ctest --preset ci -j"$jobs"

$quick && exit 0

step "API documentation (Doxygen, zero warnings)"
# cmake/Doxyfile.in makes any warning (an undocumented public entity, a broken doc command) fail
# the `docs` target; the log names each one.
cmake -S . -B build/docs -DEMBER_BUILD_TESTS=OFF -DEMBER_BUILD_BENCH=OFF \
      -DEMBER_BUILD_APPS=OFF >/dev/null
if ! cmake --build build/docs --target docs || [ -s build/docs/docs/warnings.log ]; then
  cat build/docs/docs/warnings.log >&2
  exit 1
fi
echo "API documentation: build/docs/docs/html/index.html, no warnings"

step "install, and build a consumer project against the installed package"
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install build/ci --prefix "$prefix/install" >/dev/null
cmake -S tests/consumer -B "$prefix/consumer" -DCMAKE_PREFIX_PATH="$prefix/install" >/dev/null
cmake --build "$prefix/consumer" -j"$jobs"
"$prefix/consumer/consumer"
"$prefix/consumer/lenet" "$prefix" | tail -n 2  # LeNet: Adam, save and reload (issue 19)

step "the installed app and the consumer on a CPU without AVX-512 (qemu-x86_64 -cpu Haswell)"
# The default build runs on any x86-64 CPU and picks its kernels at run time (Note [ISA dispatch]
# in core/src/kernels/isa.h). The first epoch of the installed app on the real Fashion-MNIST,
# natively and emulated as a Haswell (AVX2 and FMA, no AVX-512), must give the same figures within
# the golden tolerances: loss rtol 1e-5 + atol 1e-6, accuracies within 2 of 60000 / 10000 images.
app="$prefix/install/bin/ember-softmax-regression"
app_args=(--epochs 1 --seed 0 --threads 2 --quiet)
# qemu warns on stderr about Haswell features its emulator lacks (TSX, PCID, ...): not used here.
haswell() { qemu-x86_64 -cpu Haswell "$@" 2> >(grep -v "TCG doesn't support" >&2); }
"$app" "${app_args[@]}" --metrics "$prefix/native.jsonl" | tail -n 1
t0=$(date +%s%N)
haswell "$app" "${app_args[@]}" --metrics "$prefix/haswell.jsonl" | tail -n 1 |
  tee "$prefix/haswell.txt"
echo "emulated run: $((($(date +%s%N) - t0) / 1000000)) ms"
grep -q "avx2 kernels" "$prefix/haswell.txt"  # the AVX2 path ran, not a fallback
haswell "$prefix/consumer/consumer" | tail -n 1
figure() { grep -o "\"$2\": *[-0-9.e+]*" "$1" | head -n 1 | sed 's/.*: *//'; }
for key in train_loss train_acc test_acc; do
  native=$(figure "$prefix/native.jsonl" $key)
  haswell=$(figure "$prefix/haswell.jsonl" $key)
  echo "$key: native $native, Haswell $haswell"
  awk -v a="$native" -v b="$haswell" -v key=$key 'BEGIN {
    d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b
    tol = key == "train_loss" ? 1e-6 + 1e-5 * m : (key == "train_acc" ? 2 / 60000 : 2 / 10000)
    if (a == "" || b == "" || d > tol) { print key ": differs beyond " tol; exit 1 }
  }'
done

step "parallel_for on OpenMP (-DEMBER_THREADS=openmp): determinism, golden, the app's figures"
# The OpenMP backend runs the same pieces as the pool (Note [parallel_for on OpenMP] in
# core/src/parallel.cpp): the core cases (parallel_for, set_num_threads, the golden ops), the optim
# cases (bitwise equal at 1, 2, 3 and 8 threads; SGD against its golden files) and two epochs of
# the app at 1 and 2 threads, whose figures must equal the pool build's bit for bit.
cmake --preset openmp >/dev/null
cmake --build build/openmp -j"$jobs" --target test_core test_optim core_alone readme_example \
  softmax_regression
ctest --preset openmp -j"$jobs" -L '^(core|optim)$'
for threads in 1 2; do
  for build in ci openmp; do
    build/$build/apps/softmax_regression/ember-softmax-regression --epochs 2 --seed 0 \
      --threads $threads --quiet --metrics "$prefix/$build-$threads.jsonl" >/dev/null
  done
  for key in train_loss train_acc test_acc; do
    pool=$(grep -o "\"$key\": *[-0-9.e+]*" "$prefix/ci-$threads.jsonl" | tr '\n' ' ')
    openmp=$(grep -o "\"$key\": *[-0-9.e+]*" "$prefix/openmp-$threads.jsonl" | tr '\n' ' ')
    echo "$threads threads, $key: pool $pool| openmp $openmp"
    [ -n "$pool" ] && [ "$pool" = "$openmp" ] || { echo "the OpenMP build's $key differs" >&2; exit 1; }
  done
done

step "packages: .deb (static and shared) installed, consumers with find_package and pkg-config"
bash tests/package.sh

step "AddressSanitizer + UndefinedBehaviorSanitizer"
# At -O1 -g1 (half the compile time of -O2 -g), every case at the machine's best instruction set;
# the reruns at each lower one (label isa) ran in the Release suite above, and the app's cases
# still run every instruction set under the sanitizers ("the kernels of every instruction set").
cmake --preset sanitize >/dev/null
cmake --build build/sanitize -j"$jobs"
ctest --preset sanitize -j"$jobs"

if [ -x tests/fuzz/run.sh ] || [ -f tests/fuzz/run.sh ]; then
  step "fuzzers: IDX parser, checkpoint and safetensors loaders (30 s each; kernels unsanitized)"
  bash tests/fuzz/run.sh 30
fi
step "all checks passed"
