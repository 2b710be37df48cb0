#!/usr/bin/env bash
# Issue 20's accuracy check: 10-epoch test accuracy of d2l's lenet, lenet-bn and mlp-dropout on
# Fashion-MNIST over 3 seeds, with ember's app and with the PyTorch peer (bench/peers/
# peer_accuracy.py: the same models, init, lr, batch 256 and SGD). ember passes for a model when
# each of its 3 final accuracies lies within PyTorch's range over the same seeds widened by 0.01.
# Each ember run's peak RSS (GNU time's maximum resident set size) is recorded too: issue 20 asks
# for under 200 MB for a 10-epoch LeNet run.
#
#   bench/accuracy_seeds.sh [--build DIR] [--out FILE] [--threads N] [--epochs N] [--seeds "0 1 2"]
#                           [--pytorch-from FILE]
#
# Writes FILE (default bench/results/accuracy_seeds.json: every run's per-epoch accuracies and the
# verdicts) and prints a table. Takes about 15-25 minutes on 2 cores: run it on an idle machine.
# --pytorch-from takes PyTorch's runs from an earlier results file of this script instead of
# running them again (about 4 of every 5 minutes here): its seeds, epochs and thread count must be
# these, and the results file names it. Only the peer and torch decide those runs, not ember.
# Exit code 0 when every model is within the band, 1 otherwise, 2 on a usage error.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build/release"
out="$root/bench/results/accuracy_seeds.json"
threads=2
epochs=10
seeds="0 1 2"
data=/usr/share/datasets/fashion-mnist
pytorch_from=
command_args="$*"  # for the results file, before the options are shifted away
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --pytorch-from) pytorch_from=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "accuracy_seeds.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
app="$build/apps/softmax_regression/ember-softmax-regression"
if [[ ! -x "$app" ]]; then
  echo "accuracy_seeds.sh: no app at $app; build it (cmake --build $build --target softmax_regression) or pass --build DIR" >&2
  exit 2
fi
if [[ -n "$pytorch_from" && ! -r "$pytorch_from" ]]; then
  echo "accuracy_seeds.sh: cannot read --pytorch-from $pytorch_from" >&2
  exit 2
fi
python=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for model in lenet lenet-bn mlp-dropout; do
  for seed in $seeds; do
    echo "== $model, seed $seed: ember" >&2
    OMP_WAIT_POLICY=passive /usr/bin/time -f %M -o "$work/rss-$model-$seed.kb" "$app" --model "$model" --seed "$seed" --epochs "$epochs" --threads "$threads" \
      --data "$data" --quiet --metrics "$work/ember-$model-$seed.jsonl" > "$work/ember-$model-$seed.out"
    tail -n 1 "$work/ember-$model-$seed.out" >&2
    [[ -n "$pytorch_from" ]] && continue
    echo "== $model, seed $seed: pytorch" >&2
    "$python" "$root/bench/peers/peer_accuracy.py" --model "${model//-/_}" --seed "$seed" \
      --epochs "$epochs" --threads "$threads" --data "$data" > "$work/torch-$model-$seed.json"
  done
done

mkdir -p "$(dirname "$out")"
"$python" - "$work" "$out" "$seeds" "$build" "$root" "$command_args" "$epochs" "$threads" \
  "$pytorch_from" <<'PY'
import json, os, sys
work, out, seeds = sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3].split()]
epochs, threads, pytorch_from = int(sys.argv[7]), int(sys.argv[8]), sys.argv[9]
sys.path.insert(0, os.path.join(sys.argv[5], "bench"))
import provenance  # bench/provenance.py: commit, build, CPU and date, as every results file
WIDEN = 0.01
RSS_LIMIT_MB = {"lenet": 200.0, "lenet-bn": 200.0}  # issue 20: a 10-epoch LeNet run
earlier = None
if pytorch_from:
    with open(pytorch_from) as f:
        earlier = json.load(f)
build_type, flags = provenance.ember_build(sys.argv[4])
app = os.path.join(sys.argv[4], "apps/softmax_regression/ember-softmax-regression")
result = {"provenance": provenance.provenance(build_type, flags, provenance.EMBER_THREAD_BACKEND,
                                              app_version=provenance.app_version(app)),
          "command": "bench/accuracy_seeds.sh " + sys.argv[6], "widened_by": WIDEN, "models": {}}
if earlier:
    result["pytorch_from"] = {"file": pytorch_from, "provenance": earlier.get("provenance"),
                              "command": earlier.get("command")}
ok = True
print("%-12s %-28s %-28s %s" % ("model", "ember (seeds %s)" % ",".join(map(str, seeds)), "pytorch", "within?"))
for model in ("lenet", "lenet-bn", "mlp-dropout"):
    ember, torch = [], []
    for seed in seeds:
        with open(os.path.join(work, "ember-%s-%d.jsonl" % (model, seed))) as f:
            lines = [json.loads(l) for l in f if l.strip()]
        with open(os.path.join(work, "rss-%s-%d.kb" % (model, seed))) as f:
            rss_mb = int(f.read().split()[-1]) / 1024.0
        ember.append({"seed": seed, "test_accuracies": [l["test_acc"] for l in lines],
                      "seconds": sum(l["seconds"] for l in lines), "peak_rss_mb": rss_mb})
        if earlier:
            runs = [r for r in earlier["models"][model]["pytorch"] if r["seed"] == seed]
            if len(runs) != 1 or runs[0]["epochs"] != epochs or runs[0]["threads"] != threads:
                sys.exit("accuracy_seeds.sh: %s has no PyTorch run of %s, seed %d, %d epochs at %d "
                         "threads" % (pytorch_from, model, seed, epochs, threads))
            torch.append(runs[0])
        else:
            with open(os.path.join(work, "torch-%s-%d.json" % (model, seed))) as f:
                torch.append(json.load(f))
    e_final = [r["test_accuracies"][-1] for r in ember]
    t_final = [r["test_accuracies"][-1] for r in torch]
    low, high = min(t_final) - WIDEN, max(t_final) + WIDEN
    within = all(low <= a <= high for a in e_final)
    ok = ok and within
    result["models"][model] = {"ember": ember, "pytorch": torch, "ember_final": e_final,
                               "pytorch_final": t_final, "band": [low, high], "within": within}
    peak = max(r["peak_rss_mb"] for r in ember)
    if model in RSS_LIMIT_MB:
        result["models"][model]["peak_rss"] = {"max_mb": peak, "limit_mb": RSS_LIMIT_MB[model],
                                               "under": peak < RSS_LIMIT_MB[model]}
    print("%-12s %-28s %-28s %s" % (model, " ".join("%.4f" % a for a in e_final),
                                    " ".join("%.4f" % a for a in t_final),
                                    "yes" if within else "NO (band %.4f-%.4f)" % (low, high)))
    print("%-12s peak RSS of ember's runs: %.1f MB%s" % (
        "", peak, " (limit %g MB)" % RSS_LIMIT_MB[model] if model in RSS_LIMIT_MB else ""))
with open(out, "w") as f:
    json.dump(result, f, indent=1)
    f.write("\n")
print("wrote", out)
sys.exit(0 if ok else 1)
PY
