#!/usr/bin/env python3
"""ember's app and PyTorch trained in lockstep: the same starting weights, the same batches.

    /usr/bin/python3 bench/lockstep.py --build-dir build/ci --model lenet-bn --seeds 0 1 2 \\
        --epochs 5 > bench/results/lockstep_lenet_bn.json

For each seed: PyTorch makes the model's initial weights (torch.manual_seed(seed), the d2l init of
bench/peers/peer_pipeline.py) and writes them as safetensors; the app starts from them
(--init-from) with --seed seed, which fixes its batch order; PyTorch trains the same model from the
same weights on the same batches (ember's shuffle replayed by tests/interop/torch_interop.py's
ember_orders), with the same SGD and learning rate. Both record train loss, train accuracy and test
accuracy after every epoch.

What it tells apart: a run-to-run difference between the two frameworks that comes from their
random numbers (initial weights, batch order: both the same here) from one that comes from the
computation. Two exact implementations differ only by float rounding (about 1e-7 relative per
op); a model trained at a large learning rate amplifies such differences from batch to batch, so
the per-epoch figures drift apart by chance, never by a sign that holds seed after seed.

Prints one JSON object (provenance, settings, the per-epoch figures of both sides per seed) on
stdout, and a table on stderr. Needs python3-torch; runs both sides at --threads threads.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "peers"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "interop"))
import provenance  # noqa: E402  (bench/provenance.py)
import torch_interop as interop  # noqa: E402  (exits 4 when torch is missing)
import peer_pipeline  # noqa: E402

torch = interop.torch

# The app's model names, the peer's, and d2l's learning rates (the app's defaults).
MODELS = {"lenet": ("lenet", 0.9), "lenet-bn": ("lenet_bn", 1.0), "mlp": ("mlp", 0.1)}


def torch_run(model, data, order_seed, epochs, batch_size, lr):
    x, y, test_x, test_y = data
    sgd = torch.optim.SGD(model.parameters(), lr=lr)
    orders = interop.ember_orders(len(y), order_seed)
    rows = []
    for _ in range(epochs):
        row = interop.train_epoch(model, sgd, x, y, next(orders), batch_size)
        row["test_acc"] = interop.accuracy(model, test_x, test_y)
        rows.append(row)
    return rows


def ember_run(app, weights, data_dir, model, seed, epochs, batch_size, lr, threads, work):
    metrics = os.path.join(work, f"ember-{seed}.jsonl")
    subprocess.run([app, "--data", data_dir, "--model", model, "--init-from", weights, "--seed",
                    str(seed), "--epochs", str(epochs), "--batch-size", str(batch_size), "--lr",
                    repr(lr), "--threads", str(threads), "--metrics", metrics, "-q"],
                   check=True, stdout=subprocess.DEVNULL)
    with open(metrics) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    return [{k: row[k] for k in ("train_loss", "train_acc", "test_acc")} for row in lines]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", default="build/ci")
    parser.add_argument("--model", choices=sorted(MODELS), default="lenet-bn")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()

    app = os.path.join(args.build_dir, "apps", "softmax_regression", "ember-softmax-regression")
    peer_name, lr = MODELS[args.model]
    torch.set_num_threads(args.threads)
    x, y = interop.load_split(args.data, "train")
    test_x, test_y = interop.load_split(args.data, "t10k")
    runs = []
    with tempfile.TemporaryDirectory() as work:
        for seed in args.seeds:
            torch.manual_seed(seed)
            model = peer_pipeline.make_net(peer_name)
            weights = os.path.join(work, f"init-{seed}.safetensors")
            interop.save_safetensors({k: v.detach().numpy() for k, v in
                                      model.state_dict().items()}, weights, {"format": "pt"})
            ember = ember_run(app, weights, args.data, args.model, seed, args.epochs,
                              args.batch_size, lr, args.threads, work)
            pytorch = torch_run(model, (x, y, test_x, test_y), seed, args.epochs,
                                args.batch_size, lr)
            runs.append({"seed": seed, "ember": ember, "pytorch": pytorch})
            for epoch, (e, p) in enumerate(zip(ember, pytorch), 1):
                print(f"seed {seed} epoch {epoch}: train_loss ember {e['train_loss']:.6f} "
                      f"torch {p['train_loss']:.6f}   test_acc ember {e['test_acc']:.4f} "
                      f"torch {p['test_acc']:.4f}", file=sys.stderr)
    build_type, flags = provenance.ember_build(args.build_dir)
    out = {
        "provenance": provenance.provenance(build_type, flags, provenance.EMBER_THREAD_BACKEND,
                                            app_version=provenance.app_version(app),
                                            torch=torch.__version__),
        "command": " ".join(["/usr/bin/python3", "bench/lockstep.py"] + sys.argv[1:]),
        "settings": {"model": args.model, "lr": lr, "batch_size": args.batch_size,
                     "epochs": args.epochs, "threads": args.threads, "data": args.data,
                     "init": "PyTorch's (torch.manual_seed(seed), peer_pipeline.make_net)",
                     "batches": "ember's DataLoader order for --seed seed, on both sides"},
        "runs": runs,
    }
    json.dump(out, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
