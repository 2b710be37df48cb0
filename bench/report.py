#!/usr/bin/env python3
"""Joins ember's and PyTorch's benchmark JSON into bench/results/report.json and report.md.

Usage: report.py RESULTS_DIR [--env-note TEXT]
       report.py --check-fresh RESULTS_DIR
Reads RESULTS_DIR/ember_<program>.json and RESULTS_DIR/pytorch_<program>.json for each program
(bench_matmul, bench_kernels, bench_data, bench_pipeline), joins rows by name (and thread count),
applies issue 8's targets and writes RESULTS_DIR/report.json and RESULTS_DIR/report.md.

Provenance: every results file names its commit, build, thread backend, CPU and date
(bench/harness.h, bench/provenance.py). The report joins only files of ONE commit (and the same
uncommitted-changes flag) made on ONE machine (CPU model and hardware threads); otherwise it
refuses (exit 2) and names the files that differ. Its header names the commit, both sides' build
flags and thread backends, and the CPU. --check-fresh exits 1 when the committed report is stale:
the measured code (bench/measured_paths.txt) changed in a commit that its commit does not contain.

Pipelines: both sides record the test accuracy after every epoch they ran. A row compares them
after the same number of epochs (the fewer either side ran) and is INVALID, not a speedup, when
they differ by more than the run-to-run spread: the largest change between consecutive epochs over
the last three epochs of either side, at least ACCURACY_FLOOR (one percentage point). A broken
optimizer step (accuracy near chance, 0.10) is far outside it; two correct trainings with
different random draws are within it. With run.sh, the PyTorch peer starts each row from ember's
initial weights and trains on ember's batches (bench/peers/peer_pipeline.py), so the two sides'
accuracies then differ only by rounding: the spread is then ACCURACY_FLOOR alone, and the note
says so.

Kernels: every row is like with like. OP rows allocate a new output on both sides (ember has no
out= variant of these ops, so they have no preallocated row); copy/new (x.clone()) and copy/out
(dst.copy_(x) into a preallocated tensor) show both forms of the same work on both sides.

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
ACCURACY_FLOOR = 0.01  # the least run-to-run spread of a test accuracy (one percentage point)
PROVENANCE_KEYS = ("commit", "dirty", "build_type", "flags", "thread_backend", "cpu",
                   "hardware_threads", "date")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provenance as prov  # noqa: E402  (bench/provenance.py)


class Refused(Exception):
    """Results that must not be joined (different commits or machines, or no provenance)."""


def check_provenance(docs):
    """The one commit and machine of every loaded file, or Refused naming the files that differ.
    docs: {(program, side): doc}."""
    first, first_name = None, None
    for (program, side), doc in docs.items():
        name = "%s_%s.json" % ("pytorch" if side == "pytorch" else "ember", program)
        p = doc.get("provenance")
        if not p or any(k not in p for k in PROVENANCE_KEYS):
            raise Refused("%s has no provenance (commit, build, thread backend, CPU, date): it was "
                          "made before bench/harness.h and bench/provenance.py recorded them; "
                          "rerun bench/run.sh" % name)
        if first is None:
            first, first_name = p, name
            continue
        for key, what in (("commit", "commits"), ("dirty", "states of the measured code"),
                          ("cpu", "machines (CPU)"), ("hardware_threads", "machines (threads)")):
            if p[key] != first[key]:
                raise Refused("%s and %s come from different %s: %r vs %r; rerun the whole suite "
                              "(bench/run.sh) on one commit and one machine"
                              % (first_name, name, what, first[key], p[key]))
    return first


def side_provenance(docs, side):
    """The build of one side (the first of its files), for the header."""
    for (_, s), doc in docs.items():
        if s == side:
            return doc["provenance"]
    return None


def accuracy_check(e, p):
    """Compares the two sides' test accuracies after the same number of epochs: a dict with
    epoch, ember, pytorch, spread and valid, or None when a side recorded none."""
    ea = (e or {}).get("test_accuracies")
    pa = (p or {}).get("test_accuracies")
    if not ea or not pa:
        return None
    n = min(len(ea), len(pa))

    def steps(acc):
        tail = acc[max(0, len(acc) - 3) :]
        return [abs(b - a) for a, b in zip(tail, tail[1:])]

    same_start = p.get("start") == "ember"
    # From the same weights on the same batches only rounding separates the two: the floor alone.
    spread = ACCURACY_FLOOR if same_start else max([ACCURACY_FLOOR] + steps(ea) + steps(pa))
    diff = abs(ea[n - 1] - pa[n - 1])
    return {"epoch": n, "ember": ea[n - 1], "pytorch": pa[n - 1], "spread": spread,
            "valid": diff <= spread, "same_start": same_start}


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
    if name == "lenet/epoch":  # issue 20
        return 5.0, ">= 5x"
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


def conv_flops(name):
    """FLOPs of a bench_kernels conv2d row (conv2d/MODE/NxCxHxW,OxCxKHxKW,pP), counted as
    bench_pipeline's compute floor counts them: 2 O OH OW C KH KW per image forward; fwd+bwd adds
    the weight's gradient (as many) and, when C > 1, the input's (as many; conv1 reads the data).
    None for other rows."""
    parts = name.split("/")
    if len(parts) != 3 or parts[0] != "conv2d":
        return None
    x, w, pad = parts[2].split(",")
    n, c, h, wd = (int(d) for d in x.split("x"))
    o, cg, kh, kw = (int(d) for d in w.split("x"))
    p = int(pad[1:])
    forward = 2.0 * n * o * (h + 2 * p - kh + 1) * (wd + 2 * p - kw + 1) * cg * kh * kw
    return forward if parts[1] == "fwd" else forward * (3 if c > 1 else 2)


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
    if program == "bench_kernels":
        row["output"] = "out=" if name.startswith("copy/out/") else "new"
    flops = conv_flops(name)
    if flops:
        row["gflops"] = [flops / (side["median_ms"] * 1e6) if side else None for side in (e, p)]
    acc = accuracy_check(e, p)
    if acc is not None:
        row["accuracy"] = acc
        if not acc["valid"]:
            # Not the same work: the time is no speedup, and no target is met or missed.
            row["invalid"] = True
            row["speedup"] = None
            row["met"] = None
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
            if row["ember_mb"] is not None and not row.get("invalid"):
                row["met"] = row["ember_mb"] < RSS_LIMIT_MB
            summary.append(row)
            full.append(row)
            continue
        if program == "bench_pipeline" and name.endswith("/floor"):
            continue  # ember's compute floors: floor_rows
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


FLOOR_LIMIT = 2.5  # issue 20: the LeNet epoch within 2.5x of its compute floor


def floor_rows(ember_pipeline):
    """Issue 20: ember's LeNet epochs (the faster thread count) against their compute floor at the
    same thread count (MODEL/floor: the convolutions' and Linears' FLOPs at the FMA peak
    bench_pipeline measured, Note [LeNet's FLOPs] there); the target is lenet/epoch's."""
    by = rows_by_name(ember_pipeline)
    out = []
    for model in ("lenet", "lenet_bn"):
        e = fastest(by.get(model + "/epoch", {}))
        floors = by.get(model + "/floor", {})
        if not e or e["threads"] not in floors:
            continue
        floor = floors[e["threads"]]
        ratio = e["median_ms"] / floor["median_ms"]
        row = {
            "program": "bench_pipeline",
            "name": model + "/epoch vs its compute floor (ember)",
            "threads": "%d" % e["threads"],
            "ember_ms": e["median_ms"],
            "pytorch_ms": None,
            "floor_ms": floor["median_ms"],
            "floor_gflops": floor.get("gflops"),
            "floor_ratio": ratio,
            "speedup": None,
            "target": "<= %gx floor" % FLOOR_LIMIT if model == "lenet" else None,
            "met": ratio <= FLOOR_LIMIT if model == "lenet" else None,
        }
        out.append(row)
    return out


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
        if "floor_ms" in r:
            torch_col = "floor %s" % fmt_ms(r["floor_ms"])
        ratio = "%.2fx" % r["speedup"] if r.get("speedup") is not None else "-"
        eg, pg = r.get("gflops") or ((r.get("ember") or {}).get("gflops"),
                                     (r.get("pytorch") or {}).get("gflops"))
        if eg is not None or pg is not None:
            note = "GFLOP/s %s / %s" % (
                "%.0f" % eg if eg is not None else "-",
                "%.0f" % pg if pg is not None else "-",
            )
        if "floor_ratio" in r:
            note = "%.2fx the floor (FMA peak %s GFLOP/s)" % (
                r["floor_ratio"],
                "%.0f" % r["floor_gflops"] if r.get("floor_gflops") is not None else "-")
        noisy = [side for side in ("ember", "pytorch") if is_noisy(r.get(side))]
        if noisy:
            note = (note + "; " if note else "") + "noisy: " + ", ".join(noisy)
        if r.get("output"):
            out = "output: preallocated (out=) on both sides" if r["output"] == "out=" else "output: new on both sides"
            note = (note + "; " if note else "") + out
    acc = r.get("accuracy")
    if acc:
        text = "accuracy after %d epochs: ember %.4f / PyTorch %.4f (spread %.3f%s)" % (
            acc["epoch"], acc["ember"], acc["pytorch"], acc["spread"],
            "; PyTorch from ember's weights and batches" if acc.get("same_start") else "")
        if not acc["valid"]:
            text = "**INVALID**: " + text + ", not the same work"
        note = (note + "; " if note else "") + text
    met = {True: "yes", False: "**NO**", None: "-" if not r.get("target") else "n/a"}[r.get("met")]
    if r.get("invalid"):
        met = "**INVALID**"
    return "| %s | %s | %s | %s | %s | %s | %s | %s |" % (
        r["name"], r["threads"], ember_col, torch_col, ratio, r.get("target") or "-", met, note)


HEADER = [
    "| name | threads e/p | ember ms | pytorch ms | speedup | target | met? | note |",
    "|---|---|---:|---:|---:|---|---|---|",
]


def header_lines(p):
    """The report's first lines: what was measured, where and when."""
    commit = p["commit"] + (" with uncommitted changes to the measured code" if p["dirty"] else "")
    lines = ["Commit %s; CPU: %s (%s hardware threads); measured %s to %s." % (
        commit, p["cpu"], p["hardware_threads"], p["dates"][0], p["dates"][1])]
    e = p.get("ember")
    if e:
        lines.append("ember: %s build, flags `%s`, %s, %s kernels, compiler %s." % (
            e["build_type"], e["flags"], e["thread_backend"], e.get("isa"), e.get("compiler")))
    t = p.get("pytorch")
    if t:
        lines.append("PyTorch: %s, %s, BLAS %s." % (t["build_type"], t["thread_backend"], t.get("blas")))
    return lines


def last_change(paths):
    """The last commit (HEAD's history) that changed any of `paths`, or None."""
    out = prov.git("log", "-1", "--format=%H", "HEAD", "--", *paths)
    return out.strip() if out and out.strip() else None


def check_fresh(results_dir):
    """0 when RESULTS_DIR/report.json measured a commit that contains every change to the measured
    code up to HEAD; 1 (STALE) otherwise; 4 (cannot tell) without git history."""
    path = os.path.join(results_dir, "report.json")
    doc = load(path)
    if doc is None:
        print("STALE: no report at %s" % path)
        return 1
    measured = (doc.get("provenance") or {}).get("commit")
    if not measured:
        print("STALE: %s names no commit (made before reports recorded one); regenerate it with "
              "bench/run.sh" % path)
        return 1
    if prov.git("rev-parse", "HEAD") is None:
        print("cannot tell: no git repository at %s" % prov.ROOT)
        return 4
    last = last_change(prov.measured_paths())
    if last is None:
        print("cannot tell: no commit in this history changed the measured code")
        return 4
    if prov.git("cat-file", "-e", measured + "^{commit}") is None:
        print("STALE: the report's commit %s is not in this repository's history" % measured)
        return 1
    if prov.git("merge-base", "--is-ancestor", last, measured) is None:
        changed = prov.git("diff", "--stat", measured, "HEAD", "--", *prov.measured_paths()) or ""
        print("STALE: %s measured commit %s, but %s changed the measured code after it "
              "(bench/measured_paths.txt):\n%s\nRegenerate: bench/run.sh (see bench/README.md)"
              % (path, measured[:12], last[:12], changed.rstrip()))
        return 1
    dirty = " (with uncommitted changes)" if doc["provenance"].get("dirty") else ""
    print("fresh: %s measured commit %s%s, which contains the last change to the measured code "
          "(%s)" % (path, measured[:12], dirty, last[:12]))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results_dir")
    ap.add_argument("--env-note", default="", help="how the run was made (printed in the report)")
    ap.add_argument("--check-fresh", action="store_true",
                    help="only check that RESULTS_DIR/report.json measured today's code")
    args = ap.parse_args()
    if args.check_fresh:
        return check_fresh(args.results_dir)

    docs, summary, full, extra = {}, [], [], []
    loaded = {}
    for prog in PROGRAMS:
        e = load(os.path.join(args.results_dir, "ember_%s.json" % prog))
        p = load(os.path.join(args.results_dir, "pytorch_%s.json" % prog))
        docs[prog] = {"ember": e, "pytorch": p}
        for side, doc in (("ember", e), ("pytorch", p)):
            if doc is not None:
                loaded[(prog, side)] = doc
    try:
        common = check_provenance(loaded)
    except Refused as refused:
        print("report.py: refused: %s" % refused, file=sys.stderr)
        return 2
    if common is None:
        print("report.py: no results in %s" % args.results_dir, file=sys.stderr)
        return 2
    for prog in PROGRAMS:
        e, p = docs[prog]["ember"], docs[prog]["pytorch"]
        if e is None and p is None:
            continue
        s, f = join(prog, e, p)
        summary += s
        full += f
        if prog == "bench_pipeline":
            extra += scaling_rows(e)
            extra += floor_rows(e)
        if prog == "bench_data":
            extra += zlib_rows(e, p)

    targets = [r for r in summary + extra if r.get("target")]
    met = sum(1 for r in targets if r.get("met"))
    missed = [r for r in targets if r.get("met") is False]
    invalid = [r for r in targets if r.get("invalid")]
    unknown = [r for r in targets if r.get("met") is None and not r.get("invalid")]

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

    ember_p, torch_p = side_provenance(loaded, "ember"), side_provenance(loaded, "pytorch")
    dates = sorted(d["provenance"]["date"] for d in loaded.values())
    provenance = {
        "commit": common["commit"],
        "dirty": common["dirty"],
        "cpu": common["cpu"],
        "hardware_threads": common["hardware_threads"],
        "dates": [dates[0], dates[-1]],
        "ember": {k: ember_p.get(k) for k in ("build_type", "flags", "thread_backend", "isa",
                                               "compiler")} if ember_p else None,
        "pytorch": {k: torch_p.get(k) for k in ("build_type", "flags", "thread_backend", "blas")}
        if torch_p else None,
    }
    report = {
        "provenance": provenance,
        "env_note": args.env_note,
        "pytorch_machine": torch_machine,
        "ember_machine": ember_machine,
        "targets": {"total": len(targets), "met": met, "missed": len(missed), "invalid": len(invalid),
                    "unmeasured": len(unknown)},
        "summary": summary + extra,
        "full": full,
        "raw": docs,
    }
    with open(os.path.join(args.results_dir, "report.json"), "w") as f:
        json.dump(report, f, indent=1)

    md = ["# ember vs PyTorch, side by side", ""]
    md += header_lines(provenance) + [""]
    if args.env_note:
        md += [args.env_note, ""]
    if torch_machine:
        md.append(
            "PyTorch %s, BLAS: %s (%s); OPENBLAS_CORETYPE=%s, OPENBLAS_L2_SIZE=%s; CPU: %s, %s hardware threads."
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
        "min. Kernel rows compare like with like: OP rows allocate a new output on both sides "
        "(ember has no out= variant of these ops), copy/new and copy/out time x.clone() and "
        "dst.copy_(x) on both sides; at 2^24 elements a new output includes each library's "
        "allocator (ember reuses cached blocks, PyTorch's pays fresh page faults), so compare "
        "copy/out for the kernels' memory speed. Pipeline rows show both sides' test accuracy "
        "after the same epoch; a row whose accuracies differ by more than the run-to-run spread "
        "is INVALID, not a win. Targets met: %d of %d (%d missed, %d invalid, %d unmeasured)."
        % (met, len(targets), len(missed), len(invalid), len(unknown))
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
