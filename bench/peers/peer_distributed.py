"""PyTorch peer of bench_distributed: DistributedDataParallel over gloo on this machine.

Run: /usr/bin/python3 bench/peers/peer_distributed.py --world-size 2 [--reps 5], with OpenBLAS
given through LD_LIBRARY_PATH as bench/run.sh gives it to every peer (Debian's torch otherwise
uses the reference BLAS, ~50x slower here); see bench/README.md for the exact command.
It starts world-size processes (torch.multiprocessing, spawn), each with torch.set_num_threads(1),
joined by torch.distributed.init_process_group("gloo", init_method="file://<temp file>") on
loopback (gloo binds 127.0.0.1: GLOO_SOCKET_IFNAME=lo). Rank 0 prints one JSON object with the
names of bench/bench_distributed.cpp:
  allreduce/mlp_grads, allreduce/softmax_grads   dist.all_reduce (sum) of 203530 / 7850 floats,
                                                 then / N, as DDP averages
  mlp/epoch/b256/local            this rank's shard (perm[rank::N], a new torch permutation per
                                  epoch), batch 256 / N, no communication
  mlp/epoch/b256/ddp              DDP with its defaults (25 MiB buckets: one bucket here; the
                                  reducer always overlaps with backward)
  mlp/epoch/b256/ddp_small_buckets  DDP with bucket_cap_mb=0.01 (10 KiB: one parameter per
                                  bucket, as ember's ddp_overlap)
  softmax/epoch/b256/local, softmax/epoch/b256/ddp
Each DDP result has comm_ms_per_step = (DDP epoch - local epoch) / steps: PyTorch keeps no
per-step communication timer, so the cost is measured as the time DDP adds.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
import peer_common as pc  # noqa: E402

GLOBAL_BATCH = 256


def make_net(mlp):
    torch.manual_seed(0)
    if mlp:
        net = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    else:
        net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    for m in net.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.01)
    return net


def time_epochs(name, mlp, data, reps, ddp_kwargs):
    rank, world = dist.get_rank(), dist.get_world_size()
    net = make_net(mlp)
    model = nn.parallel.DistributedDataParallel(net, **ddp_kwargs) if ddp_kwargs is not None else net
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    x_all, y_all = data
    batch = GLOBAL_BATCH // world
    times = []
    steps = 0
    for rep in range(-1, reps):
        gen = torch.Generator().manual_seed(rep + 1)
        shard = torch.randperm(x_all.shape[0], generator=gen)[rank::world]
        dist.barrier()
        start = time.perf_counter()
        steps = 0
        for i in range(0, shard.shape[0], batch):
            idx = shard[i : i + batch]
            x = x_all[idx].float().div_(255.0)
            y = y_all[idx]
            loss = loss_fn(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps += 1
        dist.barrier()
        if rep >= 0:
            times.append((time.perf_counter() - start) * 1e3)
    return {"name": name, "times": times, "steps": steps}


def time_allreduce(name, count, reps):
    t = torch.ones(count)
    times = []
    for rep in range(-3, reps * 20):
        dist.barrier()
        start = time.perf_counter()
        dist.all_reduce(t)
        t.div_(dist.get_world_size())
        if rep >= 0:
            times.append((time.perf_counter() - start) * 1e3)
    return {"name": name, "times": times}


def worker(rank, world, init_file, reps, queue):
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    pc.set_threads(1)  # torch's and OpenBLAS's own pool
    dist.init_process_group("gloo", init_method="file://" + init_file, rank=rank, world_size=world)
    data = pc.load_fashion_mnist(pc.DATA_DIR)["train"]
    rows = [
        time_allreduce("allreduce/mlp_grads", 784 * 256 + 256 + 256 * 10 + 10, reps),
        time_allreduce("allreduce/softmax_grads", 784 * 10 + 10, reps),
        time_epochs("mlp/epoch/b256/local", True, data, reps, None),
        time_epochs("mlp/epoch/b256/ddp", True, data, reps, {}),
        time_epochs("mlp/epoch/b256/ddp_small_buckets", True, data, reps, {"bucket_cap_mb": 0.01}),
        time_epochs("softmax/epoch/b256/local", False, data, reps, None),
        time_epochs("softmax/epoch/b256/ddp", False, data, reps, {}),
    ]
    if rank == 0:
        queue.put((rows, pc.loaded_blas()))
    dist.barrier()
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world-size", type=int, default=2)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ctx = mp.get_context("spawn")
        queue = ctx.SimpleQueue()
        procs = [
            ctx.Process(target=worker, args=(r, args.world_size, os.path.join(tmp, "init"), args.reps, queue))
            for r in range(args.world_size)
        ]
        for p in procs:
            p.start()
        rows, blas = queue.get()
        for p in procs:
            p.join(timeout=120)
    local = {r["name"].rsplit("/", 1)[0]: statistics.median(r["times"]) for r in rows if r["name"].endswith("/local")}
    results = []
    for r in rows:
        out = {
            "name": r["name"],
            "median_ms": round(statistics.median(r["times"]), 3),
            "min_ms": round(min(r["times"]), 3),
            "max_ms": round(max(r["times"]), 3),
            "reps": len(r["times"]),
        }
        if "steps" in r and not r["name"].endswith("/local"):
            base = local[r["name"].rsplit("/", 1)[0]]
            out["steps"] = r["steps"]
            out["comm_ms_per_step"] = round((statistics.median(r["times"]) - base) / r["steps"], 4)
        results.append(out)
    report = {
        "program": "bench_distributed",
        "implementation": "pytorch",
        "provenance": pc.torch_provenance(),
        "torch": torch.__version__,
        "blas": blas,
        "world_size": args.world_size,
        "threads_per_rank": 1,
        "results": results,
    }
    print(json.dumps(report, indent=1))

if __name__ == "__main__":
    main()
