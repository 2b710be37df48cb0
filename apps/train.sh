#!/usr/bin/env bash
# Builds ember (Release) and trains d2l's softmax regression on Fashion-MNIST.
# Installs missing Debian packages first (as root; otherwise prints the apt-get line).
# Arguments go to the app: apps/train.sh --epochs 5 --plot curves.svg
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

bash "$root/cmake/install-deps.sh" g++ make cmake libxsimd-dev zlib1g-dev libcli11-dev libfmt-dev nlohmann-json3-dev help2man \
  dataset-fashion-mnist
cmake --preset release -S "$root" -DEMBER_BUILD_TESTS=OFF -DEMBER_BUILD_BENCH=OFF >/dev/null
cmake --build "$root/build/release" --target softmax_regression -j"$(nproc)"
exec "$root/build/release/apps/softmax_regression/ember-softmax-regression" "$@"
