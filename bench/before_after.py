#!/usr/bin/env python3
"""A before/after table of ember's own benchmark programs built at two commits and run on the
same machine in one sitting, alternately, in rounds: DIR holds before_bench_PROGRAM_rN.json and
after_bench_PROGRAM_rN.json (the README there has the commands). A side's figure for a row is
the lowest of its round medians (this VM's speed drifts by up to 20% between rounds), or with
--median the median of its round medians. For pipeline rows that report per-epoch test
accuracies it also says whether every run, before and after, agrees with every other epoch by epoch
(where both ran that epoch): they do when a change leaves the arithmetic as it was.

usage: bench/before_after.py [--median] DIR BEFORE AFTER > DIR/table.md   (BEFORE, AFTER: commits)
  e.g. bench/before_after.py bench/results/issue18 17a54fb 94fd0be
"""
import glob
import json
import os
import statistics
import sys

args = sys.argv[1:]
use_median = "--median" in args
directory, before_label, after_label = [a for a in args if a != "--median"]
accuracies = {}  # row name -> every run's per-epoch test accuracies


def figures(side, program):
    rounds = {}
    for path in sorted(glob.glob(os.path.join(directory, f"{side}_bench_{program}_r*.json"))):
        for r in json.load(open(path))["results"]:
            if "median_ms" in r:
                rounds.setdefault((r["name"], r["threads"]), []).append(r["median_ms"])
            if "test_accuracies" in r:
                accuracies.setdefault(r["name"], []).append(r["test_accuracies"])
    pick = statistics.median if use_median else min
    return {key: pick(values) for key, values in rounds.items()}


print(f"| program | row | threads | before ms ({before_label}) | after ms ({after_label}) "
      "| after / before |")
print("|---|---|---:|---:|---:|---:|")
ratios = []
for program in ("kernels", "matmul", "pipeline"):
    before, after = figures("before", program), figures("after", program)
    for key in before:
        if key in after:
            ratios.append(after[key] / before[key])
            print(f"| bench_{program} | {key[0]} | {key[1]} | {before[key]:.4g} | {after[key]:.4g} "
                  f"| {ratios[-1]:.2f} |")
print(f"\n{len(ratios)} rows ({'median' if use_median else 'lowest'} of each side's round "
      f"medians); after / before: median {statistics.median(ratios):.3f}, "
      f"min {min(ratios):.2f}, max {max(ratios):.2f}; rows above 1.10: "
      f"{sum(r > 1.10 for r in ratios)}, below 0.90: {sum(r < 0.90 for r in ratios)}")
for name, runs in sorted(accuracies.items()):
    same = all(a[:len(b)] == b[:len(a)] for a in runs for b in runs)
    print(f"{name}: {len(runs)} runs, before and after, per-epoch test accuracies "
          f"{'the same epoch by epoch' if same else 'not all the same'}")
