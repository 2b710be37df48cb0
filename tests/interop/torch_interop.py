#!/usr/bin/env python3
"""Weights between ember and PyTorch through safetensors, both directions (issue 21).

  torch_interop.py fixtures OUT_DIR
      Writes the PyTorch-made fixtures that tests/apps/test_app.cpp loads into ember in every
      test run (tests/data/interop/): softmax, mlp and lenet-bn .safetensors, three of the app's
      models with PyTorch's own initialization (torch.manual_seed, the layers' defaults, and
      train_ch6's xavier_uniform_ for LeNet), and
      expected.json, PyTorch's figures from those weights: the test accuracy before training and
      the first epoch's train loss, train accuracy and test accuracy; and under "seeded", the
      first epoch of lenet and lenet-bn from torch.manual_seed(S) alone (SEEDED).

  torch_interop.py check APP INTEROP_LOGITS DATA_DIR FIXTURE_DIR WORK_DIR
      (1) ember -> PyTorch: the app trains each model and --exports it; PyTorch loads the file
          into the same torch.nn model (strict) and must get ember's test accuracy exactly and
          its logits (from INTEROP_LOGITS) within 1e-5.
      (2) PyTorch -> ember: the fixtures are made again and must equal the committed ones (the
          bytes of the weights, the figures within 1e-5); then the app starts from them
          (--init-from) and its first epoch must match PyTorch's within 1e-5.
      (3) The same seed: the app with --seed S alone (PyTorch's draws: the same initial weights
          and batch orders) gets PyTorch's first epoch from torch.manual_seed(S) within 1e-5.

Exits 4 (CTest's SKIP_RETURN_CODE, as every skip in tests/) when torch is not installed; the
ember side of (2) still runs in test_apps from the committed fixtures.

The batch order: the app shuffles with ember's DataLoader, whose orders are torch.randperm's
from the same seed (datasets/src/dataloader.cpp, Note [PyTorch's draws] in
core/include/ember/core/generator.h); ember_orders() below draws them with torch, so PyTorch trains on
exactly the app's batches. Debian's python3-torch has no safetensors package, so the format's
reader and writer are here too (json + numpy, 40 lines).
"""
import gzip
import json
import os
import struct
import subprocess
import sys

try:
    import numpy as np
    import torch
    from torch import nn
except ImportError:
    print("SKIPPED: torch_interop.py: PyTorch is not installed (apt-get install python3-torch)")
    sys.exit(4)  # SKIP_RETURN_CODE in tests/interop/CMakeLists.txt

# The d2l models as the PyTorch side of the benchmarks builds them (bench/peers/peer_pipeline.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench",
                                "peers"))
import peer_pipeline  # noqa: E402

# --- safetensors, json + numpy ---

DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
          "U8": np.uint8}
NAMES = {np.dtype(v): k for k, v in DTYPES.items()}


def save_safetensors(tensors, path, metadata=None):
    """tensors: name -> numpy array, written in order; the header padded to 8 bytes."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, array in tensors.items():
        array = np.array(array, order="C")  # not ascontiguousarray: it makes a 0-d array 1-d
        blob = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": NAMES[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def load_safetensors(path):
    """name -> numpy array (F16 kept as float16), and the metadata."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", {})
    body = data[8 + n:]
    tensors = {}
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        begin, end = info["data_offsets"]
        dtype = np.dtype(DTYPES[info["dtype"]]).newbyteorder("<")
        tensors[name] = np.frombuffer(body[begin:end], dtype=dtype).reshape(info["shape"])
    return tensors, metadata


def to_torch(arrays):
    return {k: torch.from_numpy(np.array(v, dtype=v.dtype.newbyteorder("="))).float()
            if v.dtype.kind == "f" else torch.from_numpy(np.array(v)) for k, v in arrays.items()}


# --- The data and the app's models ---

def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(data_dir, prefix):
    images = read_idx(os.path.join(data_dir, prefix + "-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, prefix + "-labels-idx1-ubyte.gz"))
    # torchvision's ToTensor, as ember's loader: x / 255 in float32, [N, 1, 28, 28].
    x = torch.from_numpy(images.astype(np.float32) / np.float32(255)).unsqueeze(1)
    return x, torch.from_numpy(labels.astype(np.int64))


def make_model(kind):
    """The app's model (apps/softmax_regression/model.cpp, make_model), the same state_dict names.

    lenet-bn's buffers (running_mean, running_var and the int64 num_batches_tracked) travel like
    parameters (I64 is a safetensors dtype both sides write)."""
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    if kind in ("lenet", "lenet-bn"):  # d2l 6.6 and 7.5, train_ch6's xavier init: the peer's
        return peer_pipeline.make_net(kind.replace("-", "_"))
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 10))


def ember_orders(n, seed):
    """ember's DataLoader(shuffle, seed) epoch orders, one per next(): torch.randperm from one
    generator seeded once, as the app's loader draws epoch after epoch (a test_dataloader case
    checks ember's side against torch's numbers)."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        yield torch.randperm(n, generator=generator).tolist()


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        correct = int((model(x).argmax(1) == y).sum())
    model.train()
    return correct / len(y)  # a double, as the app's correct / seen


def train_epoch(model, sgd, x, y, order, batch_size):
    """The app's epoch (d2l's train_ch3): SGD on CrossEntropyLoss over the batches of `order`."""
    loss_fn = nn.CrossEntropyLoss()
    order = torch.tensor(order)
    loss_sum, correct, seen = 0.0, 0, 0
    model.train()
    for start in range(0, len(y), batch_size):
        index = order[start:start + batch_size]
        logits = model(x[index])
        loss = loss_fn(logits, y[index])
        sgd.zero_grad()
        loss.backward()
        sgd.step()
        n = len(index)
        loss_sum += float(loss.item()) * n
        correct += int((logits.argmax(1) == y[index]).sum())
        seen += n
    return {"train_loss": loss_sum / seen, "train_acc": correct / seen}


def first_epoch(model, data_dir, batch_size, lr, seed):
    """The app's first epoch, in ember's batch order, and the test accuracy after it."""
    x, y = load_split(data_dir, "train")
    test_x, test_y = load_split(data_dir, "t10k")
    sgd = torch.optim.SGD(model.parameters(), lr=lr)
    figures = train_epoch(model, sgd, x, y, next(ember_orders(len(y), seed)), batch_size)
    figures["test_acc"] = accuracy(model, test_x, test_y)
    return figures


# Each model: its torch seed and the dtype its floating-point tensors are stored in (the MLP and
# LeNet in F16, to keep the committed files small and to exercise ember's F16 reading; their
# weights are rounded to float16 before PyTorch trains, so both sides start from the same
# numbers). Integer tensors (BatchNorm's num_batches_tracked) stay I64.
FIXTURES = {"softmax": {"seed": 21, "dtype": np.float32},
            "mlp": {"seed": 22, "dtype": np.float16},
            "lenet-bn": {"seed": 23, "dtype": np.float16}}
TRAINING = {"epochs": 1, "batch_size": 256, "lr": 0.1, "seed": 0}
# --seed S alone (no --init-from): the app draws PyTorch's initial weights and batch orders from S
# (Note [PyTorch's draws]), so its first epoch is PyTorch's after torch.manual_seed(S).
SEEDED = {"lenet": 4, "lenet-bn": 5}


def seeded_figures(kind, data_dir):
    torch.manual_seed(SEEDED[kind])
    model = make_model(kind)
    return first_epoch(model, data_dir, TRAINING["batch_size"], TRAINING["lr"], SEEDED[kind])


def make_fixture(kind, data_dir):
    spec = FIXTURES[kind]
    torch.manual_seed(spec["seed"])
    model = make_model(kind)
    arrays = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    arrays = {k: v.astype(spec["dtype"]) if v.dtype.kind == "f" else v for k, v in arrays.items()}
    model.load_state_dict(to_torch(arrays))  # the stored (rounded) values
    test_x, test_y = load_split(data_dir, "t10k")
    figures = {"initial_test_acc": accuracy(model, test_x, test_y)}
    figures.update(first_epoch(model, data_dir, TRAINING["batch_size"], TRAINING["lr"],
                               TRAINING["seed"]))
    return arrays, figures


def write_fixtures(out_dir, data_dir):
    os.makedirs(out_dir, exist_ok=True)
    expected = {"training": TRAINING, "torch": torch.__version__, "models": {}}
    for kind in FIXTURES:
        arrays, figures = make_fixture(kind, data_dir)
        save_safetensors(arrays, os.path.join(out_dir, kind + ".safetensors"),
                         {"format": "pt", "written_by": "tests/interop/torch_interop.py"})
        expected["models"][kind] = dict(weights=kind + ".safetensors", **figures)
    expected["seeded"] = {kind: dict(seed=seed, **seeded_figures(kind, data_dir))
                          for kind, seed in SEEDED.items()}
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2)
        f.write("\n")


def run_app(app, args):
    result = subprocess.run([app] + args, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{app} {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


def last_metrics(path):
    with open(path) as f:
        return json.loads(f.read().splitlines()[-1])


def check(app, logits_tool, data_dir, fixture_dir, work_dir):
    failures = []

    def expect(ok, what):
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            failures.append(what)

    test_x, test_y = load_split(data_dir, "t10k")
    for kind in FIXTURES:
        # (1) ember trains and exports; PyTorch loads the file.
        weights = os.path.join(work_dir, kind + "-ember.safetensors")
        metrics = os.path.join(work_dir, kind + "-ember.jsonl")
        run_app(app, ["--data", data_dir, "--model", kind, "--epochs", "2", "--batch-size", "64",
                      "--quiet", "--export", weights, "--metrics", metrics])
        ember_acc = last_metrics(metrics)["test_acc"]
        arrays, metadata = load_safetensors(weights)
        model = make_model(kind)
        model.load_state_dict(to_torch(arrays))  # strict: the names and shapes are PyTorch's
        model.eval()
        with torch.no_grad():
            torch_logits = model(test_x)
        torch_acc = int((torch_logits.argmax(1) == test_y).sum()) / len(test_y)
        expect(torch_acc == ember_acc,
               f"{kind}: ember -> torch test accuracy {torch_acc} == ember's {ember_acc}")
        out = os.path.join(work_dir, kind + "-logits.safetensors")
        subprocess.run([logits_tool, kind, weights, data_dir, out], check=True)
        ember_out, _ = load_safetensors(out)
        diff = float((torch_logits - torch.from_numpy(ember_out["logits"].copy())).abs().max())
        expect(diff <= 1e-5, f"{kind}: ember -> torch logits within 1e-5 (max diff {diff:.3g})")
        expect(metadata.get("format") == "pt", f"{kind}: the export's metadata says format pt")

        # (2) PyTorch makes the weights; ember starts from them.
        arrays, figures = make_fixture(kind, data_dir)
        committed, _ = load_safetensors(os.path.join(fixture_dir, kind + ".safetensors"))
        same = list(committed) == list(arrays) and all(
            np.array_equal(committed[k], arrays[k]) for k in arrays)
        expect(same, f"{kind}: the committed fixture is what torch makes")
        with open(os.path.join(fixture_dir, "expected.json")) as f:
            stored = json.load(f)["models"][kind]
        for key, value in figures.items():
            expect(abs(stored[key] - value) <= 1e-5,
                   f"{kind}: expected.json {key} {stored[key]} == torch's {value} (1e-5)")
        metrics = os.path.join(work_dir, kind + "-torch.jsonl")
        run_app(app, ["--data", data_dir, "--model", kind, "--epochs", "1", "--batch-size",
                      str(TRAINING["batch_size"]), "--lr", str(TRAINING["lr"]), "--seed",
                      str(TRAINING["seed"]), "--quiet", "--metrics", metrics, "--init-from",
                      os.path.join(fixture_dir, kind + ".safetensors")])
        row = last_metrics(metrics)
        for key in ("train_loss", "train_acc", "test_acc"):
            expect(abs(row[key] - figures[key]) <= 1e-5,
                   f"{kind}: torch -> ember first epoch {key} {row[key]} == torch's "
                   f"{figures[key]} (1e-5)")
    # (3) The same seed, nothing else: the app's first epoch is PyTorch's.
    for kind, seed in SEEDED.items():
        figures = seeded_figures(kind, data_dir)
        with open(os.path.join(fixture_dir, "expected.json")) as f:
            stored = json.load(f)["seeded"][kind]
        metrics = os.path.join(work_dir, kind + "-seeded.jsonl")
        run_app(app, ["--data", data_dir, "--model", kind, "--epochs", "1", "--batch-size",
                      str(TRAINING["batch_size"]), "--lr", str(TRAINING["lr"]), "--seed", str(seed),
                      "--quiet", "--metrics", metrics])
        row = last_metrics(metrics)
        for key in ("train_loss", "train_acc", "test_acc"):
            expect(abs(stored[key] - figures[key]) <= 1e-5,
                   f"{kind}: expected.json seeded {key} {stored[key]} == torch's {figures[key]}")
            expect(abs(row[key] - figures[key]) <= 1e-5,
                   f"{kind}: --seed {seed} first epoch {key} {row[key]} == torch's {figures[key]} "
                   "from torch.manual_seed (1e-5)")
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    return 0


def main(argv):
    torch.set_num_threads(1)
    here = os.path.dirname(os.path.abspath(__file__))
    data_dir = os.path.join(here, "..", "data", "fashion-mnist-small")
    if len(argv) == 3 and argv[1] == "fixtures":
        write_fixtures(argv[2], data_dir)
        return 0
    if len(argv) == 7 and argv[1] == "check":
        return check(*argv[2:7])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
