"""Shared timing and JSON helper for the PyTorch peers (the Python twin of bench/harness.h).

Each peer prints ONE JSON object on stdout with the same schema as the ember programs:
  {"program": "bench_kernels", "implementation": "pytorch", "provenance": {...}, "machine": {...},
   "results": [{"name": ..., "threads": .., "median_ms": .., "min_ms": .., "max_ms": .., "reps": ..,
                optional "gflops", "gbps", "peak_rss_mb"}]}
Result names are the join key with ember's program, so they must match byte for byte.

Command line (the same as the ember programs, plus --names-from and --threads):
  --filter SUBSTR     only names containing SUBSTR (repeatable)
  --quick             a tenth of the time budget
  --min-time-ms MS    time budget per result (default 300 ms of timed reps)
  --names-from FILE   run exactly the names (and thread counts) found in ember's JSON report FILE
  --threads LIST      comma-separated torch thread counts (default "1,2")
"""

import argparse
import ctypes
import gzip
import json
import os
import platform
import resource
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import provenance  # noqa: E402  (bench/provenance.py)

DATA_DIR = os.environ.get("EMBER_DATA_DIR", "/usr/share/datasets/fashion-mnist")


def parse_args(description, extra=None):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--filter", action="append", default=[])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--min-time-ms", type=float, default=300.0)
    p.add_argument("--names-from", default=None)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--data", default=DATA_DIR, help="folder holding the Fashion-MNIST .gz files")
    if extra:
        extra(p)
    return p.parse_args()


class Budget:
    def __init__(self, warmup=2, min_reps=5, max_reps=10000, min_time_ms=300.0, max_time_ms=5000.0):
        self.warmup, self.min_reps, self.max_reps = warmup, min_reps, max_reps
        self.min_time_ms, self.max_time_ms = min_time_ms, max_time_ms


def measure(fn, budget, prepare=None):
    """Warm-up calls, then timed reps until min_reps and min_time_ms are both met (or a cap).
    A call under 20 us is timed in groups of k calls per rep (rep time = group time / k), so the
    Python timer's own ~0.1 us does not count against PyTorch at tiny shapes. prepare(), if
    given, runs before every call of fn, untimed (then k = 1)."""
    grouped_ok = prepare is None
    prepare = prepare or (lambda: None)
    for _ in range(budget.warmup):
        prepare()
        fn()
    prepare()
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    k = 1 if once >= 20e-6 or not grouped_ok else max(1, min(100, int(100e-6 / max(once, 1e-7))))
    times = []
    start = time.perf_counter()
    while True:
        prepare()
        t0 = time.perf_counter()
        for _ in range(k):
            fn()
        t1 = time.perf_counter()
        times.append((t1 - t0) * 1e3 / k)
        elapsed = (t1 - start) * 1e3
        if len(times) >= budget.max_reps or elapsed >= budget.max_time_ms:
            break
        if len(times) >= budget.min_reps and elapsed >= budget.min_time_ms:
            break
    return times


def row_from_times(name, threads, times):
    return {
        "name": name,
        "threads": threads,
        "median_ms": statistics.median(times),
        "min_ms": min(times),
        "max_ms": max(times),
        "reps": len(times),
    }


def peak_rss_mb():
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def loaded_blas():
    """Which BLAS/LAPACK shared objects this process actually mapped (from /proc/self/maps)."""
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                base = os.path.basename(path)
                if any(k in base for k in ("blas", "lapack", "mkl", "blis")):
                    libs.add(os.path.realpath(path))
    except OSError:
        pass
    return sorted(libs)


def set_threads(threads):
    """torch.set_num_threads, and the same for OpenBLAS's own pthread pool: Debian's torch is built
    with BLAS_INFO=generic, so it never tells OpenBLAS (which otherwise uses every core)."""
    torch.set_num_threads(threads)
    for path in loaded_blas():
        if "openblas" in os.path.basename(path):
            try:
                ctypes.CDLL(path).openblas_set_num_threads(ctypes.c_int(threads))
            except (OSError, AttributeError):
                pass


def blas_kind():
    libs = " ".join(loaded_blas())
    for kind in ("openblas", "mkl", "blis", "atlas"):
        if kind in libs:
            return kind
    return "reference (netlib)" if libs else "unknown"


class Report:
    def __init__(self, program, args):
        self.program = program
        self.args = args
        self.results = []
        self.budget = Budget(min_time_ms=args.min_time_ms, max_time_ms=max(5000.0, 4 * args.min_time_ms))
        if args.quick:
            self.budget = Budget(warmup=1, min_reps=3, min_time_ms=args.min_time_ms / 10, max_time_ms=500)
        self.threads = [int(t) for t in args.threads.split(",") if t]
        # name -> set of thread counts ember reported (None: no restriction).
        self.wanted = None
        if args.names_from:
            with open(args.names_from) as f:
                ember = json.load(f)
            self.wanted = {}
            for r in ember.get("results", []):
                self.wanted.setdefault(r["name"], set()).add(int(r.get("threads", 1)))

    def wants(self, name, threads=None):
        if self.args.filter and not any(f in name for f in self.args.filter):
            return False
        if self.wanted is not None:
            if name not in self.wanted:
                return False
            if threads is not None and threads not in self.wanted[name]:
                return False
        return True

    def ember_names(self):
        """Names ember reported (in its order), or None without --names-from."""
        return None if self.wanted is None else list(self.wanted)

    def run(self, name, threads, fn, budget=None, prepare=None):
        """Times fn() at `threads` torch threads and stores the row; returns it (or None if unwanted).
        prepare: see measure."""
        if not self.wants(name, threads):
            return None
        set_threads(threads)
        row = row_from_times(name, threads, measure(fn, budget or self.budget, prepare))
        self.add(row)
        return row

    def add(self, row):
        if not self.wants(row["name"], row.get("threads")):
            return
        self.results.append(row)
        print(
            "  %-40s t=%d  median %9.4f ms  (min %.4f, max %.4f, %d reps)"
            % (row["name"], row["threads"], row["median_ms"], row["min_ms"], row["max_ms"], row["reps"]),
            file=sys.stderr,
            flush=True,
        )

    def print(self):
        machine = {
            "cpu": platform.processor() or cpu_model(),
            "hardware_threads": os.cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "blas": blas_kind(),
            "blas_libraries": loaded_blas(),
            "torch_blas_info": blas_info(),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
            "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE", "(unset)"),
            "LD_LIBRARY_PATH": os.environ.get("LD_LIBRARY_PATH", ""),
        }
        out = {"program": self.program, "implementation": "pytorch", "provenance": torch_provenance(),
               "machine": machine, "results": self.results}
        json.dump(out, sys.stdout, indent=1)
        sys.stdout.write("\n")
        sys.stdout.flush()


def cpu_model():
    return provenance.cpu_model()


def torch_config(key):
    """A KEY=value of torch.__config__.show() (its build), e.g. BUILD_TYPE, CXX_FLAGS."""
    for part in torch.__config__.show().replace("\n", ",").split(","):
        part = part.strip()
        if part.startswith(key + "="):
            return part[len(key) + 1 :]
    return ""


def torch_thread_backend():
    """torch's intra-op backend (torch.__config__.parallel_info(): "ATen parallel backend")."""
    for line in torch.__config__.parallel_info().splitlines():
        if "parallel backend" in line:
            return "torch " + line.split(":", 1)[1].strip()
    return "torch (unknown backend)"


def torch_provenance():
    """bench/provenance.py's object for the PyTorch side: the repository's commit (the peers are
    part of it), torch's own build type and flags, its thread backend, plus the BLAS it mapped."""
    return provenance.provenance(
        "torch %s %s" % (torch.__version__, torch_config("BUILD_TYPE")),
        torch_config("CXX_FLAGS").strip(),
        torch_thread_backend(),
        blas=blas_kind(),
    )


def blas_info():
    cfg = torch.__config__.show()
    for part in cfg.replace("\n", ",").split(","):
        if "BLAS_INFO" in part:
            return part.strip()
    return ""


# ---- Fashion-MNIST, preloaded (the IDX format: big-endian magic, dims, then uint8 data) ----

FILES = {
    "train-images": "train-images-idx3-ubyte.gz",
    "train-labels": "train-labels-idx1-ubyte.gz",
    "test-images": "t10k-images-idx3-ubyte.gz",
    "test-labels": "t10k-labels-idx1-ubyte.gz",
}


def read_idx_gz(path):
    """Reads one gzipped IDX file into a uint8 numpy array of its declared shape."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    assert magic >> 8 == 0x08, "%s: not a uint8 IDX file (magic %#x)" % (path, magic)
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fashion_mnist(data_dir):
    """Preloaded uint8 tensors: images [N, 1, 28, 28] uint8, labels [N] int64, for train and test."""
    out = {}
    for split in ("train", "test"):
        images = read_idx_gz(os.path.join(data_dir, FILES[split + "-images"]))
        labels = read_idx_gz(os.path.join(data_dir, FILES[split + "-labels"]))
        out[split] = (
            torch.from_numpy(images.copy()).unsqueeze(1),
            torch.from_numpy(labels.astype(np.int64)),
        )
    return out


def batches(images, labels, batch_size, shuffle, generator=None, order=None):
    """The fastest honest PyTorch input pipeline for preloaded data: a randperm (or the given
    order: an int64 tensor), then one gather per batch and the uint8 -> float /255 conversion
    ToTensor would do, per batch on the fly."""
    n = images.shape[0]
    if order is None and shuffle:
        order = torch.randperm(n, generator=generator)
    for start in range(0, n, batch_size):
        if order is None:
            x = images[start : start + batch_size]
            y = labels[start : start + batch_size]
        else:
            idx = order[start : start + batch_size]
            x = images.index_select(0, idx)
            y = labels.index_select(0, idx)
        yield x.float().div_(255.0), y
