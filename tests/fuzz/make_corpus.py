#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_idx: small valid IDX files of every type (plain and gzip,
single and multi-member) and one of each malformed kind. Run from anywhere:
    python3 tests/fuzz/make_corpus.py
"""
import gzip
import os
import struct

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
os.makedirs(here, exist_ok=True)


def idx(code, dims, payload):
    return bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def gz(data):
    return gzip.compress(data, mtime=0)


files = {
    "u8_2x3": idx(0x08, [2, 3], bytes(range(6))),
    "i8_3": idx(0x09, [3], bytes([0xFF, 0x80, 0x7F])),
    "i16_2": idx(0x0B, [2], struct.pack(">hh", -300, 1000)),
    "i32_1x2": idx(0x0C, [1, 2], struct.pack(">ii", -70000, 2**31 - 1)),
    "f32_2": idx(0x0D, [2], struct.pack(">ff", 1.5, -0.25)),
    "f64_2": idx(0x0E, [2], struct.pack(">dd", 0.1, 1e300)),
    "u8_empty_dim": idx(0x08, [0, 28, 28], b""),
    "images_2x28x28": idx(0x08, [2, 28, 28], bytes((i * 7) % 256 for i in range(2 * 784))),
    "labels_5": idx(0x08, [5], bytes([0, 9, 3, 3, 1])),
    "bad_magic": b"\x01\x00\x08\x01\x00\x00\x00\x01\x05",
    "bad_type": idx(0x0A, [1], b"\x00"),
    "zero_dims": b"\x00\x00\x08\x00",
    "too_many_dims": bytes([0, 0, 8, 9]) + b"\x00\x00\x00\x01" * 9 + b"\x07",
    "truncated_header": b"\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00",
    "truncated_data": idx(0x08, [2, 3], bytes(range(4))),
    "trailing": idx(0x08, [2], b"\x01\x02\x03"),
    "overflow": bytes([0, 0, 8, 8]) + b"\xff\xff\xff\xff" * 8,
    # Found by the fuzzer: a zero dim hid an overflowing product of the others.
    "zero_dim_overflow": idx(0x08, [0xFFFFFFFF] * 4 + [0] + [0xFFFFFFFF] * 3, b""),
    "billions": idx(0x08, [2_000_000_000], b"\x01\x02"),
}
plain_u8 = files["u8_2x3"]
i16 = idx(0x0B, [2, 3], struct.pack(">6h", *range(-3, 3)))
files.update({
    "gz_u8_2x3": gz(plain_u8),
    "gz_f32_2": gz(files["f32_2"]),
    "gz_multi_member": gz(i16[:7]) + gz(i16[7:13]) + gz(i16[13:]),
    "gz_truncated": gz(plain_u8)[:-5],
    "gz_bad_crc": (lambda b: b[:-8] + bytes([b[-8] ^ 1]) + b[-7:])(gz(plain_u8)),
    "gz_garbage_after": gz(plain_u8) + b"\x00\x00\x08\x01",
    "gz_bomb_small": gz(idx(0x08, [2], b"\x01\x02") + bytes(1 << 16)),
    "gz_billions": gz(idx(0x08, [2_000_000_000], b"\x01")),
})
for name, data in files.items():
    with open(os.path.join(here, name), "wb") as f:
        f.write(data)
print(f"wrote {len(files)} files to {here}")
