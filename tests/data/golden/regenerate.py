#!/usr/bin/python3
"""Regenerates the golden reference files with PyTorch and checks them byte for byte.

Usage (Debian's python3-torch, torch 1.13.1, run with /usr/bin/python3):

    /usr/bin/python3 tests/data/golden/regenerate.py --check   # exit 1 and a diff summary if any
                                                               # file differs from what torch gives
    /usr/bin/python3 tests/data/golden/regenerate.py --write   # rewrite the files in place

Needs Debian's python3-torch, and OpenBLAS (libopenblas0-pthread) for the `linear` cases: the
script runs torch on /usr/lib/x86_64-linux-gnu/openblas-pthread (or --blas DIR) by restarting
itself with LD_LIBRARY_PATH set, so the system's libblas.so.3 alternative stays as it is.
--skip-unavailable (used by the CTest test golden_regenerate) prints "SKIPPED: ..." and exits 0
when torch or OpenBLAS is missing.

What is regenerated, and what is taken from the committed files:

The original generator (gen_golden.py, see FORMAT.md) is not in the repository, and its inputs
cannot be drawn again from the recorded `seed=`: neither torch.manual_seed(seed) nor a
torch.Generator nor NumPy's generators, seeded with the seed (or offsets and hashes of it and of
the case name) and drawn in the case's shape, give the committed inputs. So the INPUTS of every
case are read from the committed files: `input`, `target`, `weight`, `pos_weight`, `bias`,
`grad_output`, `param_init`, `grad_stepK`. Everything PyTorch computes from them is recomputed
here, in float32 for `CASE.f32.txt` and in float64 (from the same float32 inputs) for
`CASE.f64.txt`, on one CPU thread: `output`, every `grad_*` of an input, `param_stepK` and
`momentum_buffer_stepK`, and the header's `compare=` flag (`f32` when the float32 and float64
results differ beyond the file's rtol/atol). Error cases (`expect=error`) must raise the recorded
`error_type` with the message the comment quotes. The header's other keys, the comment lines and
the order of the lines are kept from the committed file; every number (inputs too) is formatted
again (`%.9g` / `%.17g`, `inf`, `-inf`, `nan`, `-0`), so the check also proves that the files are
in the canonical format. INDEX.txt must list exactly the cases present, with the op and params of
their headers.

Bit-exactness: with torch 1.13.1 on OpenBLAS 0.3.21 (its FMA kernels: core types Haswell, Zen,
SkylakeX, Cooperlake) all 272 files are reproduced byte for byte. Two things change the last bit
of the three float32 `linear` files (linear_bias, linear_nobias, linear_batch1; output and
gradients are GEMMs whose float32 rounding depends on the BLAS kernel): netlib's reference BLAS
(Debian's libblas3, which torch uses when OpenBLAS is not installed) and OpenBLAS's pre-FMA
kernels (OPENBLAS_CORETYPE=Sandybridge or Prescott). Every other file does not depend on the BLAS.
"""

import argparse
import difflib
import math
import os
import re
import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # reported by main(), or skipped with --skip-unavailable
    torch = None

HERE = os.path.dirname(os.path.abspath(__file__))
OPENBLAS = "/usr/lib/x86_64-linux-gnu/openblas-pthread"

# Lines that are read from the committed file (the inputs of the case).
INPUT_NAMES = {"input", "target", "weight", "pos_weight", "bias", "grad_output", "param_init"}
INPUT_PATTERN = re.compile(r"grad_step\d+$")
# Tensors whose values are class indices (int64), per op.
INTEGER_TENSORS = {("cross_entropy", "target"), ("nll_loss", "target")}


def is_input(name):
    return name in INPUT_NAMES or INPUT_PATTERN.match(name) is not None


class Case:
    """One golden file: header tokens, comment lines and tensor lines, in file order."""

    def __init__(self, path):
        with open(path, encoding="ascii") as f:
            lines = f.read().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        self.header = lines[0].split(" ")
        self.op = self.header[0]
        self.params = dict(token.split("=", 1) for token in self.header[1:])
        self.lines = []  # ("comment", text) or ("tensor", name)
        self.tensors = {}  # name -> (shape, list of floats)
        for line in lines[1:]:
            if line.startswith("#") or line == "":
                self.lines.append(("comment", line))
                continue
            tokens = line.split(" ")
            colon = tokens.index(":")
            name = tokens[0]
            shape = [int(t) for t in tokens[1:colon]]
            values = [float(t) for t in tokens[colon + 1:]]
            if len(values) != math.prod(shape):
                raise ValueError(f"{path}: {name} has {len(values)} values for shape {shape}")
            self.lines.append(("tensor", name))
            self.tensors[name] = (shape, values)

    @property
    def dtype(self):
        return {"float32": torch.float32, "float64": torch.float64}[self.params["dtype"]]

    def tensor(self, name, grad=False):
        shape, values = self.tensors[name]
        if (self.op, name) in INTEGER_TENSORS:
            return torch.tensor([int(v) for v in values], dtype=torch.int64).reshape(shape)
        # Inputs are float32 numbers in both files: build them in float32, then widen.
        t = torch.tensor(values, dtype=torch.float32).reshape(shape).to(self.dtype)
        return t.requires_grad_(grad)

    def optional(self, name, grad=False):
        return self.tensor(name, grad) if name in self.tensors else None


def compute(case):
    """Returns {name: tensor} of every result line the case's op produces (empty for errors)."""
    op, p = case.op, case.params
    grad_output = case.optional("grad_output")
    x = case.optional("input", grad=True)
    results = {}

    def backward(y, *inputs_and_names):
        results["output"] = y.detach()
        y.backward(grad_output)
        for tensor, name in inputs_and_names:
            results[name] = tensor.grad

    if op in ("sigmoid", "tanh", "relu", "silu", "logsigmoid"):
        fn = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": F.relu, "silu": F.silu,
              "logsigmoid": F.logsigmoid}[op]
        backward(fn(x), (x, "grad_input"))
    elif op in ("softmax", "log_softmax", "softmin"):
        fn = {"softmax": F.softmax, "log_softmax": F.log_softmax, "softmin": F.softmin}[op]
        backward(fn(x, dim=int(p["dim"])), (x, "grad_input"))
    elif op == "softmax2d":
        backward(torch.nn.Softmax2d()(x), (x, "grad_input"))
    elif op in ("cross_entropy", "nll_loss"):
        kwargs = dict(weight=case.optional("weight"), ignore_index=int(p["ignore_index"]),
                      reduction=p["reduction"])
        if op == "cross_entropy":
            kwargs["label_smoothing"] = float(p.get("label_smoothing", "0"))
            y = F.cross_entropy(x, case.tensor("target"), **kwargs)
        else:
            y = F.nll_loss(x, case.tensor("target"), **kwargs)
        backward(y, (x, "grad_input"))
    elif op == "bce_with_logits":
        t = case.tensor("target", grad=True)
        y = F.binary_cross_entropy_with_logits(x, t, weight=case.optional("weight"),
                                               pos_weight=case.optional("pos_weight"),
                                               reduction=p["reduction"])
        backward(y, (x, "grad_input"), (t, "grad_target"))
    elif op == "mse_loss":
        t = case.tensor("target", grad=True)
        backward(F.mse_loss(x, t, reduction=p["reduction"]), (x, "grad_input"), (t, "grad_target"))
    elif op == "linear":
        w = case.tensor("weight", grad=True)
        b = case.tensor("bias", grad=True) if p["bias"] == "1" else None
        y = F.linear(x, w, b)
        pairs = [(x, "grad_input"), (w, "grad_weight")] + ([(b, "grad_bias")] if b is not None else [])
        backward(y, *pairs)
    elif op == "flatten":
        backward(torch.flatten(x, int(p["start_dim"]), int(p["end_dim"])), (x, "grad_input"))
    elif op == "sgd":
        param = case.tensor("param_init", grad=True)
        momentum = float(p["momentum"])
        opt = torch.optim.SGD([param], lr=float(p["lr"]), momentum=momentum,
                              dampening=float(p["dampening"]),
                              weight_decay=float(p["weight_decay"]), nesterov=p["nesterov"] == "1")
        for k in range(1, int(p["steps"]) + 1):
            param.grad = case.tensor(f"grad_step{k}")
            opt.step()
            results[f"param_step{k}"] = param.detach().clone()
            if momentum > 0:
                results[f"momentum_buffer_step{k}"] = opt.state[param]["momentum_buffer"].clone()
    else:
        raise ValueError(f"unknown op {op} in case {p['case']}")
    return results


def compute_checked(case, comments):
    """compute(), and for an error case the recorded exception type and message."""
    if case.params.get("expect") != "error":
        return compute(case)
    try:
        compute(case)
    except Exception as e:  # the error case must raise exactly the recorded type and message
        if type(e).__name__ != case.params["error_type"]:
            raise AssertionError(f"{case.params['case']}: raised {type(e).__name__}: {e}")
        said = [c for c in comments if c.startswith("# PyTorch raises ")]
        if said and said[0] != f"# PyTorch raises {type(e).__name__}: {e}":
            raise AssertionError(f"{case.params['case']}: torch says '{e}', file says '{said[0]}'")
        return {}
    raise AssertionError(f"{case.params['case']}: expected {case.params['error_type']}, no error")


def format_value(v, integer, digits):
    if integer:
        return str(int(v))
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return "%.*g" % (digits, v)


def format_tensor(name, shape, values, integer, digits):
    tokens = [name] + [str(d) for d in shape] + [":"]
    tokens += [format_value(v, integer, digits) for v in values]
    return " ".join(tokens)


def differs(a, b, rtol, atol):
    """True if any element of float32 result a is beyond |a-b| <= atol + rtol*|b| of b."""
    a, b = a.double(), b.double()
    both_nan = torch.isnan(a) & torch.isnan(b)
    same_inf = torch.isinf(a) & (a == b)
    close = (a - b).abs() <= atol + rtol * b.abs()
    return not bool((both_nan | same_inf | close).all())


def regenerate(case_name):
    """Returns {file name: regenerated text} for the two files of one case."""
    torch.manual_seed(0)  # nothing below draws random numbers; this only pins the state
    cases = {s: Case(os.path.join(HERE, f"{case_name}.{s}.txt")) for s in ("f32", "f64")}
    results = {s: compute_checked(c, [t for k, t in c.lines if k == "comment"])
               for s, c in cases.items()}
    rtol, atol = float(cases["f32"].params["rtol"]), float(cases["f32"].params["atol"])
    f32_only = any(differs(results["f32"][n], results["f64"][n], rtol, atol) for n in results["f32"])
    out = {}
    for suffix, case in cases.items():
        digits = 9 if suffix == "f32" else 17
        header = [case.op] + [t if not t.startswith("compare=") else
                              "compare=" + ("f32" if f32_only else "any") for t in case.header[1:]]
        lines = [" ".join(header)]
        produced = set()
        for kind, item in case.lines:
            if kind == "comment":
                lines.append(item)
                continue
            integer = (case.op, item) in INTEGER_TENSORS
            if is_input(item):
                shape, values = case.tensors[item]
            elif item in results[suffix]:
                t = results[suffix][item]
                shape, values = list(t.shape), t.detach().reshape(-1).tolist()
                produced.add(item)
            else:
                raise AssertionError(f"{case_name}.{suffix}: torch does not produce line {item}")
            lines.append(format_tensor(item, shape, values, integer, digits))
        missing = set(results[suffix]) - produced
        if missing:
            raise AssertionError(f"{case_name}.{suffix}: file lacks lines {sorted(missing)}")
        out[f"{case_name}.{suffix}.txt"] = "\n".join(lines) + "\n"
    return out


def check_index(names):
    """INDEX.txt lists every case present, with the op and parameters of its header."""
    problems, listed = [], set()
    with open(os.path.join(HERE, "INDEX.txt"), encoding="ascii") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            case_name, op, params = (line.rstrip("\n").split("\t") + [""])[:3]
            listed.add(case_name)
            for suffix in ("f32", "f64"):
                path = os.path.join(HERE, f"{case_name}.{suffix}.txt")
                if not os.path.exists(path):
                    problems.append(f"INDEX.txt lists {case_name}, but {case_name}.{suffix}.txt is absent")
                    continue
                header = open(path, encoding="ascii").readline().split()
                if header[0] != op or not set(params.split()) <= set(header[1:]):
                    problems.append(f"INDEX.txt: {case_name} '{op} {params}' disagrees with its header")
    for name in sorted(names - listed):
        problems.append(f"{name} has files but is not in INDEX.txt")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="compare with the committed files")
    mode.add_argument("--write", action="store_true", help="rewrite the files in place")
    parser.add_argument("--blas", default=OPENBLAS, help="folder with OpenBLAS's libblas.so.3")
    parser.add_argument("--skip-unavailable", action="store_true",
                        help="print SKIPPED and exit 0 when torch or OpenBLAS is missing")
    args = parser.parse_args()

    if torch is None or not os.path.exists(os.path.join(args.blas, "libblas.so.3")):
        missing = "python3-torch" if torch is None else f"OpenBLAS in {args.blas}"
        if args.skip_unavailable:
            print(f"SKIPPED: {missing} is not installed (apt-get install python3-torch "
                  "libopenblas0-pthread)")
            return 0
        print(f"needs {missing}: apt-get install python3-torch libopenblas0-pthread, or --blas DIR")
        return 2
    # The dynamic loader reads LD_LIBRARY_PATH only at start: restart once with OpenBLAS first.
    if os.environ.get("EMBER_GOLDEN_BLAS") != args.blas:
        env = dict(os.environ, EMBER_GOLDEN_BLAS=args.blas, OPENBLAS_NUM_THREADS="1",
                   LD_LIBRARY_PATH=os.pathsep.join(
                       [args.blas] + [p for p in [os.environ.get("LD_LIBRARY_PATH")] if p]))
        os.execve(sys.executable, [sys.executable] + sys.argv, env)

    torch.set_num_threads(1)
    torch.mm(torch.ones(2, 2), torch.ones(2, 2))  # loads the BLAS, to name it below
    with open("/proc/self/maps") as maps:
        blas = sorted({line.split()[-1] for line in maps if "blas" in line.split()[-1]})
    names = {f[: -len(".f32.txt")] for f in os.listdir(HERE) if f.endswith(".f32.txt")}
    problems = check_index(names)
    changed = []
    for case_name in sorted(names):
        for file_name, text in regenerate(case_name).items():
            path = os.path.join(HERE, file_name)
            with open(path, encoding="ascii") as f:
                old = f.read()
            if old == text:
                continue
            changed.append(file_name)
            if args.write:
                with open(path, "w", encoding="ascii") as f:
                    f.write(text)
            else:
                diff = difflib.unified_diff(old.splitlines(), text.splitlines(), file_name,
                                            file_name + " (regenerated)", n=0, lineterm="")
                for line in list(diff)[:8]:
                    print(line[:200])
    print(f"torch {torch.__version__}, BLAS {' '.join(blas)}: {len(names)} cases, {2 * len(names)} files, "
          f"{len(changed)} {'rewritten' if args.write else 'differ'}")
    for problem in problems:
        print(problem)
    if args.check and (changed or problems):
        print("golden files differ from what torch computes: " + " ".join(changed[:20]))
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
