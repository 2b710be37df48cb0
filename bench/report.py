#!/usr/bin/env python3
"""Joins ember's and PyTorch's benchmark JSON into bench/results/report.json and report.md.

Usage: report.py RESULTS_DIR [--env-note TEXT]
Reads RESULTS_DIR/ember_<program>.json and RESULTS_DIR/pytorch_<program>.json for each program
(bench_matmul, bench_kernels, bench_data, bench_pipeline), joins rows by name (and thread count),
applies issue 8's targets and writes RESULTS_DIR/report.json and RESULTS_DIR/report.md.

speedup = PyTorch median ms / ember median ms (> 1: ember is faster; for matmul it equals the
GFLOP/s ratio ember/OpenBLAS). Which thread counts are compared:
  pipeline    each side's faster thread count (the issue: "keeping the faster")
  kernels     2 threads on both sides (targets apply there); 1-thread rows in the full table
  matmul      same thread count, 1 and 2
  data        ember's rows against PyTorch's faster thread count
Standard library only, so it runs under any python3.
"""

import argparse
import json
import os
import sys

PROGRAMS = ["bench_pipeline", "bench_matmul", "bench_kernels", "bench_data"]
ACTIVATIONS = ("sigmoid", "tanh", "relu", "silu", "logsigmoid")
SOFTMAX_FAMILY = ("softmax", "log_softmax", "softmin", "cross_entropy")
MLP_MATMULS = ("matmul/256x784@784x256", "matmul/64x784@784x256")
SKINNY_MATMULS = (
    "matmul/256x784@784x10",
    "matmul/784x256^T@256x10",
    "matmul/10x256^T@256x784",
    "matmul/256x256@256x10",
    "matmul/256x10@10x784",
)
RSS_LIMIT_MB = 150.0


def load(path):
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print("report.py: cannot read %s: %s" % (path, e), file=sys.stderr)
        return None


def rows_by_name(doc):
    """name -> {threads: row}, keeping the report's order of names."""
    out = {}
    for r in (doc or {}).get("results", []):
        out.setdefault(r["name"], {})[int(r.get("threads", 1))] = r
    return out


def fastest(by_threads):
    return min(by_threads.values(), key=lambda r: r["median_ms"]) if by_threads else None


def speed_target(name, threads):
    """(minimum speedup, description) issue 8 sets for this row, or None."""
    parts = name.split("/")
    if name == "softmax_regression/epoch":
        return 6.0, ">= 6x"
    if name.startswith("mlp/epoch/"):
        return 1.3, ">= 1.3x"
    if name in MLP_MATMULS:
        return 0.9, ">= 0.9x"
    if name in SKINNY_MATMULS:
        return 1.5, ">= 1.5x"
    if len(parts) == 3 and threads == 2:
        op, mode, shape = parts
        if op in SOFTMAX_FAMILY and mode in ("fwd+bwd", "fwdbwd") and shape in ("4096x1000", "64x32000"):
            return 1.5, ">= 1.5x"
        if op in ACTIVATIONS:
            return 1.0, ">= 1x"
    return None


def make_row(program, name, e, p, threads_label, target=None):
    row = {
        "program": program,
        "name": name,
        "threads": threads_label,
        "ember_ms": e["median_ms"] if e else None,
        "pytorch_ms": p["median_ms"] if p else None,
        "ember": e,
        "pytorch": p,
        "speedup": None,
        "target": None,
        "met": None,
    }
    if e and p and e["median_ms"] > 0:
        row["speedup"] = p["median_ms"] / e["median_ms"]
    if target:
        row["target"] = target[1]
        if row["speedup"] is not None:
            row["met"] = row["speedup"] >= target[0]
    return row


def join(program, ember, torch):
    """Rows for one program: (summary rows, full rows)."""
    e_rows, p_rows = rows_by_name(ember), rows_by_name(torch)
    names = list(e_rows) + [n for n in p_rows if n not in e_rows]
    summary, full = [], []
    for name in names:
        e_by, p_by = e_rows.get(name, {}), p_rows.get(name, {})
        if name.endswith("/peak_rss"):
            e, p = fastest(e_by), fastest(p_by)
            row = make_row(program, name, e, p, "-")
            row["ember_mb"] = e.get("peak_rss_mb") if e else None
            row["pytorch_mb"] = p.get("peak_rss_mb") if p else None
            row["target"] = "< %g MB" % RSS_LIMIT_MB
            row["speedup"] = None
            if row["ember_mb"] is not None:
                row["met"] = row["ember_mb"] < RSS_LIMIT_MB
            summary.append(row)
            full.append(row)
            continue
        if program == "bench_pipeline":
            e, p = fastest(e_by), fastest(p_by)
            label = "%s/%s" % (e["threads"] if e else "-", p["threads"] if p else "-")
            row = make_row(program, name, e, p, label, speed_target(name, None))
            summary.append(row)
            full.append(row)
            for t in sorted(set(e_by) | set(p_by)):
                full.append(make_row(program, name, e_by.get(t), p_by.get(t), "%d/%d" % (t, t)))
            continue
        threads = sorted(set(e_by) | set(p_by))
        for t in threads:
            e = e_by.get(t)
            p = p_by.get(t)
            label = "%d/%d" % (t, t)
            if program == "bench_data":
                # One row per ember thread count (the IDX reader is single-threaded, the
                # DataLoader's gather is not); PyTorch keeps its faster thread count.
                if e is None:
                    continue
                p = fastest(p_by)
                label = "%d/%s" % (t, p["threads"] if p else "-")
            row = make_row(program, name, e, p, label, speed_target(name, t))
            full.append(row)
            in_summary = (
                program in ("bench_matmul", "bench_data")
                or (program == "bench_kernels" and t == 2)
            )
            if in_summary:
                summary.append(row)
    return summary, full


def scaling_rows(ember_pipeline):
    """Target 5: ember's MLP epoch at 2 threads >= 1.7x faster than at 1."""
    out = []
    for name, by in rows_by_name(ember_pipeline).items():
        if name.startswith("mlp/epoch/") and 1 in by and 2 in by:
            ratio = by[1]["median_ms"] / by[2]["median_ms"]
            out.append({
                "program": "bench_pipeline",
                "name": name + " scaling 1->2 threads (ember)",
                "threads": "1 vs 2",
                "ember_ms": by[2]["median_ms"],
                "pytorch_ms": None,
                "ember_1thread_ms": by[1]["median_ms"],
                "speedup": ratio,
                "target": ">= 1.7x",
                "met": ratio >= 1.7,
            })
    return out


def zlib_rows(ember_data, torch_data):
    """Target 4: loading a file no slower than zlib's own inflate of it (PyTorch's gzip/zlib)."""
    out = []
    e = rows_by_name(ember_data)
    p = rows_by_name(torch_data)
    for name, by in e.items():
        if not name.startswith("idx_load/") or not name.endswith(".gz"):
            continue
        zname = "zlib_inflate/" + name[len("idx_load/") :]
        z = fastest(e.get(zname, {})) or fastest(p.get(zname, {}))
        if z is None:
            continue
        mine = fastest(by)
        ratio = z["median_ms"] / mine["median_ms"]
        out.append({
            "program": "bench_data",
            "name": "%s vs %s" % (name, zname),
            "threads": "-",
            "ember_ms": mine["median_ms"],
            "pytorch_ms": None,
            "zlib_ms": z["median_ms"],
            "speedup": ratio,
            "target": ">= 1x zlib",
            "met": ratio >= 1.0,
        })
    return out


def is_noisy(result):
    """A median more than 1.5x the min (over at least 3 reps): something else took the CPU."""
    if not result or result.get("reps", 0) < 3 or result.get("min_ms", 0) <= 0:
        return False
    return result["median_ms"] > 1.5 * result["min_ms"]


def fmt_ms(v):
    if v is None:
        return "-"
    if v >= 100:
        return "%.1f" % v
    if v >= 1:
        return "%.2f" % v
    return "%.4f" % v


def fmt_row(r):
    e, p = r.get("ember_ms"), r.get("pytorch_ms")
    note = ""
    if "ember_mb" in r:
        ember_col = "%.1f MB" % r["ember_mb"] if r["ember_mb"] is not None else "-"
        torch_col = "%.1f MB" % r["pytorch_mb"] if r.get("pytorch_mb") is not None else "-"
        ratio = "-"
        if r["ember_mb"] and r.get("pytorch_mb"):
            ratio = "%.2fx less" % (r["pytorch_mb"] / r["ember_mb"])
        base = (r.get("pytorch") or {}).get("rss_after_import_mb")
        if base is not None:
            note = "PyTorch's includes %.0f MB for Python + libtorch before any data" % base
    else:
        ember_col, torch_col = fmt_ms(e), fmt_ms(p)
        if "zlib_ms" in r:
            torch_col = "zlib %s" % fmt_ms(r["zlib_ms"])
        if "ember_1thread_ms" in r:
            torch_col = "ember@1: %s" % fmt_ms(r["ember_1thread_ms"])
        ratio = "%.2fx" % r["speedup"] if r.get("speedup") is not None else "-"
        eg = (r.get("ember") or {}).get("gflops")
        pg = (r.get("pytorch") or {}).get("gflops")
        if eg is not None or pg is not None:
            note = "GFLOP/s %s / %s" % (
                "%.0f" % eg if eg is not None else "-",
                "%.0f" % pg if pg is not None else "-",
            )
        noisy = [side for side in ("ember", "pytorch") if is_noisy(r.get(side))]
        if noisy:
            note = (note + "; " if note else "") + "noisy: " + ", ".join(noisy)
    met = {True: "yes", False: "**NO**", None: "-" if not r.get("target") else "n/a"}[r.get("met")]
    return "| %s | %s | %s | %s | %s | %s | %s | %s |" % (
        r["name"], r["threads"], ember_col, torch_col, ratio, r.get("target") or "-", met, note)


HEADER = [
    "| name | threads e/p | ember ms | pytorch ms | speedup | target | met? | note |",
    "|---|---|---:|---:|---:|---|---|---|",
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results_dir")
    ap.add_argument("--env-note", default="", help="how the run was made (printed in the report)")
    args = ap.parse_args()

    docs, summary, full, extra = {}, [], [], []
    for prog in PROGRAMS:
        e = load(os.path.join(args.results_dir, "ember_%s.json" % prog))
        p = load(os.path.join(args.results_dir, "pytorch_%s.json" % prog))
        docs[prog] = {"ember": e, "pytorch": p}
        if e is None and p is None:
            continue
        s, f = join(prog, e, p)
        summary += s
        full += f
        if prog == "bench_pipeline":
            extra += scaling_rows(e)
        if prog == "bench_data":
            extra += zlib_rows(e, p)

    targets = [r for r in summary + extra if r.get("target")]
    met = sum(1 for r in targets if r.get("met"))
    missed = [r for r in targets if r.get("met") is False]
    unknown = [r for r in targets if r.get("met") is None]

    torch_machine = {}
    for prog in PROGRAMS:
        p = docs[prog]["pytorch"]
        if p and p.get("machine"):
            torch_machine = p["machine"]
            break
    ember_machine = {}
    for prog in PROGRAMS:
        e = docs[prog]["ember"]
        if e and e.get("machine"):
            ember_machine = e["machine"]
            break

    report = {
        "env_note": args.env_note,
        "pytorch_machine": torch_machine,
        "ember_machine": ember_machine,
        "targets": {"total": len(targets), "met": met, "missed": len(missed), "unmeasured": len(unknown)},
        "summary": summary + extra,
        "full": full,
        "raw": docs,
    }
    with open(os.path.join(args.results_dir, "report.json"), "w") as f:
        json.dump(report, f, indent=1)

    md = ["# ember vs PyTorch, side by side", ""]
    if args.env_note:
        md += [args.env_note, ""]
    if torch_machine:
        md.append(
            "PyTorch %s, BLAS: %s (%s); OPENBLAS_CORETYPE=%s, OPENBLAS_L2_SIZE=%s; CPU: %s, %s threads."
            % (
                torch_machine.get("torch"),
                torch_machine.get("blas"),
                ", ".join(os.path.basename(x) for x in torch_machine.get("blas_libraries", [])),
                torch_machine.get("OPENBLAS_CORETYPE"),
                torch_machine.get("OPENBLAS_L2_SIZE"),
                torch_machine.get("cpu"),
                torch_machine.get("hardware_threads"),
            )
        )
        md.append("")
    md.append(
        "speedup = PyTorch ms / ember ms (> 1: ember faster). threads e/p = thread counts of ember / "
        "PyTorch (pipeline: each side's faster). \"noisy\": that side's median was over 1.5x its "
        "min. Targets met: %d of %d (%d missed, %d unmeasured)."
        % (met, len(targets), len(missed), len(unknown))
    )
    md += ["", "## Summary", ""] + HEADER + [fmt_row(r) for r in summary + extra]
    md += ["", "## All rows (both thread counts)", ""] + HEADER + [fmt_row(r) for r in full]
    md.append("")
    text = "\n".join(md)
    with open(os.path.join(args.results_dir, "report.md"), "w") as f:
        f.write(text)
    # stdout: the summary only (the full table is in report.md).
    end = text.index("## All rows")
    print(text[:end].rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
