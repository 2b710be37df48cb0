#!/usr/bin/env python3
"""Issue 18's before/after table: ember's own benchmark programs built at 17a54fb (before the
split of core and autograd) and at 94fd0be (after it, before any later speed work), run on the
same machine in one sitting, alternately (README.md here has the commands): two rounds of every
row, up to six of the rows checked again. A side's figure for a row is the lowest of its round
medians (this VM's speed drifts by up to 20% between rounds).

usage: make_table.py > table.md
"""
import glob
import json
import statistics


def medians(side, program):
    rows = {}
    for path in sorted(glob.glob(f"{side}_bench_{program}_r*.json")):
        for r in json.load(open(path))["results"]:
            if "median_ms" in r:
                key = (r["name"], r["threads"])
                rows[key] = min(rows.get(key, float("inf")), r["median_ms"])
    return rows


print("| program | row | threads | before ms (17a54fb) | after ms (94fd0be) | after / before |")
print("|---|---|---:|---:|---:|---:|")
ratios = []
for program in ("kernels", "matmul", "pipeline"):
    before, after = medians("before", program), medians("after", program)
    for key in before:
        if key in after:
            ratios.append(after[key] / before[key])
            print(f"| bench_{program} | {key[0]} | {key[1]} | {before[key]:.4g} | {after[key]:.4g} "
                  f"| {ratios[-1]:.2f} |")
print(f"\n{len(ratios)} rows; after / before: median {statistics.median(ratios):.3f}, "
      f"min {min(ratios):.2f}, max {max(ratios):.2f}; rows above 1.10: "
      f"{sum(r > 1.10 for r in ratios)}, below 0.90: {sum(r < 0.90 for r in ratios)}")
