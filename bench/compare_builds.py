#!/usr/bin/env python3
"""Compares two builds of ember on the same benchmark programs, run alternately in one session.

usage: bench/compare_builds.py [--limit PCT] [--stat median_ms|min_ms] [--threads N] [--json FILE]
                               DIR_A DIR_B

DIR_A and DIR_B each hold the JSON of the ember programs (bench_*.json, any number of rounds as
bench_kernels.1.json, bench_kernels.2.json, ...). For every result name and thread count it
prints the median over rounds of each side's median_ms (or the least min_ms, with --stat min_ms:
the figure other processes on a shared machine disturb least) and the ratio B / A, and marks the
rows where B is more than PCT percent (default 5) slower. Used for the default (any x86-64 CPU)
build against a -march=native one (bench/README.md, "Instruction sets"). --json FILE also writes
the table as JSON (the options, and per row both figures, the ratio, the rounds and the mark).
"""
import argparse
import glob
import json
import os
import statistics
import sys



def load(directory, stat):
    """({(program, name, threads): [stat of each round]}, [provenance of each file])."""
    figures, provenances = {}, []
    for path in sorted(glob.glob(os.path.join(directory, "bench_*.json"))):
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            print(f"compare_builds.py: skipping {path}: {e}", file=sys.stderr)
            continue
        provenances.append(data.get("provenance") or {"file": path})
        for r in data["results"]:
            if stat not in r:
                continue
            key = (data["program"], r["name"], r.get("threads", 0))
            figures.setdefault(key, []).append(r[stat])
    return figures, provenances


def one_build(provenances, directory):
    """The provenance every file of `directory` shares (one commit, one CPU, one build); exits
    naming the first two files that differ."""
    keys = ("commit", "dirty", "cpu", "build_type", "flags")
    first = provenances[0] if provenances else {}
    if any(k not in first for k in keys):
        sys.exit(f"compare_builds.py: {directory}: a results file has no provenance (made before "
                 "bench/harness.h recorded it): rerun the programs")
    for p in provenances[1:]:
        for k in keys:
            if p.get(k) != first.get(k):
                sys.exit(f"compare_builds.py: {directory}: files differ in {k}: "
                         f"{first.get(k)!r} vs {p.get(k)!r}")
    return first


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=5.0, help="percent slower that is marked")
    parser.add_argument("--stat", default="median_ms", choices=["median_ms", "min_ms"])
    parser.add_argument("--threads", type=int, help="only results at this thread count")
    parser.add_argument("--json", metavar="FILE", help="also write the comparison as JSON here")
    parser.add_argument("dir_a")
    parser.add_argument("dir_b")
    args = parser.parse_args()
    (a, prov_a), (b, prov_b) = load(args.dir_a, args.stat), load(args.dir_b, args.stat)
    pa, pb = one_build(prov_a, args.dir_a), one_build(prov_b, args.dir_b)
    for k in ("commit", "dirty", "cpu"):
        if pa[k] != pb[k]:
            sys.exit(f"compare_builds.py: the two builds differ in {k} ({pa[k]!r} vs {pb[k]!r}): "
                     "compare builds of one commit on one machine")
    keys = [k for k in a if k in b and (args.threads is None or k[2] == args.threads)]
    pick = statistics.median if args.stat == "median_ms" else min
    if not keys:
        sys.exit("compare_builds.py: no result in common")
    print(f"commit {pa['commit']}{' (uncommitted changes)' if pa['dirty'] else ''}, "
          f"CPU {pa['cpu']}, {pa['thread_backend']}")
    print(f"A: {pa['build_type']} {pa['flags']}")
    print(f"B: {pb['build_type']} {pb['flags']}")
    print(f"{args.stat}, {'median' if args.stat == 'median_ms' else 'least'} over rounds")
    print(f"| program | name | threads | A ms | B ms | B / A | rounds A/B | over {args.limit:g}% |")
    print("|---|---|---|---|---|---|---|---|")
    over = 0
    rows = []
    for key in keys:
        ma, mb = pick(a[key]), pick(b[key])
        ratio = mb / ma if ma > 0 else float("inf")
        slow = ratio > 1 + args.limit / 100
        over += slow
        program, name, threads = key
        print(f"| {program} | {name} | {threads} | {ma:.4g} | {mb:.4g} | {ratio:.3f} | "
              f"{len(a[key])}/{len(b[key])} | {'SLOWER' if slow else ''} |")
        rows.append({"program": program, "name": name, "threads": threads, "a_ms": ma, "b_ms": mb,
                     "ratio": ratio, "rounds_a": len(a[key]), "rounds_b": len(b[key]),
                     "slower": slow})
    print(f"\n{len(keys)} results, {over} with B more than {args.limit:g}% slower than A")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"provenance": dict(pa, flags_b=pb["flags"], build_type_b=pb["build_type"],
                                          isa_b=pb.get("isa")),
                       "stat": args.stat, "threads": args.threads, "limit_percent": args.limit,
                       "dir_a": args.dir_a, "dir_b": args.dir_b, "over_limit": over,
                       "rows": rows}, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
