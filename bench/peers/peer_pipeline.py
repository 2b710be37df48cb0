"""PyTorch peer of bench_pipeline: whole training epochs on Fashion-MNIST, d2l's settings.

One "epoch" (the same definition in bench/bench_pipeline.cpp):
  train: 60000 images, shuffled, batch B: logits = net(x); loss = CrossEntropyLoss(logits, y);
         zero_grad; backward; SGD step (lr 0.1, no momentum, no weight decay; LeNet lr 0.9,
         LeNet-BN lr 1.0: d2l's);
  test:  accuracy over the 10000 test images at batch B under no_grad (argmax == label).
Input is preloaded uint8 tensors (pc.batches: randperm, gather, uint8 -> float /255 per batch).
Each epoch row carries test_accuracies, the test accuracy after every epoch run (warm-up included),
which bench/report.py compares with ember's.
The same work as ember's: with --names-from (run.sh), each epoch row starts from the weights
ember's row started from (its "init_weights" file) and trains on ember's batches, its DataLoader's
shuffle replayed (tests/interop/torch_interop.py's ember_orders, computed before each timed epoch,
untimed), so both sides' accuracies agree to rounding; the row says so ("start": "ember"). Without
them (a standalone run), the peer draws its own weights and batches from seed 0 ("start": "own").
Names:
  softmax_regression/epoch   Sequential(Flatten, Linear(784, 10)), B = 256
  mlp/epoch/b256, mlp/epoch/b64   Sequential(Flatten, Linear(784, 256), ReLU, Linear(256, 10))
  lenet/epoch      d2l's LeNet (7.6), sigmoid and average pooling, xavier_uniform_ weights
                   (train_ch6's init), B = 256, lr 0.9
  lenet_bn/epoch   d2l's BNLeNet (8.5), BatchNorm before each sigmoid, B = 256, lr 1.0
  (lenet/floor and lenet_bn/floor are ember's compute floors: no PyTorch side.)
  softmax_regression/peak_rss     a full 10-epoch softmax-regression run in this process, done
                                  first; peak_rss_mb is getrusage's ru_maxrss (includes Python and
                                  libtorch: rss_after_import_mb is that part),
                                  median_ms the whole run's time.
"""

import json
import os
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
import peer_common as pc  # noqa: E402

DEFAULT_NAMES = [
    "softmax_regression/peak_rss",
    "softmax_regression/epoch",
    "mlp/epoch/b256",
    "mlp/epoch/b64",
    "lenet/epoch",
    "lenet_bn/epoch",
]
LEARNING_RATES = {"lenet": 0.9, "lenet_bn": 1.0, "mlp_dropout": 0.5}  # d2l's; the others 0.1
RSS_EPOCHS = 10


def init_weights(m):
    # d2l: weights ~ N(0, 0.01^2); biases keep Linear's default.
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, std=0.01)


def init_cnn(m):
    # d2l's train_ch6: xavier_uniform_ on every Linear and Conv2d weight.
    if isinstance(m, (nn.Linear, nn.Conv2d)):
        nn.init.xavier_uniform_(m.weight)


def make_net(kind):
    if kind == "softmax_regression":
        net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    elif kind == "mlp":
        net = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    elif kind == "mlp_dropout":
        # d2l 5.6 (4.6 in 0.17): dropout 0.2 after the first hidden layer, 0.5 after the second;
        # used by bench/peers/peer_accuracy.py (no bench row)
        net = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2),
                            nn.Linear(256, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 10))
    elif kind == "lenet":
        # d2l 7.6
        net = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
            nn.Linear(120, 84), nn.Sigmoid(),
            nn.Linear(84, 10))
        net.apply(init_cnn)
        return net
    else:
        # d2l 8.5 (7.5 in 0.17), concise BNLeNet
        net = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5), nn.BatchNorm2d(6), nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5), nn.BatchNorm2d(16), nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
            nn.Linear(256, 120), nn.BatchNorm1d(120), nn.Sigmoid(),
            nn.Linear(120, 84), nn.BatchNorm1d(84), nn.Sigmoid(),
            nn.Linear(84, 10))
        net.apply(init_cnn)
        return net
    net.apply(init_weights)
    return net


class EmberOrders:
    """ember's DataLoader(shuffle, seed 0) epoch orders, computed on demand and kept: every row's
    trainer draws the same sequence from its first epoch."""

    def __init__(self, n):
        import torch_interop  # tests/interop; imported here, as it imports this module

        self.orders, self.source = [], torch_interop.ember_orders(n, 0)

    def get(self, epoch):
        while len(self.orders) <= epoch:
            self.orders.append(torch.tensor(next(self.source), dtype=torch.int64))
        return self.orders[epoch]


def load_ember_weights(net, path):
    """Loads the safetensors file ember's bench_pipeline wrote into net (every key, strictly)."""
    import torch_interop

    arrays, _ = torch_interop.load_safetensors(path)
    net.load_state_dict(torch_interop.to_torch(arrays), strict=True)


class Trainer:
    def __init__(self, kind, batch, data, seed=0, init_weights=None, orders=None):
        torch.manual_seed(seed)
        self.net = make_net(kind)
        if init_weights:
            load_ember_weights(self.net, init_weights)
        self.orders = orders  # an EmberOrders, or None: torch's randperm from seed
        self.loss = nn.CrossEntropyLoss()
        self.opt = torch.optim.SGD(self.net.parameters(), lr=LEARNING_RATES.get(kind, 0.1))
        self.batch = batch
        self.data = data
        self.gen = torch.Generator().manual_seed(seed)
        self.last_accuracy = 0.0
        self.accuracies = []  # the test accuracy after each epoch run

    def prepare(self):
        """Computes the next epoch's order, untimed (see pc.measure)."""
        if self.orders:
            self.orders.get(len(self.accuracies))

    def epoch(self):
        train_x, train_y = self.data["train"]
        self.net.train()
        order = self.orders.get(len(self.accuracies)) if self.orders else None
        for x, y in pc.batches(train_x, train_y, self.batch, True, self.gen, order):
            loss = self.loss(self.net(x), y)
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
        test_x, test_y = self.data["test"]
        self.net.eval()
        correct = 0
        with torch.no_grad():
            for x, y in pc.batches(test_x, test_y, self.batch, False):
                correct += int((self.net(x).argmax(dim=1) == y).sum())
        self.last_accuracy = correct / test_y.shape[0]
        self.accuracies.append(self.last_accuracy)


def ember_init_weights(names_from):
    """name -> the init_weights file of ember's row, from ember's results (--names-from)."""
    if not names_from:
        return {}
    with open(names_from) as f:
        rows = json.load(f)["results"]
    return {r["name"]: r["init_weights"] for r in rows
            if r.get("init_weights") and os.path.exists(r["init_weights"])}


def parse(name):
    """name -> (kind, batch) or None."""
    if name == "softmax_regression/epoch":
        return "softmax_regression", 256
    if name.startswith("mlp/epoch/b"):
        return "mlp", int(name[len("mlp/epoch/b") :])
    if name in ("lenet/epoch", "lenet_bn/epoch"):
        return name.split("/")[0], 256
    return None


def main():
    args = pc.parse_args(__doc__)
    report = pc.Report("bench_pipeline", args)
    rss_after_import = pc.peak_rss_mb()  # Python + libtorch before any data: context for peak_rss
    data = pc.load_fashion_mnist(args.data)
    names = report.ember_names() or DEFAULT_NAMES
    init_weights = ember_init_weights(args.names_from)
    orders = None
    # The RSS run first, so the peak is that of a softmax-regression training run (data loaded).
    if "softmax_regression/peak_rss" in names and report.wants("softmax_regression/peak_rss"):
        pc.set_threads(1)
        trainer = Trainer("softmax_regression", 256, data)
        t0 = time.perf_counter()
        for _ in range(RSS_EPOCHS):
            trainer.epoch()
        ms = (time.perf_counter() - t0) * 1e3
        report.add({
            "name": "softmax_regression/peak_rss",
            "threads": 1,
            "median_ms": ms,
            "min_ms": ms,
            "max_ms": ms,
            "reps": 1,
            "peak_rss_mb": pc.peak_rss_mb(),
            "rss_after_import_mb": rss_after_import,
            "test_accuracy": trainer.last_accuracy,
            "test_accuracies": trainer.accuracies,
        })
        del trainer
    budget = pc.Budget(warmup=1, min_reps=5, min_time_ms=report.budget.min_time_ms, max_time_ms=20000)
    if args.quick:
        budget = pc.Budget(warmup=1, min_reps=2, min_time_ms=0, max_time_ms=1000)
    for name in names:
        if name == "softmax_regression/peak_rss" or not report.wants(name):
            continue
        if name.endswith("/floor"):
            continue  # ember's compute floor: nothing to run here
        spec = parse(name)
        if spec is None:
            print("peer_pipeline: no PyTorch peer for %r (skipped)" % name, file=sys.stderr)
            continue
        start = init_weights.get(name)
        if start and orders is None:
            sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                            "tests", "interop"))
            orders = EmberOrders(data["train"][0].shape[0])
        for threads in report.threads:
            trainer = Trainer(spec[0], spec[1], data, init_weights=start,
                              orders=orders if start else None)
            row = report.run(name, threads, trainer.epoch, budget, prepare=trainer.prepare)
            if row:
                row["test_accuracy"] = trainer.last_accuracy
                row["test_accuracies"] = trainer.accuracies
                row["start"] = "ember" if start else "own"
    report.print()


if __name__ == "__main__":
    main()
