#!/usr/bin/env python3
"""bench/busy.py: training epochs on a busy machine, ember and PyTorch, default threads vs 1.

Starts its own CPU-bound processes (0, 1 and 2 of them by default: plain spin loops, each bounded
by --busy-max-s and always killed by this script, also on Ctrl-C or an error), and with each load
times whole training epochs at the default thread count and at 1 thread:
  ember    the installed-style app (ember-softmax-regression --model softmax|mlp|lenet, --metrics), the
           median of its per-epoch `seconds` (train + test) after the first epoch; "default" runs
           without --threads and without OMP_NUM_THREADS, so the library picks (all cores);
           once per backend of --backends: "pool" (ember's own, the default build) and "openmp"
           (a build with -DEMBER_THREADS=openmp), the latter once per --omp-settings entry (an
           environment for libgomp, e.g. OMP_WAIT_POLICY=passive; "default" sets none);
  PyTorch  bench/peers/peer_pipeline.py's Trainer (the same epoch, batch 256), at torch's
           default thread count (the core count, also given to OpenBLAS) and at 1, with OpenBLAS
           as bench/run.sh gives it; the same number of epochs, or fewer once
           --pytorch-budget-s has passed (its default threads can take a minute per epoch), the
           median after the first.
Prints one JSON object on stdout: per model and load, each side's two medians, the ratio
default / 1 thread of the medians and of each round (default and 1-thread runs back to back), and
the worst round (the goal of issues 11 and 22, on the pool: at most 1.3 in every round with 1 and
2 busy processes; the OpenMP columns are reported beside it, issue 22 part 6), and a Markdown table
on stderr. The machine's other load (load average) is recorded; run it on an
otherwise quiet machine, without nice.

usage: bench/busy.py [--app PATH] [--build-dir DIR] [--skip-build] [--loads 0,1,2]
                     [--models softmax,mlp] [--epochs-softmax N] [--epochs-mlp N]
                     [--epochs-lenet N] [--repeat R] [--backends pool,openmp]
                     [--openmp-app PATH] [--openmp-build-dir DIR] [--omp-settings S [S ...]]
                     [--no-pytorch] [--busy-max-s S] [--run-timeout-s S] [--pytorch-budget-s S]
  --app          the ember-softmax-regression binary (default: build it, Release, in --build-dir)
  --build-dir    ember's build dir (default: build-bench, as bench/run.sh)
  --backends     ember's thread backends to time: pool (--app) and/or openmp (--openmp-app,
                 default: built, Release with -DEMBER_THREADS=openmp, in --openmp-build-dir,
                 default build-bench-openmp; with --skip-build the app already there)
  --omp-settings the OpenMP backend's environments, each timed as its own column: "default" (no
                 OMP_ or GOMP_ variable) or space-separated VAR=VALUE pairs (default: default,
                 "OMP_WAIT_POLICY=passive" and "OMP_DYNAMIC=true")
  --repeat R     run the whole matrix R times and report the median of each figure
  --models       any of softmax, mlp and lenet (d2l's LeNet: issue 20 asks the same ratio of it)
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provenance  # noqa: E402  (bench/provenance.py)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
PYTHON = "/usr/bin/python3"
OPENBLAS_DIR = os.environ.get("EMBER_OPENBLAS_DIR", "/usr/lib/x86_64-linux-gnu/openblas-pthread")
# A busy process: a spin loop that ends by itself after its deadline even if this script dies.
BUSY_CODE = "import sys, time\nend = time.time() + float(sys.argv[1])\nwhile time.time() < end: pass\n"

busy_procs = []


def log(*args):
    print("[busy %s]" % time.strftime("%H:%M:%S"), *args, file=sys.stderr, flush=True)


def stop_busy():
    for p in busy_procs:
        if p.poll() is None:
            p.kill()
    for p in busy_procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    busy_procs.clear()


def start_busy(count, max_s):
    for _ in range(count):
        busy_procs.append(subprocess.Popen([PYTHON, "-c", BUSY_CODE, str(max_s)]))
    time.sleep(0.5)  # let them reach the spin loop


def on_signal(signum, _frame):
    stop_busy()
    sys.exit(128 + signum)


def clean_env(setting=None):
    """This environment without OpenMP's variables, then `setting`'s VAR=VALUE pairs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_"))}
    if setting and setting != "default":
        env.update(pair.split("=", 1) for pair in setting.split())
    return env


def ember_epoch_ms(app, model, threads, epochs, timeout_s, setting=None):
    """Median epoch time (ms) of one app run, and the epochs it completed."""
    with tempfile.TemporaryDirectory() as tmp:
        metrics = os.path.join(tmp, "run.jsonl")
        cmd = [app, "--model", model, "--epochs", str(epochs), "--quiet", "--metrics", metrics]
        if threads is not None:
            cmd += ["--threads", str(threads)]
        try:
            subprocess.run(cmd, env=clean_env(setting), stdout=subprocess.DEVNULL,
                           timeout=timeout_s, check=True)
        except subprocess.TimeoutExpired:
            log("  ember run timed out after %d s; using the epochs it finished" % timeout_s)
        seconds = []
        if os.path.exists(metrics):
            with open(metrics) as f:
                seconds = [json.loads(line)["seconds"] for line in f if line.strip()]
    if not seconds:
        return None, 0
    timed = seconds[1:] if len(seconds) > 1 else seconds  # the first epoch is the warm-up
    return statistics.median(timed) * 1e3, len(seconds)


# PyTorch's epochs, timed here rather than by peer_pipeline.py's own loop so that a run can stop at
# a deadline: with busy processes its default thread count can take a minute per epoch.
PEER_DRIVER = """
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
import peer_common as pc
import peer_pipeline as pp
kind, threads, epochs, budget_s = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
pc.set_threads(threads)
data = pc.load_fashion_mnist(pc.DATA_DIR)
trainer = pp.Trainer(kind, 256, data)
times, deadline = [], time.time() + budget_s
for _ in range(epochs):
    t0 = time.perf_counter()
    trainer.epoch()
    times.append(time.perf_counter() - t0)
    if time.time() > deadline:
        break
print(json.dumps({"seconds": times, "blas": pc.loaded_blas()}))
"""


def pytorch_epoch_ms(model, threads, epochs, budget_s, timeout_s):
    """Median epoch time (ms) after the first epoch, and the epochs run (fewer at the deadline)."""
    env = clean_env()
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    if os.path.exists(os.path.join(OPENBLAS_DIR, "libblas.so.3")):
        env["LD_LIBRARY_PATH"] = OPENBLAS_DIR + (":" + env["LD_LIBRARY_PATH"]
                                                 if env.get("LD_LIBRARY_PATH") else "")
    kind = {"softmax": "softmax_regression", "mlp": "mlp", "lenet": "lenet"}[model]
    cmd = [PYTHON, "-c", PEER_DRIVER, os.path.join(BENCH, "peers"), kind, str(threads),
           str(epochs), str(budget_s)]
    try:
        out = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             timeout=timeout_s, check=True).stdout
    except (subprocess.TimeoutExpired, subprocess.CalledProcessError) as e:
        log("  PyTorch run failed or timed out: %s" % e)
        return None, 0
    seconds = json.loads(out)["seconds"]
    timed = seconds[1:] if len(seconds) > 1 else seconds
    return statistics.median(timed) * 1e3, len(seconds)


def build_app(build_dir, threads_backend="pool"):
    log("building ember-softmax-regression (Release, %s) in %s" % (threads_backend, build_dir))
    subprocess.run(["cmake", "-S", ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
                    "-DEMBER_BUILD_TESTS=OFF", "-DEMBER_BUILD_APPS=ON", "-DEMBER_BUILD_BENCH=OFF",
                    "-DEMBER_THREADS=" + threads_backend],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", build_dir, "--target", "softmax_regression", "-j",
                    str(os.cpu_count() or 1)], check=True, stdout=subprocess.DEVNULL)
    return os.path.join(build_dir, "apps", "softmax_regression", "ember-softmax-regression")


def app_build_dir(app):
    """The build dir holding `app` (the nearest parent with a CMakeCache.txt), or None."""
    d = os.path.dirname(os.path.abspath(app))
    while d != os.path.dirname(d):
        if os.path.exists(os.path.join(d, "CMakeCache.txt")):
            return d
        d = os.path.dirname(d)
    return None


def ratio(a, b):
    return round(a / b, 3) if a and b else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--app")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build-bench"))
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--loads", default="0,1,2")
    ap.add_argument("--models", default="softmax,mlp")
    ap.add_argument("--epochs-softmax", type=int, default=12)
    ap.add_argument("--epochs-mlp", type=int, default=5)
    ap.add_argument("--epochs-lenet", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--backends", default="pool,openmp")
    ap.add_argument("--openmp-app")
    ap.add_argument("--openmp-build-dir", default=os.path.join(ROOT, "build-bench-openmp"))
    ap.add_argument("--omp-settings", nargs="+",
                    default=["default", "OMP_WAIT_POLICY=passive", "OMP_DYNAMIC=true"])
    ap.add_argument("--no-pytorch", action="store_true")
    ap.add_argument("--busy-max-s", type=float, default=900.0)
    ap.add_argument("--run-timeout-s", type=float, default=120.0)
    ap.add_argument("--pytorch-budget-s", type=float, default=40.0)
    args = ap.parse_args()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    backends = args.backends.split(",")
    if not backends or any(b not in ("pool", "openmp") for b in backends):
        ap.error("--backends: a comma-separated list of pool and openmp, got %r" % args.backends)
    for setting in args.omp_settings:
        if setting != "default" and not all("=" in pair for pair in setting.split()):
            ap.error("--omp-settings: %r is neither default nor VAR=VALUE pairs" % setting)

    def the_app(given, build_dir, backend):
        if given:
            return given
        if args.skip_build:
            return os.path.join(build_dir, "apps", "softmax_regression", "ember-softmax-regression")
        return build_app(build_dir, backend)

    # The ember columns: (key, app, OpenMP environment). "ember" is the pool, as before issue 22.
    columns = []
    if "pool" in backends:
        columns.append(("ember", the_app(args.app, args.build_dir, "pool"), None))
    if "openmp" in backends:
        omp_app = the_app(args.openmp_app, args.openmp_build_dir, "openmp")
        columns += [("openmp " + setting, omp_app, setting) for setting in args.omp_settings]
    for _, column_app, _ in columns:
        if not os.access(column_app, os.X_OK):
            ap.error("no app at %s (build it, or leave out --skip-build, or choose --backends)"
                     % column_app)
    app = columns[0][1]
    loads = [int(x) for x in args.loads.split(",")]
    models = args.models.split(",")
    cores = os.cpu_count() or 1
    epochs = {"softmax": args.epochs_softmax, "mlp": args.epochs_mlp, "lenet": args.epochs_lenet}
    unknown = [m for m in models if m not in epochs]
    if unknown:
        ap.error("unknown model(s) %s: choose from %s" % (", ".join(unknown), ", ".join(epochs)))
    load_before = open("/proc/loadavg").read().split()[:3]

    samples = {}  # (model, busy, side, threads) -> [ms]
    try:
        for rep in range(args.repeat):
            for busy in loads:
                log("repeat %d/%d: %d busy process(es)" % (rep + 1, args.repeat, busy))
                start_busy(busy, args.busy_max_s)
                try:
                    for model in models:
                        for key, column_app, setting in columns:
                            for label, threads in (("default", None), ("1", 1)):
                                ms, done = ember_epoch_ms(column_app, model, threads,
                                                          epochs[model], args.run_timeout_s,
                                                          setting)
                                log("  %-30s %-7s threads %-7s %s ms (%d epochs)" %
                                    (key, model, label, "%.1f" % ms if ms else "n/a", done))
                                samples.setdefault((model, busy, key, label), []).append(ms)
                        if args.no_pytorch:
                            continue
                        for label, threads in (("default", cores), ("1", 1)):
                            ms, done = pytorch_epoch_ms(model, threads, epochs[model],
                                                        args.pytorch_budget_s,
                                                        4 * args.run_timeout_s)
                            log("  pytorch %-7s threads %-7s %s ms (%d epochs)" %
                                (model, label, "%.1f" % ms if ms else "n/a", done))
                            samples.setdefault((model, busy, "pytorch", label), []).append(ms)
                finally:
                    stop_busy()
    finally:
        stop_busy()

    def med(key):
        xs = [x for x in samples.get(key, []) if x]
        return round(statistics.median(xs), 2) if xs else None

    def summary(model, busy, side):
        d, one = med((model, busy, side, "default")), med((model, busy, side, "1"))
        runs = {"default": samples.get((model, busy, side, "default"), []),
                "1": samples.get((model, busy, side, "1"), [])}
        # A round's ratio pairs its default run with its 1-thread run, taken one after the other
        # under the same busy processes; the goal is on the worst round.
        rounds = [ratio(a, b) if a and b else None for a, b in zip(runs["default"], runs["1"])]
        worst = max((r for r in rounds if r is not None), default=None)
        return {"default_ms": d, "threads1_ms": one, "ratio": ratio(d, one),
                "round_ratios": rounds, "worst_round_ratio": worst, "runs_ms": runs}

    results = []
    for model in models:
        for busy in loads:
            row = {"model": model, "busy_processes": busy}
            if "pool" in backends:
                row["ember"] = summary(model, busy, "ember")
            if "openmp" in backends:
                row["ember_openmp"] = {setting: summary(model, busy, "openmp " + setting)
                                       for setting in args.omp_settings}
            if not args.no_pytorch:
                row["pytorch"] = summary(model, busy, "pytorch")
            if "pool" not in backends:
                row["goal_met"] = None
            elif busy > 0:
                worst = row["ember"]["worst_round_ratio"]
                row["goal_met"] = (worst is not None and None not in row["ember"]["round_ratios"]
                                   and worst <= 1.3)
            else:
                row["goal_met"] = None
            results.append(row)
    build_dir = app_build_dir(app)
    build_type, flags = provenance.ember_build(build_dir) if build_dir else (None, None)
    extra = {"app": os.path.relpath(os.path.abspath(app), ROOT),
             "app_version": provenance.app_version(app)}
    if "openmp" in backends:
        extra["openmp_app"] = os.path.relpath(os.path.abspath(omp_app), ROOT)
        extra["openmp_app_version"] = provenance.app_version(omp_app)
        extra["omp_settings"] = args.omp_settings
    if not args.no_pytorch:
        extra["pytorch_thread_backend"] = "torch (torch.set_num_threads; OpenBLAS given the same)"
    report = {
        "program": "busy",
        "provenance": provenance.provenance(build_type, flags, provenance.EMBER_THREAD_BACKEND,
                                            **extra),
        "command": " ".join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:]),
        "cores": cores,
        "default_threads": {"ember": cores, "pytorch": cores},
        "epochs": epochs,
        "repeat": args.repeat,
        "load_average_before": load_before,
        "load_average_after": open("/proc/loadavg").read().split()[:3],
        "goal": "with 1 or 2 busy processes, ember's default epoch <= 1.3x its --threads 1 epoch"
                " in every round (worst_round_ratio)",
        "results": results,
    }
    print(json.dumps(report, indent=1))

    sides = [("ember", "ember (pool)")] if "pool" in backends else []
    sides += [(("ember_openmp", setting), "ember OpenMP, %s" % setting)
              for setting in (args.omp_settings if "openmp" in backends else [])]
    sides += [] if args.no_pytorch else [("pytorch", "PyTorch")]
    print("\n| model | busy | " + " | ".join("%s: default / 1 thread ms, ratio, worst round" % name
                                           for _, name in sides) + " |", file=sys.stderr)
    print("|---|---|" + "---|" * len(sides), file=sys.stderr)
    for r in results:
        cells = []
        for key, _ in sides:
            s = r[key] if isinstance(key, str) else r[key[0]][key[1]]
            cells.append("%s / %s, %s, %s" % (s["default_ms"], s["threads1_ms"], s["ratio"],
                                              s["worst_round_ratio"]))
        print("| %s | %d | %s |" % (r["model"], r["busy_processes"], " | ".join(cells)),
              file=sys.stderr)


if __name__ == "__main__":
    main()
