#!/usr/bin/env bash
# Installs the Debian packages that ember needs and says what it installs. As root it runs
# apt-get; otherwise it prints the exact apt-get line to run and stops.
# Usage: cmake/install-deps.sh PACKAGE...   (sourced by apps/train.sh and tests/run.sh)
set -euo pipefail

missing=()
for package in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "ember: all needed Debian packages are installed."
  exit 0
fi

line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "ember: missing Debian packages: ${missing[*]}" >&2
  echo "ember: run this as root, then try again:" >&2
  echo "  sudo apt-get update && sudo $line" >&2
  exit 1
fi
echo "ember: installing missing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "ember: installed ${missing[*]}."
