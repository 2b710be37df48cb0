#!/usr/bin/env bash
# Packaging checks, run by tests/run.sh (full mode): for the static (default) and the shared
# (BUILD_SHARED_LIBS=ON) library, an install build (no tests, no benchmarks) packaged with
# `cpack -G DEB`; the .deb installed with dpkg -i (as root; otherwise unpacked with dpkg-deb -x
# into a temporary root); the consumer project tests/consumer built against it with
# find_package(ember) and with `pkg-config --cflags --libs ember`, and run. Then ember as a
# sub-project: tests/subproject, which also checks that ember keeps the parent's build type and
# installs nothing of its own.
# Usage: tests/package.sh   (from anywhere; uses a temporary folder, removes what it installs)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc)
scratch=$(mktemp -d)
installed=false
cleanup() {
  if $installed; then dpkg -P ember >/dev/null; fi
  rm -rf "$scratch"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
fail() {
  echo "package.sh: $*" >&2
  exit 1
}

for kind in static shared; do
  shared=OFF
  [ $kind = shared ] && shared=ON
  # Beside build/ci and with its flags (-Werror included), so that ccache (tests/run.sh) serves
  # the static build's objects from the CI build's: its paths relative to the sources are the same.
  build="$root/build/package-$kind"
  rm -rf "$build"
  step "$kind library: install build, cpack -G DEB"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=$shared -DEMBER_WERROR=ON \
    -DEMBER_BUILD_TESTS=OFF -DEMBER_BUILD_BENCH=OFF -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
  cmake --build "$build" -j"$jobs"
  (cd "$build" && cpack -G DEB >/dev/null)
  deb=$(ls "$build"/ember_*.deb)
  dpkg-deb --field "$deb" Package Version Depends
  contents=$(dpkg-deb --contents "$deb")
  for want in include/ember/ember.h include/ember/version.h include/ember/core/tensor.h \
    pkgconfig/ember.pc cmake/ember/emberConfig.cmake bin/ember-softmax-regression bin/ember-train \
    include/ember/distributed/ddp.h pkgconfig/ember-distributed.pc \
    cmake/ember/emberDistributedTargets.cmake; do
    grep -q "$want" <<<"$contents" || fail "$deb lacks $want"
  done
  if [ $kind = shared ]; then
    grep -q 'libember.so.0.1.0$' <<<"$contents" || fail "$deb lacks libember.so.0.1.0"
    grep -q 'libember.so.0.1 -> libember.so.0.1.0' <<<"$contents" || fail "$deb lacks the SONAME link"
    grep -q 'libember_distributed.so.0.1.0$' <<<"$contents" ||
      fail "$deb lacks libember_distributed.so.0.1.0"
    # dpkg-shlibdeps found the shared libraries libember.so needs; OpenMP is not one (own pool).
    depends=$(dpkg-deb --field "$deb" Depends)
    grep -q zlib1g <<<"$depends" || fail "$deb does not depend on zlib1g"
    ! grep -q libgomp <<<"$depends" || fail "$deb depends on libgomp, which ember no longer uses"
  else
    grep -q 'libember_core.a$' <<<"$contents" || fail "$deb lacks libember_core.a"
    grep -q 'libember_distributed.a$' <<<"$contents" || fail "$deb lacks libember_distributed.a"
  fi

  # Install it: dpkg -i as root; otherwise unpack it and point CMake, pkg-config and the loader
  # at the unpacked tree (ember's CMake package is relocatable; pkg-config's sysroot prefixes it).
  prefix_args=()
  if [ "$(id -u)" -eq 0 ]; then
    step "$kind library: dpkg -i $(basename "$deb")"
    dpkg -i "$deb" >/dev/null
    installed=true
    usr=/usr
  else
    step "$kind library: not root, so dpkg-deb -x into $scratch/root-$kind"
    dpkg-deb -x "$deb" "$scratch/root-$kind"
    usr="$scratch/root-$kind/usr"
    prefix_args=(-DCMAKE_PREFIX_PATH="$usr")
    export PKG_CONFIG_SYSROOT_DIR="$scratch/root-$kind"
    export PKG_CONFIG_PATH="$usr/lib/$(gcc -print-multiarch)/pkgconfig"
    export LD_LIBRARY_PATH="$usr/lib/$(gcc -print-multiarch)"
  fi

  step "$kind library: consumer with find_package(ember)"
  cmake -S tests/consumer -B "$scratch/consumer-$kind" "${prefix_args[@]}" >/dev/null
  cmake --build "$scratch/consumer-$kind" -j"$jobs"
  "$scratch/consumer-$kind/consumer" >/dev/null
  "$scratch/consumer-$kind/lenet" "$scratch" >/dev/null
  echo "consumers (find_package) run: consumer, lenet"

  step "$kind library: consumer with pkg-config"
  echo "pkg-config --cflags --libs ember: $(pkg-config --cflags --libs ember)"
  # shellcheck disable=SC2046  # the flags are words
  c++ $(pkg-config --cflags ember) tests/consumer/main.cpp -o "$scratch/consumer-pc-$kind" \
    $(pkg-config --libs ember)
  "$scratch/consumer-pc-$kind" >/dev/null
  echo "consumer (pkg-config) runs"
  step "$kind library: ember::distributed with find_package(ember) and pkg-config"
  cmake -S tests/consumer_distributed -B "$scratch/consumer-distributed-$kind" \
    "${prefix_args[@]}" >/dev/null
  cmake --build "$scratch/consumer-distributed-$kind" -j"$jobs"
  "$scratch/consumer-distributed-$kind/consumer_distributed"
  echo "pkg-config --cflags --libs ember-distributed: $(pkg-config --cflags --libs ember-distributed)"
  # shellcheck disable=SC2046  # the flags are words
  c++ $(pkg-config --cflags ember-distributed) tests/consumer_distributed/main.cpp \
    -o "$scratch/consumer-distributed-pc-$kind" $(pkg-config --libs ember-distributed)
  "$scratch/consumer-distributed-pc-$kind" >/dev/null
  echo "ember::distributed consumers (find_package, pkg-config) run"

  if [ $kind = shared ]; then
    want=$(readlink -f "$usr/lib/$(gcc -print-multiarch)/libember.so.0.1")
    for program in "$scratch/consumer-$kind/consumer" "$scratch/consumer-$kind/lenet" \
      "$scratch/consumer-pc-$kind"; do
      got=$(ldd "$program" | awk '$1 == "libember.so.0.1" { print $3 }')
      [ -n "$got" ] && [ "$(readlink -f "$got")" = "$want" ] ||
        fail "$program does not run on $want (ldd: ${got:-no libember.so.0.1})"
    done
    echo "the consumers run on $usr/lib/.../libember.so.0.1"
  fi
  "$usr/bin/ember-softmax-regression" --help >/dev/null
  echo "the installed app runs"

  if $installed; then
    dpkg -P ember >/dev/null
    installed=false
  fi
  unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_PATH LD_LIBRARY_PATH
done

step "ember as a sub-project (FetchContent) of tests/subproject, no build type given"
cmake -S tests/subproject -B "$scratch/subproject" >/dev/null
cmake --build "$scratch/subproject" -j"$jobs"
"$scratch/subproject/parent"
cmake --install "$scratch/subproject" --prefix "$scratch/subproject-install" >/dev/null
extra=$(cd "$scratch/subproject-install" && find . -type f ! -path ./bin/parent)
[ -z "$extra" ] || fail "the parent's install also installed ember's files: $extra"
echo "the parent's install holds only its own program"
