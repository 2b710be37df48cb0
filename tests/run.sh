#!/usr/bin/env bash
# Builds ember and runs every check CI runs: formatting, the whole test suite with warnings as
# errors, a consumer project linked against the installed package, the .deb packages (static and
# shared) installed and consumed (tests/package.sh), the suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer, and the IDX and checkpoint fuzzers for a bounded
# time.
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
$quick || packages+=(clang clang-format libclang-rt-14-dev)
$quick || packages+=(dpkg-dev file pkgconf)  # tests/package.sh: cpack -G DEB, pkg-config
bash cmake/install-deps.sh "${packages[@]}"

step() { printf '\n== %s\n' "$*"; }

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

step "install, and build a consumer project against the installed package"
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install build/ci --prefix "$prefix/install" >/dev/null
cmake -S tests/consumer -B "$prefix/consumer" -DCMAKE_PREFIX_PATH="$prefix/install" >/dev/null
cmake --build "$prefix/consumer" -j"$jobs"
"$prefix/consumer/consumer"

step "packages: .deb (static and shared) installed, consumers with find_package and pkg-config"
bash tests/package.sh

step "AddressSanitizer + UndefinedBehaviorSanitizer"
cmake --preset sanitize >/dev/null
cmake --build build/sanitize -j"$jobs"
ctest --preset sanitize -j"$jobs"

if [ -x tests/fuzz/run.sh ] || [ -f tests/fuzz/run.sh ]; then
  step "fuzzers: IDX parser and checkpoint loader (60 s each)"
  bash tests/fuzz/run.sh 60
fi
step "all checks passed"
