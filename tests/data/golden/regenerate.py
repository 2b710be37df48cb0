#!/usr/bin/python3
"""Regenerates the golden reference files with PyTorch and checks them (results within tolerance).

Usage (Debian's python3-torch, torch 1.13.1, run with /usr/bin/python3):

    /usr/bin/python3 tests/data/golden/regenerate.py --check   # exit 1 and a diff summary if any
                                                               # file differs from what torch gives
    /usr/bin/python3 tests/data/golden/regenerate.py --write   # rewrite the files in place

Needs Debian's python3-torch. When OpenBLAS (libopenblas0-pthread) is installed, the script runs
torch on /usr/lib/x86_64-linux-gnu/openblas-pthread (or --blas DIR) by restarting itself with
LD_LIBRARY_PATH set, so the system's libblas.so.3 alternative stays as it is; without it torch
runs on whatever BLAS it finds (Debian's reference libblas3). --skip-unavailable (used by the
CTest test golden_regenerate) prints "SKIPPED: ..." and exits with status 4 (CTest's
SKIP_RETURN_CODE, tests/support/skip.h) when torch is missing, before checking anything.

What --check compares (Note [Checking within tolerance]): the INPUTS of every case, the header,
the comments and INDEX.txt byte for byte; the RESULTS (output, grad_*, param_stepK, ...) within
the case's own rtol/atol (FORMAT.md's rule |got - want| <= atol + rtol*|want|, nan matching nan,
inf matching inf of the same sign). A float32 product is reproducible only to rounding: the BLAS
picks its kernel by CPU (OpenBLAS's Haswell, SkylakeX and Zen kernels order the sums
differently; netlib's reference BLAS differs again), so the last digits of the `linear` and
`matmul` results change from machine to machine, within the tolerance any ember test applies.

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

The cases of issue 12's tensor ops (pow ... matmul, the CASES table below) are different: the
script draws their inputs itself from torch.Generator().manual_seed(seed), so --write creates
their files and INDEX.txt lines, and --check derives inputs and results again (see CASES).

generator_draws.txt (DRAWS below) is what PyTorch's CPU generator draws right after
torch.manual_seed(seed): rand, uniform_, randn, randint, randperm, a Linear's and a Conv2d's
default init, xavier_uniform_, kaiming_uniform_ and d2l's LeNet. It is regenerated whole and
compared byte for byte (no BLAS is involved); tests/nn/test_init.cpp checks ember's draws
against it.

Bit-exactness: with torch 1.13.1 on OpenBLAS 0.3.21 on the machine that wrote them (a Zen CPU:
its FMA kernels) the files are reproduced byte for byte. Other CPUs' OpenBLAS kernels (an Intel
Xeon's SkylakeX gives 1.68102968 for 1.68102956 in matmul_2x3_3), OpenBLAS's pre-FMA kernels
(OPENBLAS_CORETYPE=Sandybridge or Prescott) and netlib's reference BLAS change the last digits of
the float32 `linear` and `matmul` results; --check accepts them within the tolerance and reports
how many results are not byte-identical. Every other file does not depend on the BLAS.
"""

import argparse
import difflib
import math
import os
import re
import sys
import zlib

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # reported by main(), or skipped with --skip-unavailable
    torch = None

HERE = os.path.dirname(os.path.abspath(__file__))
SKIPPED = 4  # --skip-unavailable without torch: CTest's SKIP_RETURN_CODE (tests/support/skip.h)
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


# Note [Checking within tolerance]
# --check holds every file to what torch computes HERE, on this CPU and this BLAS. The inputs are
# data: they must come out byte for byte (read from the file or drawn again from the seed, then
# formatted again), and so must the header (its compare= flag included), the comments and the line
# order. The results are float arithmetic: a GEMM's float32 rounding depends on the BLAS kernel
# the CPU gets, so a result line passes when each value is within the case's rtol/atol of the
# committed one (FORMAT.md's comparison, the one every ember test uses against these files), and
# integer results (min_dim's indices) must be equal.
def within_tolerance(old, new, is_exact):
    """True if text new matches committed text old as Note [Checking within tolerance] says."""
    old_lines, new_lines = old.split("\n"), new.split("\n")
    if len(old_lines) != len(new_lines) or old_lines[0] != new_lines[0]:
        return False
    params = dict(t.split("=", 1) for t in old_lines[0].split(" ")[1:] if "=" in t)
    rtol, atol = float(params.get("rtol", "1e-5")), float(params.get("atol", "1e-6"))
    for a, b in zip(old_lines[1:], new_lines[1:]):
        if a == b:
            continue
        ta, tb = a.split(" "), b.split(" ")
        if a.startswith("#") or ":" not in ta or ":" not in tb:
            return False
        colon = ta.index(":")
        if ta[: colon + 1] != tb[: colon + 1] or is_exact(ta[0]) or len(ta) != len(tb):
            return False
        for x, y in zip(ta[colon + 1:], tb[colon + 1:]):  # "indices" (int64): equal only
            if x == y:
                continue
            want, got = float(x), float(y)
            if ta[0] == "indices" or math.isnan(want) or math.isnan(got) or math.isinf(want) or \
                    math.isinf(got) or abs(got - want) > atol + rtol * abs(want):
                return False
    return True


def regenerate(case_name):
    """Returns {file name: regenerated text} for the two files of one case."""
    torch.manual_seed(0)  # nothing below draws random numbers; this only pins the state
    cases = {s: Case(os.path.join(HERE, f"{case_name}.{s}.txt")) for s in ("f32", "f64")}
    results = {s: compute_checked(c, [t for k, t in c.lines if k == "comment"])
               for s, c in cases.items()}
    rtol, atol = float(cases["f32"].params["rtol"]), float(cases["f32"].params["atol"])
    f32_only = any(differs(results["f32"][n], results["f64"][n], rtol, atol)
                   for n in results["f32"])
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


# --- Cases whose inputs this script draws itself (issue 12's tensor ops) ---
#
# For these cases the table below is the source: the script draws every input from a
# torch.Generator seeded with the case's `seed=` (float32 values; explicit values for the edge
# cases), then draws grad_output from the same generator in the output's shape, and computes the
# results in float32 and float64 from those same float32 inputs. --write creates their files and
# their lines in INDEX.txt (below GENERATED_MARK); --check derives inputs and results again and
# compares byte for byte.

GENERATED_MARK = ("# Generated by regenerate.py from its CASES table: inputs drawn from "
                  "torch.Generator().manual_seed(seed)")
NAN, INF = float("nan"), float("inf")


def randn(*shape):
    return lambda g: torch.randn(shape, generator=g, dtype=torch.float32)


def positive(*shape):  # |N(0, 1)| + 0.5: away from 0, for pow and sqrt
    return lambda g: torch.randn(shape, generator=g, dtype=torch.float32).abs() + 0.5


def floats(rows):  # explicit values (edge cases), rounded to float32
    return lambda g: torch.tensor(rows, dtype=torch.float32)


def ints(rows):  # an int64 index tensor
    return lambda g: torch.tensor(rows, dtype=torch.int64)


def randint(high, *shape):
    return lambda g: torch.randint(high, shape, generator=g, dtype=torch.int64)


def bools(rows):  # a mask (bool in torch, uint8 in ember; written 0/1)
    return lambda g: torch.tensor(rows, dtype=torch.bool)


def coin(*shape):  # a random mask, about half set
    return lambda g: torch.rand(shape, generator=g) < 0.5


class Spec:
    """One generated case: op, header params, inputs in file order (name, maker), comments."""

    def __init__(self, name, op, inputs, params=None, comments=(), rtol=1e-5, atol=1e-6):
        self.name, self.op, self.inputs = name, op, inputs
        self.params = params or {}
        self.comments = list(comments)
        self.rtol, self.atol = rtol, atol
        self.seed = zlib.crc32(name.encode("ascii")) & 0x7FFFFFFF


CASES = []


def case(name, op, inputs, params=None, *comments, rtol=1e-5, atol=1e-6):
    CASES.append(Spec(name, op, inputs, params, comments, rtol, atol))


# pow: tensor ^ tensor (input, exponent), tensor ^ number (pow_scalar), number ^ tensor (scalar_pow)
case("pow_random", "pow", [("input", positive(3, 4)), ("exponent", randn(3, 4))])
case("pow_broadcast", "pow", [("input", positive(2, 3, 1)), ("exponent", randn(4))], None,
     "# [2, 3, 1] ^ [4] -> [2, 3, 4]: both gradients are summed back to their input's shape")
case("pow_edge", "pow",
     [("input", floats([[-2.0, -2.0, -2.0, 0.0], [0.0, 0.0, 0.0, 2.0], [1.0, NAN, -INF, INF]])),
      ("exponent", floats([[0.5, 2.0, 3.0, 0.0], [2.0, 0.5, -1.0, 0.0], [NAN, 0.0, 2.0, -1.0]]))],
     None,
     "# negative base ^ fractional exponent is nan; 0^0 = 1 and nan^0 = 1 and 1^nan = 1 (C pow)",
     "# grad_input = exponent * input^(exponent-1), 0 where exponent == 0 (so 0 at 0^0)",
     "# grad_exponent = output * log(input), 0 where input == 0 and exponent >= 0; nan for a",
     "# negative base (log of a negative number)")
case("pow_scalar_random", "pow_scalar", [("input", positive(3, 4))], {"exponent": "2.5"})
case("pow_scalar_negative", "pow_scalar", [("input", positive(3, 4))], {"exponent": "-1.5"})
case("pow_scalar_edge_half", "pow_scalar",
     [("input", floats([-1.0, -0.0, 0.0, 0.25, INF, NAN, 4.0, -INF]))], {"exponent": "0.5"},
     "# x^0.5: nan below 0; the gradient 0.5 * x^-0.5 is inf at 0 and at -0")
case("pow_scalar_edge_zero", "pow_scalar", [("input", floats([-1.0, 0.0, NAN, INF, -INF, 3.0]))],
     {"exponent": "0"}, "# x^0 = 1 for every x, nan and inf included; the gradient is 0")
case("pow_scalar_edge_int", "pow_scalar",
     [("input", floats([-2.0, -0.5, 0.0, -0.0, 3.0, INF, -INF, NAN]))], {"exponent": "-1"},
     "# x^-1: inf at 0, -inf at -0; gradient -x^-2")
case("scalar_pow_random", "scalar_pow", [("input", randn(3, 4))], {"base": "2"},
     "# 2^input; grad_input = 2^input * log(2)")
case("scalar_pow_zero_base", "scalar_pow", [("input", floats([-1.0, 0.0, 0.5, 2.0]))],
     {"base": "0"}, "# 0^input: inf, 1, 0, 0; the gradient is 0 where input >= 0, else -inf")
case("scalar_pow_negative_base", "scalar_pow", [("input", floats([2.0, 3.0, 0.5, -1.0]))],
     {"base": "-2"}, "# (-2)^input: nan for a fractional input, and a nan gradient (log(-2))")

# square, sqrt, abs
case("square_random", "square", [("input", randn(3, 4))])
case("square_edge", "square", [("input", floats([0.0, -0.0, NAN, INF, -INF, 1e20, -3.0, 1e-30]))],
     None, "# (1e20)^2 overflows float32 to inf; (1e-30)^2 underflows to 0")
case("sqrt_random", "sqrt", [("input", positive(3, 4))])
case("sqrt_edge", "sqrt", [("input", floats([0.0, -0.0, -1.0, INF, NAN, 4.0, 1e-30, 2.0]))], None,
     "# grad = grad_output / (2 * sqrt(x)): the factor is inf at 0 and -inf at -0 (sqrt(-0) is",
     "# -0), nan below 0, 0 at inf")
case("abs_random", "abs", [("input", randn(3, 4))])
case("abs_edge", "abs", [("input", floats([0.0, -0.0, NAN, INF, -INF, -2.0, 3.0, -1e-30]))], None,
     "# grad = grad_output * sign(x): 0 at 0 and -0, and 0 at nan")

# clamp (min, max or both; ember's clamp, clamp_min, clamp_max)
case("clamp_random", "clamp", [("input", randn(3, 4))], {"min": "-0.5", "max": "0.5"})
case("clamp_min_random", "clamp", [("input", randn(3, 4))], {"min": "0"})
case("clamp_max_random", "clamp", [("input", randn(3, 4))], {"max": "0.25"})
case("clamp_edge", "clamp", [("input", floats([-1.0, 1.0, -1.5, 1.5, NAN, INF, -INF, 0.0]))],
     {"min": "-1", "max": "1"},
     "# ties: x == min and x == max pass the gradient (the mask is min <= x <= max); nan stays",
     "# nan with gradient 0")
case("clamp_min_above_max", "clamp", [("input", floats([-2.0, 0.0, 0.5, 2.0]))],
     {"min": "1", "max": "-1"},
     "# min > max: every element becomes max (min(max(x, min), max)), gradient 0 everywhere")

# min over all elements, and over a dim (values and indices)
case("min_random", "min", [("input", randn(3, 4))])
case("min_ties", "min", [("input", floats([[1.0, -2.0, 3.0], [-2.0, 0.5, -2.0]]))], None,
     "# three elements tie for the min: the gradient is shared evenly, grad_output / 3 each")
case("min_nan", "min", [("input", floats([[1.0, NAN, -3.0], [NAN, 0.5, -INF]]))], None,
     "# nan wins the min; the gradient is shared evenly between the nan elements")
case("min_dim_random", "min_dim", [("input", randn(3, 5))], {"dim": "1", "keepdim": "0"})
case("min_dim_keepdim", "min_dim", [("input", randn(2, 3, 4))], {"dim": "-2", "keepdim": "1"})
case("min_dim_dim0", "min_dim", [("input", randn(4, 3))], {"dim": "0", "keepdim": "0"})
case("min_dim_ties_nan", "min_dim",
     [("input", floats([[2.0, 1.0, 1.0, 3.0], [0.0, NAN, -1.0, NAN], [-INF, 5.0, -INF, 0.0]]))],
     {"dim": "1", "keepdim": "0"},
     "# ties: the index is the first minimum and only it gets the gradient; a nan wins (its",
     "# first occurrence)")

# minimum, maximum (elementwise, broadcasting)
for fn in ("minimum", "maximum"):
    case(f"{fn}_random", fn, [("input", randn(3, 4)), ("other", randn(3, 4))])
    case(f"{fn}_broadcast", fn, [("input", randn(3, 1)), ("other", randn(4))], None,
         "# [3, 1] with [4] -> [3, 4]: the gradients are summed back to each input's shape")
    case(f"{fn}_edge", fn,
         [("input", floats([[1.0, -2.0, NAN, 3.0], [INF, -INF, 0.5, NAN]])),
          ("other", floats([[1.0, -2.0, 1.0, NAN], [INF, -INF, -0.5, NAN]]))], None,
         "# ties (1 vs 1, -2 vs -2, inf vs inf) split the gradient in half between the inputs;",
         "# a nan on either side gives nan, and its gradient goes to the nan (both if both are)")

# logsumexp
case("logsumexp_random", "logsumexp", [("input", randn(3, 5))], {"dim": "1", "keepdim": "0"})
case("logsumexp_keepdim", "logsumexp", [("input", randn(2, 3, 4))], {"dim": "-2", "keepdim": "1"})
case("logsumexp_dim0", "logsumexp", [("input", randn(4, 3))], {"dim": "0", "keepdim": "0"})
case("logsumexp_edge", "logsumexp",
     [("input", floats([[-INF, -INF, -INF], [-INF, 0.0, 1.0], [NAN, 1.0, 2.0], [INF, 1.0, 2.0],
                        [100.0, 100.0, -100.0], [-100.0, -100.0, -100.0]]))],
     {"dim": "1", "keepdim": "0"},
     "# gradient exp(x - output): a row of -inf gives -inf and a nan gradient (-inf - -inf);",
     "# a row with inf gives inf and a nan gradient in the whole row (PyTorch 1.13); a nan row",
     "# gives nan; rows of +-100 overflow or underflow a naive exp in float32")
case("logsumexp_large", "logsumexp",
     [("input", floats([[1e4, 1e4], [-1e4, -1e4], [1e4, -1e4], [-1e4, 1.0]]))],
     {"dim": "1", "keepdim": "0"},
     "# rtol 3e-4: PyTorch's float32 gradient is exp(x - output) with output rounded to float32:",
     "# at x = 1e4 that is exp(1e4 - 10000.6934) = 0.49989, where the exact softmax is 0.5",
     rtol=3e-4)

# cat and stack (inputs tensor0, tensor1, ...)
case("cat_dim0", "cat",
     [("tensor0", randn(2, 3)), ("tensor1", randn(1, 3)), ("tensor2", randn(3, 3))],
     {"dim": "0"})
case("cat_dim1", "cat", [("tensor0", randn(2, 3)), ("tensor1", randn(2, 1))], {"dim": "1"})
case("cat_negdim", "cat", [("tensor0", randn(2, 3, 2)), ("tensor1", randn(2, 3, 1))], {"dim": "-1"})
case("cat_empty_part", "cat",
     [("tensor0", randn(2, 3)), ("tensor1", randn(0, 3)), ("tensor2", randn(1, 3))],
     {"dim": "0"}, "# a [0, 3] part adds no rows; its gradient is empty")
case("stack_dim0", "stack",
     [("tensor0", randn(2, 3)), ("tensor1", randn(2, 3)), ("tensor2", randn(2, 3))],
     {"dim": "0"})
case("stack_dim1", "stack", [("tensor0", randn(2, 3)), ("tensor1", randn(2, 3))], {"dim": "1"})
case("stack_negdim", "stack", [("tensor0", randn(2, 3)), ("tensor1", randn(2, 3))], {"dim": "-1"})
case("stack_scalars", "stack", [("tensor0", randn()), ("tensor1", randn()), ("tensor2", randn())],
     {"dim": "0"}, "# three 0-d tensors -> [3]")

# gather and index_select (index: int64)
case("gather_dim1", "gather", [("input", randn(3, 4)), ("index", randint(4, 3, 5))], {"dim": "1"},
     "# index may be longer than input along dim; repeated indices accumulate in grad_input")
case("gather_dim0_smaller", "gather", [("input", randn(4, 3)), ("index", randint(4, 2, 2))],
     {"dim": "0"}, "# index [2, 2] is smaller than input [4, 3] in the other dim too")
case("gather_repeated", "gather",
     [("input", randn(2, 3)), ("index", ints([[0, 0, 0, 0], [2, 1, 2, 2]]))],
     {"dim": "1"}, "# the gradient of a gather is a scatter-add: repeated indices add up")
case("gather_negdim", "gather", [("input", randn(2, 3, 4)), ("index", randint(4, 2, 3, 2))],
     {"dim": "-1"})
case("index_select_dim0", "index_select", [("input", randn(4, 3)), ("index", ints([3, 0, 2]))],
     {"dim": "0"})
case("index_select_repeated", "index_select",
     [("input", randn(3, 4)), ("index", ints([1, 1, 3, 1]))],
     {"dim": "1"}, "# repeated indices add up in grad_input")
case("index_select_negdim", "index_select", [("input", randn(2, 3, 4)), ("index", ints([3, 0]))],
     {"dim": "-1"})
case("index_select_empty", "index_select", [("input", randn(3, 4)), ("index", ints([]))],
     {"dim": "0"}, "# an empty index gives [0, 4] and a zero gradient")

# masked_fill (mask: bool in torch, uint8 in ember) and where (condition likewise)
case("masked_fill_random", "masked_fill", [("input", randn(3, 4)), ("mask", coin(3, 4))],
     {"value": "-1.5"})
case("masked_fill_broadcast", "masked_fill", [("input", randn(2, 3, 4)), ("mask", coin(2, 1, 4))],
     {"value": "0"}, "# the mask [2, 1, 4] broadcasts over input [2, 3, 4]")
case("masked_fill_edge", "masked_fill",
     [("input", floats([[NAN, 1.0, INF, -2.0], [NAN, -INF, 0.5, 3.0]])),
      ("mask", bools([[True, False, True, False], [False, True, False, False]]))],
     {"value": "-inf"}, "# a masked nan or inf is replaced and gets gradient 0; unmasked nan stays")
case("masked_fill_nan_value", "masked_fill",
     [("input", randn(2, 3)), ("mask", bools([True, False, True]))],
     {"value": "nan"}, "# the mask [3] broadcasts over the rows")
case("where_random", "where",
     [("condition", coin(3, 4)), ("input", randn(3, 4)), ("other", randn(3, 4))])
case("where_broadcast", "where",
     [("condition", coin(3, 1)), ("input", randn(4)), ("other", randn(3, 4))],
     None, "# condition [3, 1], input [4], other [3, 4] -> [3, 4]; grad_input is summed over rows")
case("where_scalar_other", "where",
     [("condition", coin(2, 3)), ("input", randn(2, 3)), ("other", randn())],
     None, "# a 0-d other: its gradient is the sum of grad_output where the condition is false")
case("where_edge", "where",
     [("condition", bools([True, False, True, False])), ("input", floats([1.0, NAN, -INF, 2.0])),
      ("other", floats([NAN, 3.0, 0.0, INF]))], None,
     "# the branch not taken never leaks: its nan or inf neither reaches the output nor the grads")

# index: t[indices]. `indices=` items, comma-separated: an integer; a slice start:stop:step (parts
# may be empty); None; ...; or the name of an int64 (indexN) or mask (maskN) tensor line.
case("index_int", "index", [("input", randn(3, 4, 5))], {"indices": "-1,0"},
     "# integers drop their dims; -1 counts from the end")
case("index_slices", "index", [("input", randn(3, 4, 5))], {"indices": "1:,::2,-3:-1"})
case("index_slices_clamped", "index",
     [("input", randn(3, 4, 5))], {"indices": "-5:,-100:2,1:100:2"},
     "# out-of-range slice bounds are clamped, as Python slices")
case("index_slice_empty", "index", [("input", randn(3, 4, 5))], {"indices": ":,3:1"},
     "# stop before start: an empty dim, and a zero gradient")
case("index_none_ellipsis", "index", [("input", randn(3, 4, 5))], {"indices": "None,...,1,None"},
     "# None inserts a dim of size 1; ... stands for the dims not named")
case("index_slice_none", "index", [("input", randn(3, 4, 5))], {"indices": ":,-2:,None"},
     "# None after a slice: a new dim of size 1 at position 2")
case("index_tensor_repeated", "index", [("input", randn(3, 4, 5)), ("index0", ints([2, 0, 2, -1]))],
     {"indices": "index0"}, "# repeated (and negative) indices: their gradients add up")
case("index_tensor_slice", "index",
     [("input", randn(3, 4, 5)), ("index0", ints([[0, 3], [3, 3]]))], {"indices": ":,index0,1:4"},
     "# a 2-d index tensor between slices: its dims replace the indexed dim")
case("index_tensors_broadcast", "index",
     [("input", randn(3, 4, 5)), ("index0", ints([[0], [2]])), ("index1", ints([1, 3, 1]))],
     {"indices": "index0,index1"},
     "# adjacent index tensors broadcast together ([2, 1] with [3] -> [2, 3])")
case("index_tensors_split", "index",
     [("input", randn(3, 4, 5)), ("index0", ints([0, 2])), ("index1", ints([4, 1]))],
     {"indices": "index0,:,index1"},
     "# index tensors separated by a slice: their dims go first -> [2, 4]")
case("index_tensors_2d_1d", "index",
     [("input", randn(3, 4, 5)), ("index0", ints([[0, 1], [2, 2]])), ("index1", ints([1, 3]))],
     {"indices": ":,index0,index1"},
     "# adjacent index tensors [2, 2] and [2] broadcast to [2, 2], in place of dims 1 and 2")
case("index_ellipsis_tensor", "index", [("input", randn(3, 4, 5)), ("index0", ints([-1]))],
     {"indices": "...,index0"}, "# a one-element index tensor keeps its dim, unlike an integer")
case("index_int_tensor_slice", "index", [("input", randn(3, 4, 5)), ("index0", ints([0, 0, 2]))],
     {"indices": "1,index0,1:3"},
     "# PyTorch applies the integer first, as a select: x[1][index0, 1:3] -> [3, 2]")
case("index_int_split_tensor", "index", [("input", randn(3, 4, 5)), ("index0", ints([1, 2]))],
     {"indices": "0,:,index0"},
     "# the integer is a select, applied first (NumPy would count it as an advanced index and put",
     "# the index dims in front, giving [2, 4]): x[0][:, index0] -> [4, 2]")
case("index_mask", "index", [("input", randn(3, 4, 5)), ("mask0", coin(3, 4))],
     {"indices": "mask0"}, "# a mask over the first two dims selects rows of 5")
case("index_mask_slice", "index",
     [("input", randn(3, 4, 5)), ("mask0", bools([True, False, True, True]))],
     {"indices": "1:,mask0"})
case("index_rows_labels", "index",
     [("input", randn(4, 3)), ("index0", ints([0, 1, 2, 3])), ("index1", ints([2, 0, 0, 1]))],
     {"indices": "index0,index1"}, "# d2l's y_hat[range(n), y]: one entry per row")

# index_put: out = input.clone(); out[indices] = values (accumulate=0), or
# out.index_put_(indices, values, accumulate=True): repeated indices add up.
case("index_put_tensors", "index_put",
     [("input", randn(3, 4)), ("index0", ints([0, 2, 1])), ("index1", ints([1, 3, 0])),
      ("values", randn(3))], {"indices": "index0,index1", "accumulate": "0"},
     "# grad_input is grad_output with the written entries zeroed; grad_values is",
     "# grad_output there")
case("index_put_accumulate", "index_put",
     [("input", randn(3, 4)), ("index0", ints([0, 0, 2, 0])), ("index1", ints([1, 1, 3, 1])),
      ("values", randn(4))], {"indices": "index0,index1", "accumulate": "1"},
     "# (0, 1) is written three times: the three values add up; grad_input is grad_output")
case("index_put_accumulate_rows", "index_put",
     [("input", randn(4, 3)), ("index0", ints([1, 3, 1])), ("values", randn(3))],
     {"indices": "index0", "accumulate": "1"},
     "# values [3] broadcast to the indexed shape [3, 3]; row 1 gets two of them")
case("index_put_mask", "index_put",
     [("input", randn(3, 4)), ("mask0", coin(3, 4)), ("values", randn())],
     {"indices": "mask0", "accumulate": "0"},
     "# x[mask] = v with a 0-d v: grad_values sums grad_output over the mask")
case("index_put_slices", "index_put",
     [("input", randn(3, 4)), ("values", randn(2))], {"indices": "1:,::2", "accumulate": "0"},
     "# a basic-indexing view written with broadcast values [2] -> [2, 2]")
case("index_put_slice_tensor", "index_put",
     [("input", randn(3, 4)), ("index0", ints([0, 3])), ("values", randn(3, 1))],
     {"indices": ":,index0", "accumulate": "0"})

# matmul: PyTorch's table of 1-d, 2-d and batched operands
for a, b in [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((2, 2, 3), (3,)),
             ((3,), (2, 3, 4)), ((2, 2, 3), (3, 4)), ((2, 3), (2, 3, 4)), ((2, 2, 3), (2, 3, 4)),
             ((2, 1, 2, 3), (3, 3, 2))]:
    name = "matmul_" + "x".join(map(str, a)) + "_" + "x".join(map(str, b))
    case(name, "matmul", [("input", randn(*a)), ("other", randn(*b))], None,
         f"# {list(a)} @ {list(b)}: a 1-d input is a row (first) or a column (second), its dim "
         "removed after; batch dims broadcast")
case("matmul_empty_inner", "matmul", [("input", randn(2, 0)), ("other", randn(0, 3))], None,
     "# an empty inner dim: the product is zeros [2, 3], the gradients are empty")


# --- Convolution and pooling (issue 19) ---
# conv2d: input [N, C, H, W] (or [C, H, W]), weight [O, C/groups, KH, KW], optional bias [O].
# Params: stride, padding, dilation (a number or "h,w"; padding also "same" / "valid"), groups.
# atol 1e-5: grad_weight sums N * OH * OW products of order one (126 here), whose float32
# rounding (PyTorch's as ember's) reaches a few 1e-6 where the sum nearly cancels.


def conv_case(name, op, inputs, params=None, *comments, atol=1e-5):
    case(name, op, inputs, params, *comments, rtol=1e-5, atol=atol)


conv_case("conv2d_1x1", "conv2d",
     [("input", randn(2, 3, 7, 9)), ("weight", randn(4, 3, 1, 1)), ("bias", randn(4))])
conv_case("conv2d_3x3_pad1", "conv2d",
     [("input", randn(2, 3, 7, 9)), ("weight", randn(4, 3, 3, 3)), ("bias", randn(4))],
     {"padding": "1"})
conv_case("conv2d_5x5_pad2", "conv2d",
     [("input", randn(2, 2, 7, 9)), ("weight", randn(3, 2, 5, 5)), ("bias", randn(3))],
     {"padding": "2"})
conv_case("conv2d_stride2", "conv2d",
     [("input", randn(2, 3, 7, 9)), ("weight", randn(4, 3, 3, 3)), ("bias", randn(4))],
     {"stride": "2", "padding": "1"}, "# (7 + 2 - 3) / 2 + 1 = 4 rows, (9 + 2 - 3) / 2 + 1 = 5 columns")
conv_case("conv2d_pairs", "conv2d",
     [("input", randn(2, 3, 7, 9)), ("weight", randn(2, 3, 3, 5)), ("bias", randn(2))],
     {"stride": "2,1", "padding": "0,2"}, "# a 3 x 5 kernel, stride (2, 1), padding (0, 2)")
conv_case("conv2d_dilation2", "conv2d",
     [("input", randn(2, 2, 7, 9)), ("weight", randn(3, 2, 3, 3)), ("bias", randn(3))],
     {"padding": "2", "dilation": "2"}, "# the dilated 3 x 3 kernel spans 5 x 5")
conv_case("conv2d_groups2", "conv2d",
     [("input", randn(2, 4, 7, 9)), ("weight", randn(6, 2, 3, 3)), ("bias", randn(6))],
     {"padding": "1", "groups": "2"},
     "# out-channels 0-2 see in-channels 0-1, out-channels 3-5 see in-channels 2-3")
conv_case("conv2d_depthwise", "conv2d",
     [("input", randn(2, 3, 7, 9)), ("weight", randn(3, 1, 3, 3)), ("bias", randn(3))],
     {"padding": "1", "groups": "3"}, "# groups = C: one 3 x 3 filter per channel")
conv_case("conv2d_depthwise_multiplier", "conv2d",
     [("input", randn(2, 3, 7, 9)), ("weight", randn(6, 1, 5, 5))],
     {"stride": "2", "padding": "2", "groups": "3"}, "# groups = C, two filters per channel, no bias")
conv_case("conv2d_same_even", "conv2d",
     [("input", randn(2, 3, 7, 9)), ("weight", randn(4, 3, 4, 3)), ("bias", randn(4))],
     {"padding": "same"},
     "# padding='same' with an even kernel height: 3 rows of padding, 1 above and 2 below")
conv_case("conv2d_same_dilation", "conv2d",
     [("input", randn(1, 3, 7, 9)), ("weight", randn(2, 3, 3, 2)), ("bias", randn(2))],
     {"padding": "same", "dilation": "2"},
     "# dilation 2: 4 rows (2 + 2) and 2 columns (0 + 2, the odd one on the right) of padding")
conv_case("conv2d_valid", "conv2d",
     [("input", randn(2, 3, 7, 9)), ("weight", randn(4, 3, 3, 3)), ("bias", randn(4))],
     {"padding": "valid"})
conv_case("conv2d_unbatched", "conv2d",
     [("input", randn(3, 7, 9)), ("weight", randn(4, 3, 3, 3)), ("bias", randn(4))],
     {"padding": "1"}, "# an unbatched [C, H, W] input gives [O, OH, OW]")
conv_case("conv2d_lenet_conv2", "conv2d",
     [("input", randn(2, 6, 14, 14)), ("weight", randn(16, 6, 5, 5)), ("bias", randn(16))],
     None, "# LeNet's second convolution (batch 2)",
     "# atol 3e-5: each grad_input is a sum of up to 400 products (16 channels x 25 taps), and",
     "# PyTorch's own float32 values are up to 2.8e-5 from the float64 ones",
     atol=3e-5)

# max_pool2d: kernel_size, stride (default: the kernel), padding (-inf), dilation, ceil_mode.
case("max_pool2d_2x2", "max_pool2d", [("input", randn(2, 3, 7, 9))], {"kernel_size": "2"},
     "# stride defaults to the kernel: 7 x 9 -> 3 x 4 (the last row and column are dropped)")
case("max_pool2d_3x3_s2_p1", "max_pool2d", [("input", randn(2, 3, 7, 9))],
     {"kernel_size": "3", "stride": "2", "padding": "1"})
case("max_pool2d_ceil", "max_pool2d", [("input", randn(2, 3, 7, 9))],
     {"kernel_size": "2", "stride": "2", "ceil_mode": "1"},
     "# ceil_mode: 7 x 9 -> 4 x 5, the last windows hang over the edge")
case("max_pool2d_ceil_pad", "max_pool2d", [("input", randn(1, 2, 7, 9))],
     {"kernel_size": "3", "stride": "3", "padding": "1", "ceil_mode": "1"},
     "# a window that would start in the bottom/right padding is dropped")
case("max_pool2d_dilation2", "max_pool2d", [("input", randn(2, 2, 7, 9))],
     {"kernel_size": "3", "stride": "1", "padding": "1", "dilation": "2"})
case("max_pool2d_pairs", "max_pool2d", [("input", randn(2, 2, 7, 9))],
     {"kernel_size": "2,3", "stride": "1,2", "padding": "1,1"})
case("max_pool2d_unbatched", "max_pool2d", [("input", randn(3, 7, 9))],
     {"kernel_size": "3", "stride": "2"})
case("max_pool2d_ties", "max_pool2d",
     [("input", lambda g: torch.randint(0, 3, (2, 2, 6, 6), generator=g).to(torch.float32))],
     {"kernel_size": "3", "stride": "1"},
     "# small integers: most windows tie; the gradient goes to the first maximum (row-major)")

# avg_pool2d: kernel_size, stride, padding (zeros), ceil_mode, count_include_pad,
# divisor_override.
case("avg_pool2d_2x2", "avg_pool2d", [("input", randn(2, 3, 7, 9))], {"kernel_size": "2"})
case("avg_pool2d_3x3_s2_p1", "avg_pool2d", [("input", randn(2, 3, 7, 9))],
     {"kernel_size": "3", "stride": "2", "padding": "1"},
     "# count_include_pad (default): padding cells count in the divisor (9 everywhere)")
case("avg_pool2d_exclude_pad", "avg_pool2d", [("input", randn(2, 3, 7, 9))],
     {"kernel_size": "3", "stride": "2", "padding": "1", "count_include_pad": "0"},
     "# count_include_pad=0: a corner window divides by its 4 image cells")
case("avg_pool2d_ceil", "avg_pool2d", [("input", randn(2, 2, 7, 9))],
     {"kernel_size": "3", "stride": "2", "padding": "1", "ceil_mode": "1"},
     "# ceil_mode: the last window runs past the padding; the part beyond it is not counted")
case("avg_pool2d_ceil_exclude_pad", "avg_pool2d", [("input", randn(2, 2, 7, 9))],
     {"kernel_size": "2", "stride": "2", "ceil_mode": "1", "count_include_pad": "0"})
case("avg_pool2d_divisor", "avg_pool2d", [("input", randn(2, 2, 7, 9))],
     {"kernel_size": "3", "stride": "2", "padding": "1", "divisor_override": "5"},
     "# every window's sum is divided by 5")
case("avg_pool2d_pairs", "avg_pool2d", [("input", randn(2, 2, 7, 9))],
     {"kernel_size": "3,2", "stride": "2,1", "padding": "1,0"})
case("avg_pool2d_unbatched", "avg_pool2d", [("input", randn(3, 7, 9))], {"kernel_size": "2"})

# adaptive_avg_pool2d: output_size (a number or "h,w").
case("adaptive_avg_pool2d_3x4", "adaptive_avg_pool2d", [("input", randn(2, 3, 7, 9))],
     {"output_size": "3,4"}, "# windows [floor(i H / OH), ceil((i + 1) H / OH)) overlap")
case("adaptive_avg_pool2d_1", "adaptive_avg_pool2d", [("input", randn(2, 3, 7, 9))],
     {"output_size": "1"}, "# global average pooling")
case("adaptive_avg_pool2d_larger", "adaptive_avg_pool2d", [("input", randn(1, 2, 3, 4))],
     {"output_size": "5,7"}, "# an output larger than the input repeats cells")
case("adaptive_avg_pool2d_unbatched", "adaptive_avg_pool2d", [("input", randn(3, 7, 9))],
     {"output_size": "2"})


def size_param(value):
    """A conv/pool size parameter: "2" -> 2, "2,1" -> (2, 1); strings pass through."""
    if value in ("same", "valid"):
        return value
    parts = [int(v) for v in value.split(",")]
    return parts[0] if len(parts) == 1 else tuple(parts)


def compute_conv_pool(op, p, t):
    """conv2d and the pooling ops (issue 19): the output, or None for another op."""
    import warnings  # torch warns that padding='same' with an even kernel copies the input
    warnings.filterwarnings("ignore", message="Using padding='same'")
    x = t.get("input")
    sp = lambda key, default: size_param(p[key]) if key in p else default  # noqa: E731
    if op == "conv2d":
        return F.conv2d(x, t["weight"], t.get("bias"), stride=sp("stride", 1),
                        padding=sp("padding", 0), dilation=sp("dilation", 1),
                        groups=int(p.get("groups", "1")))
    if op == "max_pool2d":
        return F.max_pool2d(x, sp("kernel_size", None), stride=sp("stride", None),
                            padding=sp("padding", 0), dilation=sp("dilation", 1),
                            ceil_mode=p.get("ceil_mode") == "1")
    if op == "avg_pool2d":
        return F.avg_pool2d(x, sp("kernel_size", None), stride=sp("stride", None),
                            padding=sp("padding", 0), ceil_mode=p.get("ceil_mode") == "1",
                            count_include_pad=p.get("count_include_pad", "1") == "1",
                            divisor_override=int(p["divisor_override"])
                            if "divisor_override" in p else None)
    if op == "adaptive_avg_pool2d":
        return F.adaptive_avg_pool2d(x, sp("output_size", None))
    return None
# --- End of convolution and pooling ---


def parse_indices(spec, tensors):
    """The `indices=` parameter as a Python index tuple (see the index cases above)."""
    items = []
    for item in spec.split(","):
        if item == "None":
            items.append(None)
        elif item == "...":
            items.append(Ellipsis)
        elif re.fullmatch(r"-?\d+", item):
            items.append(int(item))
        elif ":" in item:
            items.append(slice(*[int(v) if v else None for v in item.split(":")]))
        else:
            items.append(tensors[item])
    return tuple(items)


def compute_generated(op, p, t):
    """Returns ({result name: tensor}, the tensor backward starts from) for a generated case."""
    x = t.get("input")
    dim = int(p["dim"]) if "dim" in p else None
    keepdim = p.get("keepdim") == "1"
    extra = {}
    if op == "pow":
        y = torch.pow(x, t["exponent"])
    elif op == "pow_scalar":
        y = torch.pow(x, float(p["exponent"]))
    elif op == "scalar_pow":
        y = torch.pow(float(p["base"]), x)
    elif op in ("square", "sqrt", "abs"):
        y = getattr(torch, op)(x)
    elif op == "clamp":
        bound = lambda key: float(p[key]) if key in p else None  # noqa: E731
        y = torch.clamp(x, min=bound("min"), max=bound("max"))
    elif op == "min":
        y = x.min()
    elif op == "min_dim":
        y, extra["indices"] = torch.min(x, dim, keepdim=keepdim)
    elif op in ("minimum", "maximum"):
        y = getattr(torch, op)(x, t["other"])
    elif op == "logsumexp":
        y = torch.logsumexp(x, dim, keepdim=keepdim)
    elif op in ("cat", "stack"):
        parts = [t[f"tensor{i}"] for i in range(len(t))]
        y = getattr(torch, op)(parts, dim)
    elif op == "gather":
        y = torch.gather(x, dim, t["index"])
    elif op == "index_select":
        y = torch.index_select(x, dim, t["index"])
    elif op == "masked_fill":
        y = x.masked_fill(t["mask"], float(p["value"]))
    elif op == "where":
        y = torch.where(t["condition"], x, t["other"])
    elif op == "index":
        y = x[parse_indices(p["indices"], t)]
    elif op == "index_put":
        y = x.clone()
        indices = parse_indices(p["indices"], t)
        if p["accumulate"] == "1":
            y.index_put_(indices, t["values"], accumulate=True)
        else:
            y[indices] = t["values"]
    elif op == "matmul":
        y = torch.matmul(x, t["other"])
    elif compute_conv_pool(op, p, t) is not None:  # issue 19: conv2d and pooling
        y = compute_conv_pool(op, p, t)
    else:
        raise ValueError(f"unknown generated op {op}")
    return dict(output=y, **extra), y


def generate(spec):
    """Returns {file name: text} of the two files of a generated case, and its INDEX.txt line."""
    if spec.op in OPTIMIZER_OPS:  # optimizer trajectories: their own block below
        return generate_optimizer(spec)
    torch.manual_seed(0)  # only the generator below draws; this pins everything else
    gen = torch.Generator().manual_seed(spec.seed)
    inputs = [(name, make(gen)) for name, make in spec.inputs]
    with torch.no_grad():
        shape = compute_generated(spec.op, spec.params, dict(inputs))[1].shape
    grad_output = torch.randn(shape, generator=gen, dtype=torch.float32)
    results = {}
    for suffix, dtype in (("f32", torch.float32), ("f64", torch.float64)):
        t = {name: v.to(dtype).clone().requires_grad_() if v.is_floating_point() else v
             for name, v in inputs}
        res, y = compute_generated(spec.op, spec.params, t)
        y.backward(grad_output.to(dtype))
        res = {k: v.detach() for k, v in res.items()}
        for name, v in inputs:
            if v.is_floating_point():
                if t[name].grad is None:
                    raise AssertionError(f"{spec.name}: torch gives no gradient for {name}")
                res[f"grad_{name}"] = t[name].grad
        results[suffix] = res
    rtol, atol = spec.rtol, spec.atol
    f32_only = any(differs(results["f32"][n], results["f64"][n], rtol, atol)
                   for n in results["f32"])
    params = " ".join(f"{k}={v}" for k, v in spec.params.items())
    out = {}
    for suffix, digits in (("f32", 9), ("f64", 17)):
        dtype = {"f32": "float32", "f64": "float64"}[suffix]
        header = [spec.op, f"case={spec.name}", f"dtype={dtype}"] + ([params] if params else [])
        header += [f"rtol={rtol:g}", f"atol={atol:g}", "compare=" + ("f32" if f32_only else "any"),
                   f"seed={spec.seed}"]
        lines = [" ".join(header)] + spec.comments
        lines.append("# inputs: torch.Generator().manual_seed(seed), float32 (regenerate.py CASES)")
        lines.append("# grad_output: drawn next from the same generator")

        def add(name, tensor):
            integer = not tensor.is_floating_point()
            values = tensor.reshape(-1).tolist()
            lines.append(format_tensor(name, list(tensor.shape), values, integer, digits))

        for name, v in inputs:
            add(name, v)
        add("grad_output", grad_output)
        for name, v in results[suffix].items():
            add(name, v)
        out[f"{spec.name}.{suffix}.txt"] = "\n".join(lines) + "\n"
    return out, f"{spec.name}\t{spec.op}\t{params}"


# --- Adam and AdamW trajectories (issue 19) ---
#
# Cases of op `adam` / `adamw`: a parameter (param_init) and one gradient per step (grad_stepK),
# drawn like the other generated cases; torch.optim.Adam / AdamW (foreach=False: the
# single-tensor algorithm ember follows) takes `steps` steps in float32 and in float64 from the
# same float32 inputs, and the files record the parameter and the state after each step:
# param_stepK, exp_avg_stepK, exp_avg_sq_stepK, and max_exp_avg_sqK with amsgrad.

OPTIMIZER_OPS = ("adam", "adamw")


def scaled_randn(shape, scale):
    """randn(shape) * scale: a gradient of another size."""
    return lambda g: torch.randn(shape, generator=g, dtype=torch.float32) * scale


def adam_case(name, op, options, *comments, shape=(3, 5), steps=5, grads=None, init=None):
    """An Adam/AdamW trajectory; `options` overrides torch's defaults (strings, as headers)."""
    params = {"lr": "0.001", "beta1": "0.9", "beta2": "0.999", "eps": "1e-08",
              "weight_decay": "0" if op == "adam" else "0.01", "amsgrad": "0", "maximize": "0"}
    params.update(options)
    params["steps"] = str(steps)
    grads = grads or [randn(*shape)] * steps
    inputs = [("param_init", init or randn(*shape))]
    inputs += [(f"grad_step{k + 1}", grads[k]) for k in range(steps)]
    case(name, op, inputs, params, *comments)


def generate_optimizer(spec):
    """generate() for an `adam` / `adamw` case: the trajectory in float32 and in float64."""
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(spec.seed)
    inputs = [(name, make(gen)) for name, make in spec.inputs]
    p = spec.params
    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[spec.op]
    results = {}
    for suffix, dtype in (("f32", torch.float32), ("f64", torch.float64)):
        t = {name: v.to(dtype) for name, v in inputs}
        param = t["param_init"].clone().requires_grad_()
        opt = cls([param], lr=float(p["lr"]), betas=(float(p["beta1"]), float(p["beta2"])),
                  eps=float(p["eps"]), weight_decay=float(p["weight_decay"]),
                  amsgrad=p["amsgrad"] == "1", maximize=p["maximize"] == "1", foreach=False)
        res = {}
        for k in range(1, int(p["steps"]) + 1):
            param.grad = t[f"grad_step{k}"].clone()
            opt.step()
            state = opt.state[param]
            res[f"param_step{k}"] = param.detach().clone()
            for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
                if key in state:
                    res[f"{key}_step{k}"] = state[key].clone()
        results[suffix] = res
    f32_only = any(differs(results["f32"][n], results["f64"][n], spec.rtol, spec.atol)
                   for n in results["f32"])
    params = " ".join(f"{k}={v}" for k, v in p.items())
    out = {}
    for suffix, digits in (("f32", 9), ("f64", 17)):
        dtype = {"f32": "float32", "f64": "float64"}[suffix]
        header = [spec.op, f"case={spec.name}", f"dtype={dtype}", params,
                  f"rtol={spec.rtol:g}", f"atol={spec.atol:g}",
                  "compare=" + ("f32" if f32_only else "any"), f"seed={spec.seed}"]
        lines = [" ".join(header)] + spec.comments
        lines.append("# inputs: torch.Generator().manual_seed(seed), float32 (regenerate.py CASES)")
        lines.append(f"# torch.optim.{cls.__name__}(foreach=False), one step per grad_stepK")
        for name, v in inputs:
            lines.append(format_tensor(name, list(v.shape), v.reshape(-1).tolist(), False, digits))
        for name, v in results[suffix].items():
            lines.append(format_tensor(name, list(v.shape), v.reshape(-1).tolist(), False, digits))
        out[f"{spec.name}.{suffix}.txt"] = "\n".join(lines) + "\n"
    return out, f"{spec.name}\t{spec.op}\t{params}"


# v falls: amsgrad keeps its max
SHRINKING = [scaled_randn((3, 5), scale) for scale in (1.0, 0.5, 0.1, 0.02, 0.01)]
for op in OPTIMIZER_OPS:
    adam_case(f"{op}_default", op, {},
              f"# torch.optim.{'Adam' if op == 'adam' else 'AdamW'}'s defaults (lr 1e-3)")
    adam_case(f"{op}_lr", op, {"lr": "0.1"})
    adam_case(f"{op}_amsgrad", op, {"lr": "0.1", "amsgrad": "1"},
              "# max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq) replaces exp_avg_sq in denom")
    adam_case(f"{op}_amsgrad_shrinking", op,
              {"lr": "0.1", "beta1": "0.5", "beta2": "0.6", "amsgrad": "1"},
              "# gradients scaled by 1, 0.5, 0.1, 0.02, 0.01: exp_avg_sq falls below its max",
              grads=SHRINKING)
    adam_case(f"{op}_maximize", op, {"lr": "0.1", "maximize": "1"},
              "# maximize: the gradient is negated first")
    adam_case(f"{op}_weight_decay", op, {"lr": "0.1", "weight_decay": "0.3"},
              "# Adam adds weight_decay * param to the gradient (L2); AdamW multiplies param by"
              " 1 - lr * weight_decay")
    adam_case(f"{op}_betas", op, {"lr": "0.05", "beta1": "0.5", "beta2": "0.75"})
    adam_case(f"{op}_beta_zero", op, {"lr": "0.05", "beta1": "0", "beta2": "0"},
              "# beta1 = beta2 = 0: m = g and v = g^2, the update is lr * g / (|g| + eps)")
    adam_case(f"{op}_eps", op, {"lr": "0.1", "eps": "0.5"},
              "# a large eps damps the steps of small gradients")
    adam_case(f"{op}_all", op,
              {"lr": "0.02", "beta1": "0.8", "beta2": "0.9", "eps": "0.001",
               "weight_decay": "0.05", "amsgrad": "1", "maximize": "1"},
              "# every option at once", shape=(17,))
    adam_case(f"{op}_zero_grads", op, {"lr": "0.1", "weight_decay": "0.1"},
              "# zero gradients: v = 0, so denom = eps; the update is weight decay's alone",
              shape=(2, 3), grads=[floats([[0.0, 1.0, 0.0], [-2.0, 0.0, 0.0]])] * 5)
adam_case("adamw_no_weight_decay", "adamw", {"lr": "0.1", "weight_decay": "0"},
          "# weight_decay 0: param.mul_(1 - 0) changes nothing, AdamW is Adam")


# --- Batch normalization (issue 19): nn.BatchNorm1d / BatchNorm2d over several steps ---
#
# A batch_norm case runs one module for several steps, each in training (`t`) or evaluation
# (`e`) mode as `modes=` spells them, and records everything a step computes. Drawn from
# torch.Generator().manual_seed(seed), in order: the initial `weight` [C] (N(1, 0.5^2)) and `bias`
# [C] (N(0, 0.5^2)) when affine=1, the initial `running_mean` [C] (N(0, 0.5^2)) and `running_var`
# [C] (U(0.5, 1.5)) when track_running_stats=1; then per step k: `input_k` (N(0.5, 1.5^2)) and
# `grad_output_k` (N(0, 1)). Results per step: `output_k`, `grad_input_k`, `grad_weight_k` and
# `grad_bias_k` (affine; each step's own, not accumulated), and the buffers after the step,
# `running_mean_k`, `running_var_k`, `num_batches_tracked_k` (int64; track_running_stats).
# `layout=` says how the input is laid out in memory (the values are the same): `contiguous`, or
# `channels_last` (a [N, C, H, W] view of a contiguous [N, H, W, C] tensor; for [N, C] a
# transposed [C, N]): ember's test builds it the same way.

BATCH_NORM_CASES = []


def batch_norm_case(name, module, shape, modes, *comments, momentum="0.1", eps="1e-05",
                    affine=True, track=True, layout="contiguous", rtol=1e-5, atol=1e-6):
    params = {"module": module, "num_features": str(shape[1]), "eps": eps, "momentum": momentum,
              "affine": "1" if affine else "0", "track_running_stats": "1" if track else "0",
              "modes": modes, "layout": layout, "shape": "x".join(map(str, shape))}
    spec = Spec(name, "batch_norm", [], params, comments, rtol, atol)
    BATCH_NORM_CASES.append(spec)


batch_norm_case("batch_norm_1d_train_eval", "BatchNorm1d", (5, 3), "ttte",
                "# [N, C]: statistics over N; three training steps move the running statistics by",
                "# momentum 0.1 (running_var with the unbiased variance), then eval uses them")
batch_norm_case("batch_norm_1d_ncl", "BatchNorm1d", (3, 4, 5), "tte",
                "# [N, C, L]: statistics over N and L; momentum 0.3, eps 1e-3", momentum="0.3",
                eps="0.001")
batch_norm_case("batch_norm_1d_momentum_none", "BatchNorm1d", (6, 3), "tttte",
                "# momentum None: the cumulative average, factor 1 / num_batches_tracked (1, 1/2,",
                "# 1/3, 1/4): after k steps running_mean is the mean of the k batch means",
                momentum="None")
batch_norm_case("batch_norm_1d_affine_off", "BatchNorm1d", (4, 3, 2), "tte",
                "# affine False: no weight and bias (1 and 0), no grad_weight or grad_bias",
                affine=False)
batch_norm_case("batch_norm_1d_no_track", "BatchNorm1d", (4, 3), "tte",
                "# track_running_stats False: no buffers; eval mode normalizes with the batch's",
                "# statistics too", track=False)
batch_norm_case("batch_norm_1d_transposed", "BatchNorm1d", (5, 3), "tte",
                "# a non-contiguous [N, C] input: the transpose of a contiguous [C, N]",
                layout="channels_last")
batch_norm_case("batch_norm_2d_train_eval", "BatchNorm2d", (2, 3, 7, 9), "ettte",
                "# [N, C, H, W] on 7x9 images: statistics over N, H and W; eval first (the",
                "# initial running statistics), then three training steps, then eval")
batch_norm_case("batch_norm_2d_momentum_none", "BatchNorm2d", (3, 2, 7, 9), "ttte",
                "# momentum None on images: the cumulative average of the batch statistics",
                momentum="None")
batch_norm_case("batch_norm_2d_channels_last", "BatchNorm2d", (2, 3, 7, 9), "tte",
                "# a non-contiguous input: a [N, C, H, W] view (permute(0, 3, 1, 2)) of a",
                "# contiguous [N, H, W, C] tensor", layout="channels_last")
batch_norm_case("batch_norm_2d_bare", "BatchNorm2d", (2, 4, 7, 9), "te",
                "# affine False and track_running_stats False: plain normalization by the",
                "# batch's statistics in both modes", affine=False, track=False)


def generate_batch_norm(spec):
    """The two files and the INDEX.txt line of a batch_norm case (see BATCH_NORM_CASES)."""
    torch.manual_seed(0)
    p = spec.params
    gen = torch.Generator().manual_seed(spec.seed)
    shape = tuple(int(d) for d in p["shape"].split("x"))
    C = shape[1]
    affine, track = p["affine"] == "1", p["track_running_stats"] == "1"
    initial = []
    if affine:
        initial.append(("weight", torch.randn(C, generator=gen) * 0.5 + 1.0))
        initial.append(("bias", torch.randn(C, generator=gen) * 0.5))
    if track:
        initial.append(("running_mean", torch.randn(C, generator=gen) * 0.5))
        initial.append(("running_var", torch.rand(C, generator=gen) + 0.5))
    steps = [(torch.randn(shape, generator=gen) * 1.5 + 0.5, torch.randn(shape, generator=gen))
             for _ in p["modes"]]
    momentum = None if p["momentum"] == "None" else float(p["momentum"])

    def laid_out(x):  # the same values, in the memory layout `layout=` names
        if p["layout"] == "contiguous":
            return x
        if x.dim() == 2:
            return x.t().contiguous().t()
        return x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)

    results = {}
    for suffix, dtype in (("f32", torch.float32), ("f64", torch.float64)):
        module = getattr(torch.nn, p["module"])(C, eps=float(p["eps"]), momentum=momentum,
                                                affine=affine, track_running_stats=track)
        module = module.to(dtype)
        with torch.no_grad():
            for name, value in initial:
                getattr(module, name).copy_(value.to(dtype))
        res = {}
        for k, (mode, (x, g)) in enumerate(zip(p["modes"], steps), start=1):
            module.train(mode == "t")
            module.zero_grad()
            xk = laid_out(x.to(dtype).clone()).requires_grad_()
            y = module(xk)
            y.backward(g.to(dtype))
            res[f"output_{k}"] = y.detach()
            res[f"grad_input_{k}"] = xk.grad
            if affine:
                res[f"grad_weight_{k}"] = module.weight.grad.clone()
                res[f"grad_bias_{k}"] = module.bias.grad.clone()
            if track:
                res[f"running_mean_{k}"] = module.running_mean.clone()
                res[f"running_var_{k}"] = module.running_var.clone()
                res[f"num_batches_tracked_{k}"] = module.num_batches_tracked.clone()
        results[suffix] = res
    floats = [n for n, v in results["f32"].items() if v.is_floating_point()]
    f32_only = any(differs(results["f32"][n], results["f64"][n], spec.rtol, spec.atol)
                   for n in floats)
    params = " ".join(f"{k}={v}" for k, v in p.items())
    out = {}
    for suffix, digits in (("f32", 9), ("f64", 17)):
        dtype = {"f32": "float32", "f64": "float64"}[suffix]
        header = [spec.op, f"case={spec.name}", f"dtype={dtype}", params,
                  f"rtol={spec.rtol:g}", f"atol={spec.atol:g}",
                  "compare=" + ("f32" if f32_only else "any"), f"seed={spec.seed}"]
        lines = [" ".join(header)] + spec.comments
        lines.append("# inputs: torch.Generator().manual_seed(seed), float32 (regenerate.py "
                     "BATCH_NORM_CASES)")

        def add(name, tensor):
            integer = not tensor.is_floating_point()
            values = tensor.detach().reshape(-1).tolist()
            lines.append(format_tensor(name, list(tensor.shape), values, integer, digits))

        for name, value in initial:
            add(name, value)
        for k, (x, g) in enumerate(steps, start=1):
            add(f"input_{k}", x)
            add(f"grad_output_{k}", g)
            for name, value in results[suffix].items():
                if name.endswith(f"_{k}") and not name.startswith(("input_", "grad_output_")):
                    add(name, value)
        out[f"{spec.name}.{suffix}.txt"] = "\n".join(lines) + "\n"
    return out, f"{spec.name}\t{spec.op}\t{params}"


# --- PyTorch's random draws (Note [PyTorch's draws] in core/include/ember/core/generator.h) ---

DRAWS_FILE = "generator_draws.txt"
DRAW_SEEDS = (0, 1, 4294967301)  # 2^32 + 5: manual_seed keeps the low 32 bits, so this is seed 5


def head_and_tail(kind):
    """d2l's model `kind` as bench/peers/peer_pipeline.py's make_net builds it (the app's twin):
    each parameter's first two and last two numbers, in order."""
    sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "bench", "peers"))
    import peer_pipeline  # noqa: E402  (the one Python definition of d2l's models)

    out = []
    for p in peer_pipeline.make_net(kind).parameters():
        flat = p.detach().flatten()
        out += flat[:2].tolist() + flat[-2:].tolist()
    return torch.tensor(out)


DRAWS = [  # name, what torch computes right after torch.manual_seed(seed)
    ("rand", "torch.rand(7)", lambda s: torch.rand(7)),
    ("uniform", "torch.empty(6).uniform_(-0.3, 0.7)", lambda s: torch.empty(6).uniform_(-0.3, 0.7)),
    ("randn", "torch.randn(5) (fewer than 16: the scalar path)", lambda s: torch.randn(5)),
    ("randint", "torch.randint(-3, 10, (8,))", lambda s: torch.randint(-3, 10, (8,))),
    ("randint_wide", "torch.randint(-2**40, 2**40, (4,)) (64-bit draws)",
     lambda s: torch.randint(-2**40, 2**40, (4,))),
    ("randperm_head", "torch.randperm(60000, generator=torch.Generator().manual_seed(seed))[:8]",
     lambda s: torch.randperm(60000, generator=torch.Generator().manual_seed(s))[:8]),
    ("randperm_tail", "the same permutation's last 8",
     lambda s: torch.randperm(60000, generator=torch.Generator().manual_seed(s))[-8:]),
    ("linear", "nn.Linear(5, 3): weight (row-major) then bias",
     lambda s: (lambda m: torch.cat([m.weight.flatten(), m.bias]))(torch.nn.Linear(5, 3))),
    ("conv2d", "nn.Conv2d(2, 3, 3): weight then bias",
     lambda s: (lambda m: torch.cat([m.weight.flatten(), m.bias]))(torch.nn.Conv2d(2, 3, 3))),
    ("xavier_uniform", "nn.init.xavier_uniform_(torch.empty(4, 6))",
     lambda s: torch.nn.init.xavier_uniform_(torch.empty(4, 6))),
    ("kaiming_uniform", "nn.init.kaiming_uniform_(torch.empty(4, 6))",
     lambda s: torch.nn.init.kaiming_uniform_(torch.empty(4, 6))),
    ("lenet", "d2l's LeNet (layers in order, then xavier_uniform_ on each weight): every "
     "parameter's first 2 and last 2", lambda s: head_and_tail("lenet")),
    ("lenet_bn", "d2l's LeNet with BatchNorm, the same way", lambda s: head_and_tail("lenet_bn")),
]


def generator_draws():
    """The text of DRAWS_FILE: one line `name seed : values` per draw and seed."""
    lines = ["# Generated by regenerate.py (DRAWS): what PyTorch draws right after",
             "# torch.manual_seed(seed); ember::Generator(seed) draws the same (tests/nn/test_init.cpp;",
             "# the models: tests/apps/test_models.cpp).",
             "# Floats %.9g (float32 exactly), integers plain."]
    lines += [f"# {name}: {what}" for name, what, _ in DRAWS]
    for name, _, draw in DRAWS:
        for seed in DRAW_SEEDS:
            torch.manual_seed(seed)
            values = draw(seed).detach().flatten()
            integer = not values.is_floating_point()
            text = " ".join(str(int(v)) if integer else format_value(float(v), False, 9)
                            for v in values.tolist())
            lines.append(f"{name} {seed} : {text}")
    return "\n".join(lines) + "\n"


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
                        help=f"print SKIPPED and exit {SKIPPED} when torch is missing")
    args = parser.parse_args()

    if torch is None:
        if args.skip_unavailable:
            print("SKIPPED: python3-torch is not installed (apt-get install python3-torch)")
            return SKIPPED
        print("needs python3-torch: apt-get install python3-torch")
        return 2
    # The dynamic loader reads LD_LIBRARY_PATH only at start: restart once with OpenBLAS first
    # (when it is installed: the files were written on it; any other BLAS passes the check too).
    if os.environ.get("EMBER_GOLDEN_BLAS") != args.blas and \
            os.path.exists(os.path.join(args.blas, "libblas.so.3")):
        env = dict(os.environ, EMBER_GOLDEN_BLAS=args.blas, OPENBLAS_NUM_THREADS="1",
                   LD_LIBRARY_PATH=os.pathsep.join(
                       [args.blas] + [p for p in [os.environ.get("LD_LIBRARY_PATH")] if p]))
        os.execve(sys.executable, [sys.executable] + sys.argv, env)

    torch.set_num_threads(1)
    torch.mm(torch.ones(2, 2), torch.ones(2, 2))  # loads the BLAS, to name it below
    with open("/proc/self/maps") as maps:
        blas = sorted({line.split()[-1] for line in maps if "blas" in line.split()[-1]})
    generated = {spec.name for spec in CASES + BATCH_NORM_CASES}
    names = {f[: -len(".f32.txt")] for f in os.listdir(HERE) if f.endswith(".f32.txt")}
    changed = []

    within = []  # files whose results differ from the committed ones only within tolerance

    def update(file_name, text, is_exact=None):
        """Writes or checks one file; is_exact(name) says which tensor lines are inputs (byte for
        byte), None for a file compared byte for byte as a whole (INDEX.txt)."""
        path = os.path.join(HERE, file_name)
        old = open(path, encoding="ascii").read() if os.path.exists(path) else ""
        if old == text:
            return
        if args.check and is_exact is not None and within_tolerance(old, text, is_exact):
            within.append(file_name)
            return
        changed.append(file_name)
        if args.write:
            with open(path, "w", encoding="ascii") as f:
                f.write(text)
        else:
            diff = difflib.unified_diff(old.splitlines(), text.splitlines(), file_name,
                                        file_name + " (regenerated)", n=0, lineterm="")
            for line in list(diff)[:8]:
                print(line[:200])

    for case_name in sorted(names - generated):
        for file_name, text in regenerate(case_name).items():
            update(file_name, text, is_input)
    # The generated cases, and their lines in INDEX.txt below GENERATED_MARK.
    index_lines = []
    for spec in CASES + BATCH_NORM_CASES:
        files, line = (generate_batch_norm if spec.op == "batch_norm" else generate)(spec)
        index_lines.append(line)
        drawn = {name for name, _ in spec.inputs} | {"grad_output"}
        for file_name, text in files.items():
            update(file_name, text, drawn.__contains__)
    with open(os.path.join(HERE, "INDEX.txt"), encoding="ascii") as f:
        index = f.read().split("\n")
    kept = index[: index.index(GENERATED_MARK)] if GENERATED_MARK in index else index[:-1]
    update("INDEX.txt", "\n".join(kept + [GENERATED_MARK] + index_lines) + "\n")
    update(DRAWS_FILE, generator_draws())

    problems = check_index(names | generated)
    cases = len(names | generated)
    print(f"torch {torch.__version__}, BLAS {' '.join(blas)}: {cases} cases "
          f"({len(generated)} generated), {2 * cases} files, "
          f"{len(changed)} {'rewritten' if args.write else 'differ'}" +
          (f", {len(within)} with results equal within the golden tolerance only "
           f"({' '.join(within[:6])}{' ...' if len(within) > 6 else ''})" if within else ""))
    for problem in problems:
        print(problem)
    if args.check and (changed or problems):
        print("golden files differ from what torch computes: " + " ".join(changed[:20]))
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
