#!/usr/bin/env bash
# How far PyTorch's own 10-epoch test accuracies move when only its rounding changes: the PyTorch
# peer of bench/accuracy_seeds.sh (bench/peers/peer_accuracy.py: the same models, seeds and
# settings) run as on an x86-64 CPU without AVX (ATEN_CPU_CAPABILITY=default,
# ONEDNN_MAX_CPU_ISA=SSE41, OPENBLAS_CORETYPE=Prescott). The draws are the same, and only
# rounding differs: the convolutions' and products' summation orders, and uniform_'s
# x (to - from) + from, which the AVX2 and AVX-512 builds fuse into one multiply-add (so an init
# weight may differ in its last bit). Run as on an AVX2 CPU instead (avx2, AVX2, Haswell), its
# LeNet and LeNet-BN finals were those of this CPU to the digit: not a perturbation.
# Compare its finals with bench/results/accuracy_seeds.json's PyTorch band.
#
#   bench/pytorch_isa_spread.sh [--out FILE] [--threads N] [--epochs N] [--seeds "0 1 2"]
#                               [--models "lenet_bn mlp_dropout lenet"]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/bench/results/pytorch_isa_spread.jsonl"
threads=2 epochs=10 seeds="0 1 2" models="lenet_bn mlp_dropout lenet"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "pytorch_isa_spread.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
: > "$out"
for model in $models; do
  for seed in $seeds; do
    echo "== $model, seed $seed: PyTorch as on a CPU without AVX" >&2
    ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=SSE41 OPENBLAS_CORETYPE=Prescott \
      /usr/bin/python3 "$root/bench/peers/peer_accuracy.py" --model "$model" --seed "$seed" \
      --epochs "$epochs" --threads "$threads" |
      /usr/bin/python3 -c 'import json, sys, subprocess
row = json.loads(sys.stdin.read())
row["env"] = "ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=SSE41 OPENBLAS_CORETYPE=Prescott"
row["commit"] = subprocess.run(["git", "-C", sys.argv[1], "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
row["cpu"] = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
print(json.dumps(row))' "$root" >> "$out"
    tail -n 1 "$out" | /usr/bin/python3 -c 'import json, sys; r = json.loads(sys.stdin.read()); print(r["model"], r["seed"], r["test_accuracies"][-1])' >&2
  done
done
echo "wrote $out" >&2
