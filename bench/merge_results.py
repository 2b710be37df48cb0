"""Joins results files of one side, each from one row's run (bench/run.sh, Note [Rows side by
side]), into one file: the first file's program, provenance and machine, every file's results in
the order given (row runs sorted by their number), and "row_by_row": true.

usage: merge_results.py OUT IN...
Writes nothing and exits 1 when no IN file can be read."""

import json
import re
import sys


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out, paths = sys.argv[1], sys.argv[2:]
    paths.sort(key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p)])
    merged = None
    for path in paths:
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            print("merge_results.py: skipping %s: %s" % (path, e), file=sys.stderr)
            continue
        if merged is None:
            merged = dict(data, results=[], row_by_row=True)
        merged["results"].extend(data.get("results", []))
    if merged is None:
        print("merge_results.py: nothing to merge into %s" % out, file=sys.stderr)
        return 1
    with open(out, "w") as f:
        json.dump(merged, f, indent=1)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
