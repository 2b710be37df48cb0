"""PyTorch peer of bench_matmul: torch.mm at the training pipelines' shapes plus 1024^3.

Name grammar: matmul/MxK@KxN, where an operand written "RxC^T" is the transpose view of a stored
[C, R] tensor (so matmul/784x256^T@256x10 is X^T @ G with X stored [256, 784], Linear's weight
gradient). Right operands used as a Linear weight W^T are stored [N, K] and passed as the
transposed view, exactly as bench_matmul.cpp stores them (TRANS_B below; nn.Linear does the same:
addmm(b, x, W.t())). The product is written into a preallocated C (torch.mm(..., out=c)), as ember's
kernel writes into its C. gflops = 2*M*K*N / median time.
"""

import re
import sys

import torch

sys.path.insert(0, __import__("os").path.dirname(__file__))
import peer_common as pc  # noqa: E402

DEFAULT_NAMES = [
    "matmul/256x784@784x10",
    "matmul/784x256^T@256x10",
    "matmul/10x256^T@256x784",
    "matmul/256x784@784x256",
    "matmul/64x784@784x256",
    "matmul/256x256@256x10",
    "matmul/256x10@10x784",
    "matmul/1024x1024@1024x1024",
]
# Names whose right operand is a Linear weight W [N, K] used as W^T (bench_matmul.cpp's kShapes).
TRANS_B = {
    "matmul/256x784@784x10",
    "matmul/256x784@784x256",
    "matmul/64x784@784x256",
    "matmul/256x256@256x10",
}

OPERAND = re.compile(r"^(\d+)x(\d+)(\^T)?$")


def operand(text, gen, stored_transposed=False):
    m = OPERAND.match(text)
    if not m:
        raise ValueError("bad operand %r" % text)
    r, c, t = int(m.group(1)), int(m.group(2)), bool(m.group(3)) or stored_transposed
    if t:
        return torch.randn(c, r, generator=gen).t(), (r, c)
    return torch.randn(r, c, generator=gen), (r, c)


def main():
    args = pc.parse_args(__doc__)
    report = pc.Report("bench_matmul", args)
    names = report.ember_names() or DEFAULT_NAMES
    gen = torch.Generator().manual_seed(0)
    for name in names:
        if not name.startswith("matmul/"):
            print("peer_matmul: no PyTorch peer for %r (skipped)" % name, file=sys.stderr)
            continue
        lhs, rhs = name[len("matmul/") :].split("@")
        a, (m, k) = operand(lhs, gen)
        b, (k2, n) = operand(rhs, gen, name in TRANS_B)
        assert k == k2, name
        c = torch.empty(m, n)
        for threads in report.threads:
            row = report.run(name, threads, lambda: torch.mm(a, b, out=c))
            if row:
                row["gflops"] = 2.0 * m * k * n / (row["median_ms"] * 1e-3) / 1e9
    report.print()


if __name__ == "__main__":
    with torch.no_grad():
        main()
