"""PyTorch peer of bench_kernels: activations, the softmax family and cross_entropy.

Name grammar: OP/MODE/SHAPE with MODE "fwd" (x does not require grad, so no graph is recorded,
without the cost of entering a no_grad block, which shows at 256x10) or "fwd+bwd"
(also spelled "fwdbwd": the forward with autograd recording, then backward from a fixed upstream
gradient, x.grad reset each rep) and SHAPE "NxK" (softmax family over the last dim; cross_entropy with N int64 labels, mean
reduction, backward from the scalar loss) or a flat element count "1048576".
conv2d/MODE/NxCxHxW,OxCgxKHxKW,pP (bias included) and avg_pool2d|max_pool2d/MODE/NxCxHxW,kK
time LeNet's layers (batch 256); conv2d fwd+bwd takes the input's gradient only when C > 1
(LeNet's conv1 reads the data).
copy/new/SHAPE times x.clone() (a new output), copy/out/SHAPE dst.copy_(x) into a preallocated
tensor: the memory-bandwidth yardsticks, in the same two forms as ember's.
Like with like: every OP row allocates its output on both sides (f(x), as ember's f(x); ember has
no out= variant of these ops, so there is no preallocated row for them).
"""

import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import peer_common as pc  # noqa: E402

OPS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "silu": F.silu,
    "logsigmoid": F.logsigmoid,
    "softmax": lambda x: torch.softmax(x, dim=-1),
    "log_softmax": lambda x: torch.log_softmax(x, dim=-1),
    "softmin": lambda x: F.softmin(x, dim=-1),
}
SHAPES = ["256x10", "4096x1000", "64x32000", "1048576", "16777216"]
ORDER = list(OPS) + ["cross_entropy"]


CONV_TAGS = ["256x1x28x28,6x1x5x5,p2", "256x6x14x14,16x6x5x5,p0"]
POOL_TAGS = ["256x6x28x28,k2", "256x16x10x10,k2"]


def default_names():
    names = []
    for op in ORDER:
        for shape in SHAPES:
            if op == "cross_entropy" and "x" not in shape:
                continue
            for mode in ("fwd", "fwd+bwd"):
                names.append("%s/%s/%s" % (op, mode, shape))
    for shape in SHAPES:
        names.append("copy/new/%s" % shape)
        names.append("copy/out/%s" % shape)
    for tag in CONV_TAGS:
        names += ["conv2d/fwd/" + tag, "conv2d/fwd+bwd/" + tag]
    for tag in POOL_TAGS:
        for op in ("avg_pool2d", "max_pool2d"):
            names += ["%s/fwd/%s" % (op, tag), "%s/fwd+bwd/%s" % (op, tag)]
    return names


def parse_shape(text):
    return tuple(int(d) for d in text.split("x"))


def make_case(name, gen):
    """Returns fn() timing `name`, or None when the name is not understood."""
    parts = name.split("/")
    if parts[0] == "copy" and len(parts) == 3 and parts[1] in ("new", "out"):
        x = torch.randn(parse_shape(parts[2]), generator=gen)
        if parts[1] == "new":
            return lambda: x.clone()
        dst = torch.empty_like(x)
        return lambda: dst.copy_(x)
    if len(parts) != 3 or parts[1] not in ("fwd", "fwd+bwd", "fwdbwd"):
        return None
    if parts[0] in ("conv2d", "avg_pool2d", "max_pool2d"):
        return make_conv_pool_case(parts[0], parts[1], parts[2], gen)
    op, mode, shape = parts[0], parts[1], parse_shape(parts[2])
    x = torch.randn(shape, generator=gen)
    if op == "cross_entropy":
        if len(shape) != 2:
            return None
        labels = torch.randint(0, shape[1], (shape[0],), generator=gen)
        if mode == "fwd":
            return lambda: F.cross_entropy(x, labels)
        xg = x.clone().requires_grad_(True)

        def fwd_bwd():
            xg.grad = None
            F.cross_entropy(xg, labels).backward()

        return fwd_bwd
    if op not in OPS:
        return None
    f = OPS[op]
    if mode == "fwd":
        return lambda: f(x)
    xg = x.clone().requires_grad_(True)
    grad_out = torch.randn(shape, generator=gen)

    def fwd_bwd():
        xg.grad = None
        f(xg).backward(grad_out)

    return fwd_bwd


def make_conv_pool_case(op, mode, tag, gen):
    """LeNet's conv2d and pools (see the module docstring)."""
    fields = tag.split(",")
    x = torch.randn(parse_shape(fields[0]), generator=gen)
    if op == "conv2d":
        w = torch.randn(parse_shape(fields[1]), generator=gen)
        b = torch.randn(w.shape[0], generator=gen)
        pad = int(fields[2][1:])
        if mode == "fwd":
            return lambda: F.conv2d(x, w, b, padding=pad)
        xg = x.clone().requires_grad_(x.shape[1] > 1)
        wg, bg = w.clone().requires_grad_(True), b.clone().requires_grad_(True)
        grad_out = torch.randn(F.conv2d(x, w, b, padding=pad).shape, generator=gen)

        def fwd_bwd():
            xg.grad = wg.grad = bg.grad = None
            F.conv2d(xg, wg, bg, padding=pad).backward(grad_out)

        return fwd_bwd
    k = int(fields[1][1:])
    f = (lambda t: F.avg_pool2d(t, k)) if op == "avg_pool2d" else (lambda t: F.max_pool2d(t, k))
    if mode == "fwd":
        return lambda: f(x)
    xg = x.clone().requires_grad_(True)
    grad_out = torch.randn(f(x).shape, generator=gen)

    def fwd_bwd():
        xg.grad = None
        f(xg).backward(grad_out)

    return fwd_bwd


def main():
    args = pc.parse_args(__doc__)
    report = pc.Report("bench_kernels", args)
    gen = torch.Generator().manual_seed(0)
    for name in report.ember_names() or default_names():
        if not report.wants(name):
            continue
        fn = make_case(name, gen)
        if fn is None:
            print("peer_kernels: no PyTorch peer for %r (skipped)" % name, file=sys.stderr)
            continue
        for threads in report.threads:
            report.run(name, threads, fn)
        del fn
    report.print()


if __name__ == "__main__":
    main()
