#!/usr/bin/env python3
"""The benchmark figures the READMEs quote, generated from the committed results files.

Usage: readme_figures.py --check    exit 1 and print every difference (the CTest readme_figures)
       readme_figures.py --write    rewrite the generated blocks from bench/results

A README quotes benchmark figures only inside a generated block, whose first line names how to
make it and from which results file:

    <!-- figures: busy bench/results/busy_quiet.json -->
    | model | busy processes | ... |
    <!-- /figures -->

Kinds of block (the results file first, then options):
  busy FILE [pytorch]       busy.py's table: per model and load, the default / 1-thread epoch
                            medians (ms), their ratio and the worst round's ratio (ember's; with
                            `pytorch`, PyTorch's)
  busy-backends FILE        busy.py's backends side by side: per model and load, the default /
                            1-thread ratio and the worst round's ratio of ember's pool and of
                            its OpenMP build under each --omp-settings environment
  report-rows FILE NAME...  bench/report.py's summary table (header and the rows named), as
                            report.md shows them
  compare-builds FILE       compare_builds.py --json's rows over its limit, and how many rows

--check regenerates every block from its file and reports a block that differs (a figure edited
by hand, or results regenerated without --write), then checks that every number in each block
appears in its results file (rounded as written), and that no benchmark table (a Markdown table
whose header names ms, a ratio, a speedup or GFLOP/s) stands outside a generated block. After
regenerating bench/results (bench/run.sh, bench/busy.py, bench/compare_builds.py --json), run
--write and commit the READMEs with the results. Standard library only.
"""

import argparse
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
READMES = ["README.md", "bench/README.md", "apps/softmax_regression/README.md",
           "distributed/README.md"]
# A block's markers start their lines (an indented example of one is not a block).
BLOCK = re.compile(r"^(<!-- figures: (?P<spec>[^>]*?) -->\n)(?P<body>.*?)^(<!-- /figures -->)",
                   re.S | re.M)
BENCH_HEADER = re.compile(r"\bms\b|ratio|speedup|GFLOP|GB/s|Gbit|per sample|\brun \d", re.I)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def load(path):
    with open(os.path.join(ROOT, path)) as f:
        return json.load(f)


def fig(v):
    """A time in ms as the READMEs write it: 3 significant digits, no exponent."""
    if v is None:
        return "-"
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def busy_table(path, side="ember"):
    doc = load(path)
    who = "ember" if side == "ember" else "PyTorch"
    lines = ["| model | busy processes | %s default / 1 thread (ms) | ratio | worst round |" % who,
             "|---|---|---|---|---|"]
    for r in doc["results"]:
        s = r.get(side)
        if not s:
            continue
        ratio = "%.2f" % s["ratio"] if s.get("ratio") is not None else "-"
        worst = s.get("worst_round_ratio")  # busy.py since issue 22
        lines.append("| %s | %d | %s / %s | %s | %s |" % (r["model"], r["busy_processes"],
                                                           fig(s["default_ms"]),
                                                           fig(s["threads1_ms"]), ratio,
                                                           "%.2f" % worst if worst else "-"))
    return lines


def busy_backends(path):
    doc = load(path)
    settings = doc["provenance"].get("omp_settings", [])
    lines = ["| model | busy processes | pool: ratio (worst round) | " +
             " | ".join("OpenMP, %s: ratio (worst round)" % s for s in settings) + " |",
             "|---|---|---|" + "---|" * len(settings)]

    def cell(side):
        if not side or side.get("ratio") is None or side.get("worst_round_ratio") is None:
            return "-"
        return "%.2f (%.2f)" % (side["ratio"], side["worst_round_ratio"])

    for r in doc["results"]:
        lines.append("| %s | %d | %s | %s |" % (r["model"], r["busy_processes"], cell(r.get(
            "ember")), " | ".join(cell(r["ember_openmp"].get(s)) for s in settings)))
    return lines


def report_rows(path, *names):
    import report  # bench/report.py: the table exactly as report.md writes it

    doc = load(path)
    rows = {r["name"]: r for r in doc["summary"]}
    missing = [n for n in names if n not in rows]
    if missing:
        raise ValueError("%s has no summary row %s" % (path, ", ".join(missing)))
    return list(report.HEADER) + [report.fmt_row(rows[n]) for n in names]


def compare_builds(path):
    doc = load(path)
    lines = ["| program | name | threads | native ms | default ms | default / native |",
             "|---|---|---|---|---|---|"]
    for r in doc["rows"]:
        if r["slower"]:
            lines.append("| %s | %s | %s | %.4g | %.4g | %.3f |" % (
                r["program"], r["name"], r["threads"], r["a_ms"], r["b_ms"], r["ratio"]))
    lines.append("")
    lines.append("%d of %d rows more than %g%% slower in the default build (%s, %s)." % (
        doc["over_limit"], len(doc["rows"]), doc["limit_percent"], doc["stat"],
        "1 thread" if doc.get("threads") == 1 else "all thread counts"))
    return lines


KINDS = {"busy": busy_table, "busy-backends": busy_backends, "report-rows": report_rows, "compare-builds": compare_builds}


def generate(spec):
    kind, *args = spec.split()
    if kind not in KINDS:
        raise ValueError("unknown kind of block %r (known: %s)" % (kind, ", ".join(KINDS)))
    return "\n".join(KINDS[kind](*args)) + "\n"


def numbers(text):
    """The figures in a block: numbers standing alone (not inside a name such as 4096x1000 or
    mlp/epoch/b256), as (text, value, decimals)."""
    out = []
    for m in re.finditer(r"(?<![\w.^@/*\-])(\d+(?:\.\d+)?)(?=x\b|%|[^\w.]|$)", text):
        t = m.group(1)
        out.append((t, float(t), len(t.split(".")[1]) if "." in t else 0))
    return out


def json_numbers(node, out):
    if isinstance(node, bool):
        out.append(float(node))
    elif isinstance(node, (int, float)):
        out.append(float(node))
    elif isinstance(node, str):
        for t, v, _ in numbers(node):
            out.append(v)
    elif isinstance(node, dict):
        for v in node.values():
            json_numbers(v, out)
    elif isinstance(node, list):
        out.append(float(len(node)))  # a count of rows is a figure of the file too
        for v in node:
            json_numbers(v, out)
    return out


def appears(value, decimals, pool):
    """`value`, as written with `decimals` decimals (or 3 significant digits for a rounded
    integer), is some number of the results file rounded the same way."""
    for v in pool:
        if round(v, decimals) == value:
            return True
        if decimals == 0 and value >= 100 and abs(v - value) <= 0.5:
            return True
    return False


def figures_outside_blocks(path, text):
    """Benchmark tables (a header naming ms, a ratio, ...) that are not inside a block."""
    stripped = BLOCK.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    problems = []
    lines = stripped.split("\n")
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.startswith("|") and re.match(r"^\|[-:| ]+\|$", nxt) and BENCH_HEADER.search(line):
            problems.append("%s:%d: a benchmark table outside a generated block (put it in "
                            "<!-- figures: ... --> so it comes from a results file, or remove "
                            "it): %s" % (path, i + 1, line))
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true")
    mode.add_argument("--write", action="store_true")
    args = ap.parse_args()
    problems, blocks = [], 0
    for rel in READMES:
        path = os.path.join(ROOT, rel)
        if not os.path.exists(path):
            continue
        with open(path) as f:
            text = f.read()
        problems += figures_outside_blocks(rel, text)

        def redo(m):
            nonlocal blocks
            blocks += 1
            spec = m.group("spec").strip()
            line = text.count("\n", 0, m.start()) + 1
            try:
                want = generate(spec)
            except (OSError, ValueError, KeyError, TypeError) as e:
                problems.append("%s:%d: cannot generate `%s`: %s" % (rel, line, spec, e))
                return m.group(0)
            body = m.group("body")
            if args.check:
                if body != want:
                    problems.append("%s:%d: the block `%s` differs from its results file:\n%s"
                                    % (rel, line, spec, diff(body, want)))
                source = spec.split()[1]
                pool = json_numbers(load(source), [])
                for t, v, d in numbers(body):
                    if not appears(v, d, pool):
                        problems.append("%s:%d: %s is in no figure of %s" % (rel, line, t, source))
            return m.group(1) + want + m.group(4)

        new = BLOCK.sub(redo, text)
        if args.write and new != text:
            with open(path, "w") as f:
                f.write(new)
            print("readme_figures.py: rewrote %s" % rel)
    for p in problems:
        print(p)
    if args.check:
        print("readme_figures.py: %d generated blocks, %d problems" % (blocks, len(problems)))
    return 1 if problems else 0


def diff(got, want):
    g, w = got.splitlines(), want.splitlines()
    out = []
    for i in range(max(len(g), len(w))):
        a = g[i] if i < len(g) else "(none)"
        b = w[i] if i < len(w) else "(none)"
        if a != b:
            out.append("  README:  %s\n  results: %s" % (a, b))
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
