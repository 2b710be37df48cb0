#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_safetensors: safetensors files for the fuzzer's model
(Linear(3, 2), Linear(2, 1, bias=False): "0.weight", "0.bias", "1.weight"), valid in each dtype
ember reads and malformed in each way the loader refuses. Run from anywhere:
    python3 tests/fuzz/make_safetensors_corpus.py
"""
import json
import os
import struct

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus_safetensors")
os.makedirs(here, exist_ok=True)

SIZES = {"F32": 4, "I64": 8, "U8": 1, "F64": 8, "F16": 2, "BF16": 2, "I32": 4}


def file(entries, metadata=None, header_text=None, length=None, extra=b""):
    """entries: (name, dtype, shape, payload bytes) laid out in order."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, payload in entries:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    text = header_text if header_text is not None else json.dumps(header).encode()
    text += b" " * (-(8 + len(text)) % 8)
    return struct.pack("<Q", len(text) if length is None else length) + text + data + extra


def f32(*v):
    return struct.pack(f"<{len(v)}f", *v)


model = [("0.weight", "F32", [2, 3], f32(1, 2, 3, 4, 5, 6)), ("0.bias", "F32", [2], f32(-1, .5)),
         ("1.weight", "F32", [1, 2], f32(.25, -0.0))]
seeds = {
    "model": file(model, {"format": "pt"}),
    "model_f16": file([("0.weight", "F16", [2, 3], struct.pack("<6H", 0x3C00, 0xC000, 1, 0x3FF,
                                                               0x7C00, 0x7E00)),
                       ("0.bias", "BF16", [2], struct.pack("<2H", 0x3F80, 0xFF80)),
                       ("1.weight", "F64", [1, 2], struct.pack("<2d", 0.1, 1e300))]),
    "buffers": file([("n", "I64", [], struct.pack("<q", 7)), ("mask", "U8", [2, 2], b"\0\1\2\3"),
                     ("empty", "F32", [0, 5], b"")]),
    "wrong_shape": file([("0.weight", "F32", [3, 2], f32(1, 2, 3, 4, 5, 6))]),
    "unsupported_dtype": file([("0.weight", "I32", [2], b"\0" * 8)]),
    "empty_header": file([]),
    "length_beyond": file(model, length=1 << 20),
    "length_huge": file(model, length=(1 << 63) + 5),
    "malformed_json": file([], header_text=b'{"0.weight": {"dtype": "F32", "shape": [2, '),
    "duplicate": file([], header_text=b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
                                      b'"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}',
                      extra=b"\1\2"),
    "overlap": file([], header_text=b'{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},'
                                    b'"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}',
                    extra=b"\1\2\3"),
    "gap": file([], header_text=b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}',
                extra=b"\1\2"),
    "overflow": file([], header_text=b'{"a":{"dtype":"F32","shape":[4294967296,4294967296],'
                                     b'"data_offsets":[0,4]}}', extra=b"\0" * 4),
    "deep": file([], header_text=b'{"a":' + b"[" * 50 + b"]" * 50 + b"}"),
}
for name, data in seeds.items():
    with open(os.path.join(here, name), "wb") as f:
        f.write(data)
print(f"wrote {len(seeds)} files to {here}")
