#!/usr/bin/env bash
# bench/run.sh: ember and PyTorch side by side. Builds ember's benchmarks in Release, runs each
# ember program and then its PyTorch peer (bench/peers/; matmul, kernels and pipeline row by row,
# each ember row then its PyTorch row: Note [Rows side by side] below), and writes
#   bench/results/ember_<program>.json, pytorch_<program>.json   the raw results
#   bench/results/report.json, report.md                         the joined table with targets
# then prints the summary table and, when writing bench/results, regenerates the README figures
# quoted from it (bench/readme_figures.py --write). See bench/README.md.
#
# usage: bench/run.sh [--install] [--quick] [--only NAME]... [--build-dir DIR] [--skip-build]
#                     [--results DIR] [--min-time-ms MS]
#   --install      apt-get install what the PyTorch side needs (python3-torch, OpenBLAS's
#                  libopenblas0-pthread) when missing; says what it installs
#   --quick        a tenth of the time budget (smoke test; numbers are noisy)
#   --only NAME    run only this program (matmul, kernels, data, pipeline); repeatable
#   --build-dir    ember's build dir (default: build-bench next to the source tree's build dirs)
#   --skip-build   use the programs already built in the build dir
#   --results      where the JSON and Markdown go (default: bench/results)
#   --min-time-ms  time budget per result (default 300)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"
BUILD_DIR="$ROOT/build-bench"
RESULTS="$BENCH/results"
PYTHON=/usr/bin/python3
INSTALL=0
QUICK=0
SKIP_BUILD=0
MIN_TIME_MS=""
ONLY=()
PROGRAM_TIMEOUT=300  # seconds per program and side: a runaway run cannot hold the suite

while [[ $# -gt 0 ]]; do
  case "$1" in
    --install) INSTALL=1 ;;
    --quick) QUICK=1 ;;
    --only) ONLY+=("${2#bench_}"); shift ;;
    --build-dir) BUILD_DIR="$(realpath -m "$2")"; shift ;;
    --skip-build) SKIP_BUILD=1 ;;
    --results) RESULTS="$(realpath -m "$2")"; shift ;;
    --min-time-ms) MIN_TIME_MS="$2"; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

PROGRAMS=(matmul kernels data pipeline)
if [[ ${#ONLY[@]} -gt 0 ]]; then PROGRAMS=("${ONLY[@]}"); fi
for p in "${PROGRAMS[@]}"; do
  if [[ ! -f "$BENCH/peers/peer_$p.py" ]]; then
    echo "run.sh: no program '$p' (choose from matmul kernels data pipeline)" >&2
    exit 2
  fi
done

say() { printf '\n== [%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
T_START=$(date +%s)
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- The PyTorch side: torch and OpenBLAS -------------------------------------------------------
APT_UPDATED=0
apt_install() {
  if [[ $APT_UPDATED -eq 0 ]]; then apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

if ! "$PYTHON" -c 'import torch' 2>/dev/null; then
  if [[ $INSTALL -eq 1 ]]; then
    say "installing python3-torch (Debian's PyTorch, for the peers only)"
    apt_install python3-torch
  else
    echo "run.sh: $PYTHON cannot import torch; rerun with --install (apt-get install python3-torch)" >&2
    exit 1
  fi
fi

# Debian's torch links libblas.so.3, which the alternatives system points at one BLAS. The peers
# are given OpenBLAS through LD_LIBRARY_PATH (so the system-wide choice does not matter and is
# not changed); each peer reports the BLAS it actually mapped.
ALTS=(libblas.so.3-x86_64-linux-gnu liblapack.so.3-x86_64-linux-gnu)
OPENBLAS_DIR="${EMBER_OPENBLAS_DIR:-/usr/lib/x86_64-linux-gnu/openblas-pthread}"  # override: a copy elsewhere
if [[ ! -e "$OPENBLAS_DIR/libblas.so.3" ]]; then
  if [[ $INSTALL -eq 1 ]]; then
    declare -A before mode
    for alt in "${ALTS[@]}"; do
      before[$alt]="$(update-alternatives --query "$alt" 2>/dev/null | sed -n 's/^Value: //p')"
      mode[$alt]="$(update-alternatives --query "$alt" 2>/dev/null | sed -n 's/^Status: //p')"
    done
    say "installing libopenblas0-pthread (OpenBLAS for PyTorch's peers)"
    apt_install libopenblas0-pthread
    for alt in "${ALTS[@]}"; do
      after="$(update-alternatives --query "$alt" 2>/dev/null | sed -n 's/^Value: //p')"
      if [[ -n "${before[$alt]}" && "${before[$alt]}" != "$after" ]]; then
        # The package's postinst switched the system-wide choice (auto mode picks the highest
        # priority). Put it back: only the peers need OpenBLAS, and they get it via
        # LD_LIBRARY_PATH.
        update-alternatives --set "$alt" "${before[$alt]}" >/dev/null
        echo "run.sh: installing OpenBLAS switched the system's $alt alternative to $after;" \
             "restored it to ${before[$alt]} (it was in ${mode[$alt]} mode, now manual). To let" \
             "OpenBLAS be the system's: update-alternatives --auto $alt" >&2
      fi
    done
  fi
fi
PEER_ENV=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
BLAS_NOTE="OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for the PyTorch runs (env -u)"
if [[ -e "$OPENBLAS_DIR/libblas.so.3" ]]; then
  PEER_ENV+=("LD_LIBRARY_PATH=$OPENBLAS_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
  BLAS_NOTE="$BLAS_NOTE; PyTorch given OpenBLAS (libopenblas0-pthread) via LD_LIBRARY_PATH=$OPENBLAS_DIR, OpenBLAS's thread count set with torch's"
else
  echo "run.sh: WARNING: OpenBLAS (libopenblas0-pthread) is not installed, so PyTorch uses the" \
       "system libblas.so.3 ($(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null))." \
       "Its matmul numbers are then not the issue's baseline. Rerun with --install." >&2
  BLAS_NOTE="$BLAS_NOTE; WARNING: OpenBLAS not installed, PyTorch used the system libblas.so.3"
fi

# --- Build ember (Release, its own build dir) ---------------------------------------------------
if [[ $SKIP_BUILD -eq 0 ]]; then
  say "building ember's benchmarks (Release) in $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DEMBER_BUILD_TESTS=OFF \
    -DEMBER_BUILD_APPS=OFF -DEMBER_BUILD_BENCH=ON >/dev/null
  targets=()
  for p in "${PROGRAMS[@]}"; do
    if [[ -f "$BENCH/bench_$p.cpp" ]]; then targets+=(--target "bench_$p"); fi
  done
  if [[ ${#targets[@]} -gt 0 ]]; then
    # Keep going past a program that does not build: the others still run.
    cmake --build "$BUILD_DIR" "${targets[@]}" -j"$(nproc)" -- -k 2>&1 | tail -n 30 >&2 || true
  fi
fi
T_BUILT=$(date +%s)

# --- Run ----------------------------------------------------------------------------------------
mkdir -p "$RESULTS"
LOAD_BUILT="$(cut -d' ' -f1-3 /proc/loadavg)"
if awk -v l="${LOAD_BUILT%% *}" 'BEGIN { exit !(l > 1.0) }'; then
  echo "run.sh: WARNING: load average $LOAD_BUILT on $(nproc) cores: other work is running, so the" \
       "numbers (the 2-thread ones most) will be noisy. Run on a quiet machine for the record." >&2
fi
COMMON=()
if [[ $QUICK -eq 1 ]]; then COMMON+=(--quick); fi
if [[ -n "$MIN_TIME_MS" ]]; then COMMON+=(--min-time-ms "$MIN_TIME_MS"); fi

# Note [Rows side by side]: this VM's speed drifts by 25% and more over minutes, and each side
# used to run all its rows in one go, minutes apart, so one side could be measured in a slow
# phase and the other in a fast one (the same code's LeNet ratio was 4.1x in one run and 7.5x ten
# minutes later). The programs with targets are therefore run one row at a time, ember's row and
# then PyTorch's, each a process of its own (--list gives the names, --name picks one, the peer
# takes that row's file as --names-from); bench/merge_results.py joins the rows into the usual
# files. A process start per row costs a few seconds (PyTorch's import).
INTERLEAVED=(matmul kernels pipeline)
PIECES=$(mktemp -d)
trap 'rm -rf "$PIECES"' EXIT

# run_side OUT CMD...: runs one side's program into OUT (JSON), within the time limit; 1 if it
# failed or timed out (OUT then absent).
run_side() {
  local out=$1
  shift
  if timeout "$PROGRAM_TIMEOUT" "$@" >"$out.tmp"; then
    mv "$out.tmp" "$out"
  else
    echo "run.sh: $* failed or timed out (exit $?)" >&2
    rm -f "$out.tmp"
    return 1
  fi
}

for p in "${PROGRAMS[@]}"; do
  prog="bench_$p"
  ember_json="$RESULTS/ember_$prog.json"
  torch_json="$RESULTS/pytorch_$prog.json"
  rm -f "$ember_json" "$torch_json"
  exe="$BUILD_DIR/bench/$prog"
  if [[ " ${INTERLEAVED[*]} " == *" $p "* && -x "$exe" ]]; then
    say "ember and pytorch, $prog row by row (Note [Rows side by side]) ${COMMON[*]}"
    rm -f "$PIECES"/*
    i=0
    while IFS= read -r name; do
      i=$((i + 1))
      e="$PIECES/ember_$i.json"
      say "  $name"
      run_side "$e" "$exe" "${COMMON[@]}" --name "$name" || continue
      run_side "$PIECES/pytorch_$i.json" "${PEER_ENV[@]}" "$PYTHON" "$BENCH/peers/peer_$p.py" \
        "${COMMON[@]}" --names-from "$e" || true
    done < <("$exe" --list)
    "$PYTHON" "$BENCH/merge_results.py" "$ember_json" "$PIECES"/ember_*.json || true
    "$PYTHON" "$BENCH/merge_results.py" "$torch_json" "$PIECES"/pytorch_*.json || true
    continue
  fi
  names=()
  if [[ -x "$exe" ]]; then
    args=()
    # Programs built on bench/harness.h's Report share its command line; others get none.
    if grep -q 'bench::Report' "$BENCH/$prog.cpp" 2>/dev/null; then args=("${COMMON[@]}"); fi
    say "ember   $prog ${args[*]}"
    if timeout "$PROGRAM_TIMEOUT" "$exe" "${args[@]}" >"$ember_json.tmp"; then
      mv "$ember_json.tmp" "$ember_json"
      names=(--names-from "$ember_json")
    else
      echo "run.sh: $prog failed or timed out (exit $?); its ember column stays empty" >&2
      rm -f "$ember_json.tmp"
    fi
  else
    echo "run.sh: $exe was not built; its ember column stays empty" >&2
  fi
  say "pytorch peers/peer_$p.py ${COMMON[*]}"
  if timeout "$PROGRAM_TIMEOUT" "${PEER_ENV[@]}" "$PYTHON" "$BENCH/peers/peer_$p.py" \
      "${COMMON[@]}" "${names[@]}" >"$torch_json.tmp"; then
    mv "$torch_json.tmp" "$torch_json"
  else
    echo "run.sh: peer_$p.py failed or timed out (exit $?); its PyTorch column stays empty" >&2
    rm -f "$torch_json.tmp"
  fi
done
T_END=$(date +%s)

NOTE="Run $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores: build $((T_BUILT - T_START)) s, benchmarks $((T_END - T_BUILT)) s; load average before the benchmarks $LOAD_BUILT, after $(cut -d' ' -f1-3 /proc/loadavg)."
NOTE="$NOTE $BLAS_NOTE."
NOTE="$NOTE Row by row, each ember row then its PyTorch row (Note [Rows side by side] in bench/run.sh): ${INTERLEAVED[*]}."
if [[ $QUICK -eq 1 ]]; then NOTE="$NOTE Quick mode (--quick): a tenth of the time budget, noisy."; fi
say "report"
"$PYTHON" "$BENCH/report.py" "$RESULTS" --env-note "$NOTE"
echo >&2
echo "Full table: $RESULTS/report.md; JSON: $RESULTS/report.json" >&2
if [[ "$RESULTS" == "$(realpath -m "$BENCH/results")" ]]; then
  # The READMEs quote figures from the committed results only (bench/readme_figures.py): keep
  # them in step with what was just written. Commit bench/results and the READMEs together.
  "$PYTHON" "$BENCH/readme_figures.py" --write >&2
fi
