"""PyTorch side of bench/accuracy_seeds.sh: trains one of d2l's models on Fashion-MNIST for a
number of epochs from one seed and prints the test accuracy after each epoch as one JSON object.

The models, their settings and the epoch are peer_pipeline.py's (the same as bench_pipeline's and
the app's): lenet (lr 0.9), lenet_bn (lr 1.0), mlp_dropout (lr 0.5), batch 256, SGD.

  peer_accuracy.py --model lenet --seed 0 --epochs 10 [--threads 2] [--data DIR]
"""

import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(__file__))
import peer_common as pc  # noqa: E402
import peer_pipeline as pp  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, choices=["lenet", "lenet_bn", "mlp_dropout"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = pc.load_fashion_mnist(args.data)
    trainer = pp.Trainer(args.model, args.batch_size, data, seed=args.seed)
    t0 = time.perf_counter()
    for _ in range(args.epochs):
        trainer.epoch()
    print(json.dumps({
        "side": "pytorch",
        "torch": torch.__version__,
        "model": args.model,
        "seed": args.seed,
        "epochs": args.epochs,
        "threads": args.threads,
        "seconds": time.perf_counter() - t0,
        "test_accuracies": trainer.accuracies,
    }))


if __name__ == "__main__":
    main()
