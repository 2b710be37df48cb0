#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_checkpoint: checkpoints in the record format of
<ember/core/record_format.h> for the fuzzer's model (Linear(3, 2), Linear(2, 1, bias=False))
and its SGD optimizer with momentum, valid and of each malformed kind. Run from anywhere:
    python3 tests/fuzz/make_checkpoint_corpus.py
"""
import os
import struct
import zlib

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus_checkpoint")
os.makedirs(here, exist_ok=True)

F32, I64, U8, F64 = 0, 1, 2, 3


def entry(name, dtype, dims):
    n = name.encode()
    return struct.pack("<I", len(n)) + n + struct.pack("<BI", dtype, len(dims)) + b"".join(
        struct.pack("<q", d) for d in dims)


def checkpoint(kind, entries, payloads, count=None, version=1):
    body = struct.pack("<Q", len(entries) if count is None else count)
    body += b"".join(entries) + b"".join(payloads)
    head = b"EMBRCKPT" + struct.pack("<IIQ", version, kind, len(body))
    return head + body + struct.pack("<I", zlib.crc32(head + body))


def floats(*values):
    return struct.pack(f"<{len(values)}f", *values)


model_entries = [entry("0.weight", F32, [2, 3]), entry("0.bias", F32, [2]),
                 entry("1.weight", F32, [1, 2])]
model_payloads = [floats(1, 2, 3, 4, 5, 6), floats(-1, 0.5), floats(0.25, -0.0)]
opt_entries = [entry("param_groups.0." + k, t, []) for k, t in
               [("num_params", I64), ("lr", F64), ("momentum", F64), ("dampening", F64),
                ("weight_decay", F64), ("nesterov", I64), ("maximize", I64)]]
opt_payloads = [struct.pack("<q", 3), struct.pack("<d", 0.1), struct.pack("<d", 0.9),
                struct.pack("<d", 0), struct.pack("<d", 0), struct.pack("<q", 0),
                struct.pack("<q", 0)]
buffers = [entry(f"state.0.{i}.momentum_buffer", F32, d) for i, d in
           enumerate([[2, 3], [2], [1, 2]])]

files = {
    "module": checkpoint(1, model_entries, model_payloads),
    "optimizer": checkpoint(2, opt_entries + buffers, opt_payloads + model_payloads),
    "optimizer_no_buffers": checkpoint(2, opt_entries, opt_payloads),
    "wrong_shape": checkpoint(1, [entry("0.weight", F32, [3, 2])] + model_entries[1:],
                              model_payloads),
    "wrong_dtype": checkpoint(1, [entry("0.weight", I64, [3])] + model_entries[1:],
                              model_payloads),
    "extra_entry": checkpoint(1, model_entries + [entry("x", U8, [1])], model_payloads + [b"\1"]),
    "empty_body": checkpoint(1, [], []),
    "count_is_body_size": checkpoint(1, model_entries, model_payloads, count=200),
    "huge_shape": checkpoint(1, [entry("0.weight", F32, [1 << 40])], []),
    "bad_version": checkpoint(1, model_entries, model_payloads, version=2),
    "truncated": checkpoint(1, model_entries, model_payloads)[:-9],
    "header_only": b"EMBRCKPT" + struct.pack("<IIQ", 1, 1, 2**63),
}
for name, data in files.items():
    with open(os.path.join(here, name), "wb") as f:
        f.write(data)
print(f"wrote {len(files)} files to {here}")
