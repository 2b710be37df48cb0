"""Medians of the rounds' medians (ms), old (57128e4, main) against new (9954d13, conv_images_forward.patch; not kept), per row."""
import collections
import glob
import json
import statistics

rows = collections.defaultdict(lambda: collections.defaultdict(list))
accuracy = collections.defaultdict(list)  # row -> every run's per-epoch test accuracies
for path in sorted(glob.glob("*_r*.json")):
    side = {"gemm": "old", "c1f": "new"}[path.split("_")[1]]
    for row in json.load(open(path))["results"]:
        rows[(row["name"], row["threads"])][side].append(row["median_ms"])
        if "test_accuracies" in row:
            accuracy[row["name"]].append(row["test_accuracies"])
print("| row | threads | old | new | old / new | old rounds | new rounds |")
print("|---|---|---|---|---|---|---|")
for (name, threads), sides in sorted(rows.items()):
    old, new = statistics.median(sides["old"]), statistics.median(sides["new"])
    fmt = lambda xs: ", ".join(f"{x:.4g}" for x in xs)
    print(f"| {name} | {threads} | {old:.4g} | {new:.4g} | {old / new:.3f}x | {fmt(sides['old'])} | {fmt(sides['new'])} |")
print()
for name, runs in sorted(accuracy.items()):
    # Runs train for different numbers of epochs; where two ran an epoch, they must agree.
    same = all(a[: min(len(a), len(b))] == b[: min(len(a), len(b))] for a in runs for b in runs)
    print(f"{name}: {len(runs)} runs, old and new, per-epoch test accuracies "
          f"{'the same epoch by epoch' if same else 'DIFFER'}")
