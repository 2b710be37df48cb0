"""PyTorch peer of bench_data: loading the Fashion-MNIST IDX files and one DataLoader epoch.

Names:
  idx_load/FILE          read + gunzip + parse one IDX file into a uint8 tensor (gzip + numpy, the
                         way a PyTorch user without torchvision would); FILE is train-images.gz,
                         train-labels.gz, test-images.gz, test-labels.gz (or the full Debian file
                         name); idx_load/all loads all four.
  idx_load/FILE.raw      the same file decompressed beforehand to a temporary file: np.fromfile
                         (zero-copy into a tensor), the plain-read path.
  zlib_inflate/FILE      zlib's own inflate of the file's bytes (already read into memory): the
                         floor the IDX loader is measured against (Python's zlib is a thin wrapper).
  dataloader_epoch/bB_shuffle (or bB_noshuffle)
                         one epoch over the 60000 preloaded training images at batch B: randperm,
                         a gather per batch and uint8 -> float /255 (what ToTensor does), labels
                         gathered alongside. This is the fastest PyTorch way for in-memory data;
                         torch.utils.data.DataLoader with per-sample indexing is far slower.
"""

import gzip
import os
import sys
import tempfile
import zlib

import numpy as np

import torch

sys.path.insert(0, os.path.dirname(__file__))
import peer_common as pc  # noqa: E402

DEFAULT_NAMES = [
    "idx_load/train-images.gz",
    "idx_load/train-images.raw",
    "dataloader_epoch/b256_shuffle",
]
TEMP_FILES = []


def resolve(data_dir, key):
    """train-images.gz / train-images / the Debian file name -> full path."""
    base = key[:-3] if key.endswith(".gz") else key
    base = base.replace("t10k", "test")
    for k, filename in pc.FILES.items():
        if base in (k, filename[:-3]) or key == filename:
            return os.path.join(data_dir, filename)
    return None


def make_case(name, data, args):
    kind, _, arg = name.partition("/")
    if kind == "idx_load" and arg.endswith(".raw"):
        path = resolve(args.data, arg[: -len(".raw")])
        if path is None:
            return None
        with gzip.open(path, "rb") as f:
            raw = f.read()
        tmp = tempfile.NamedTemporaryFile(prefix="ember_peer_", suffix=".idx", delete=False)
        tmp.write(raw)
        tmp.close()
        TEMP_FILES.append(tmp.name)
        ndim = raw[3]
        dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
        offset = 4 + 4 * ndim
        return lambda: torch.from_numpy(np.fromfile(tmp.name, dtype=np.uint8, offset=offset).reshape(dims))
    if kind == "idx_load":
        if arg == "all":
            paths = [os.path.join(args.data, f) for f in pc.FILES.values()]
        else:
            path = resolve(args.data, arg)
            if path is None:
                return None
            paths = [path]
        return lambda: [torch.from_numpy(pc.read_idx_gz(p).copy()) for p in paths]
    if kind == "zlib_inflate":
        path = resolve(args.data, arg)
        if path is None:
            return None
        with open(path, "rb") as f:
            raw = f.read()
        # wbits 16 + MAX_WBITS: gzip framing, as gzip.open reads it.
        return lambda: zlib.decompress(raw, 16 + zlib.MAX_WBITS)
    if kind == "dataloader_epoch":
        spec = arg.split("_")
        batch = int(spec[0].lstrip("b"))
        shuffle = len(spec) < 2 or spec[1] == "shuffle"
        images, labels = data()["train"]
        gen = torch.Generator().manual_seed(0)

        def epoch():
            n = 0
            for x, y in pc.batches(images, labels, batch, shuffle, gen):
                n += y.shape[0]
            assert n == images.shape[0]

        return epoch
    return None


def main():
    args = pc.parse_args(__doc__)
    report = pc.Report("bench_data", args)
    cache = {}

    def data():
        if "d" not in cache:
            cache["d"] = pc.load_fashion_mnist(args.data)
        return cache["d"]

    names = list(report.ember_names() or DEFAULT_NAMES)
    # Target 4's yardstick: zlib's inflate of every .gz file the loader is timed on.
    yardsticks = ["zlib_inflate/" + n[len("idx_load/") :] for n in names if n.startswith("idx_load/") and n.endswith(".gz")]
    for name in yardsticks:
        fn = make_case(name, data, args)
        if fn is not None and (not args.filter or any(f in name for f in args.filter)):
            pc.set_threads(1)
            times = pc.measure(fn, report.budget)
            row = pc.row_from_times(name, 1, times)
            report.results.append(row)
            print("  %-40s t=1  median %9.4f ms" % (name, row["median_ms"]), file=sys.stderr)
    for name in names:
        if not report.wants(name):
            continue
        fn = make_case(name, data, args)
        if fn is None:
            print("peer_data: no PyTorch peer for %r (skipped)" % name, file=sys.stderr)
            continue
        for threads in report.threads:
            report.run(name, threads, fn)
    for path in TEMP_FILES:
        os.remove(path)
    report.print()


if __name__ == "__main__":
    main()
