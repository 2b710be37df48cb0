"""Medians of the rounds' medians (ms), old (e57db9c kernels) against new (6cccbb0), per row."""
import collections
import glob
import json
import statistics

rows = collections.defaultdict(lambda: collections.defaultdict(list))
accuracy = collections.defaultdict(set)
for path in sorted(glob.glob("*_r*.json")):
    side = path.split("_")[1]
    for row in json.load(open(path))["results"]:
        rows[(row["name"], row["threads"])][side].append(row["median_ms"])
        if "test_accuracies" in row:
            accuracy[side].add(tuple(row["test_accuracies"]))
print("| row | threads | old | new | old / new | old rounds | new rounds |")
print("|---|---|---|---|---|---|---|")
for (name, threads), sides in sorted(rows.items()):
    old, new = statistics.median(sides["old"]), statistics.median(sides["new"])
    fmt = lambda xs: ", ".join(f"{x:.4g}" for x in xs)
    print(f"| {name} | {threads} | {old:.4g} | {new:.4g} | {old / new:.3f}x | {fmt(sides['old'])} | {fmt(sides['new'])} |")
for side, accs in sorted(accuracy.items()):
    print(f"\n{side}: LeNet test accuracies by epoch (all runs): {sorted(accs)}")
