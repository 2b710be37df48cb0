#!/usr/bin/env python3
"""A before/after table of ember's own benchmark programs built at two commits and run on the
same machine in one sitting, alternately, in rounds: DIR holds before_bench_PROGRAM_rN.json and
after_bench_PROGRAM_rN.json (the README there has the commands). A side's figure for a row is
the lowest of its round medians (this VM's speed drifts by up to 20% between rounds).

usage: bench/before_after.py DIR BEFORE AFTER > DIR/table.md   (BEFORE, AFTER: the commits)
  e.g. bench/before_after.py bench/results/issue18 17a54fb 94fd0be
"""
import glob
import json
import os
import statistics
import sys

directory, before_label, after_label = sys.argv[1:4]


def medians(side, program):
    rows = {}
    for path in sorted(glob.glob(os.path.join(directory, f"{side}_bench_{program}_r*.json"))):
        for r in json.load(open(path))["results"]:
            if "median_ms" in r:
                key = (r["name"], r["threads"])
                rows[key] = min(rows.get(key, float("inf")), r["median_ms"])
    return rows


print(f"| program | row | threads | before ms ({before_label}) | after ms ({after_label}) "
      "| after / before |")
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
