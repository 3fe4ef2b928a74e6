"""Exports too big to write byte by byte: gigabytes of filler that compress to next to nothing, made in a moment.

One deflate chunk of the filler, ended with a full flush (which makes it stand
alone), is written again and again. The gzip checksum is not computed: tests
using these files never read to the end, or expect a failure before it.
"""

from __future__ import annotations

import struct
import tarfile
import zlib
from pathlib import Path

BLOCK = 64 * 1024 * 1024


def tar_gz_with_filler(path: Path, head: bytes, filler: bytes, size: int, tail: bytes) -> Path:
    """A .tar.gz holding messages.json = head + `size` bytes of `filler` repeated + tail."""
    block = (filler * (BLOCK // len(filler) + 1))[:BLOCK]
    total = len(head) + size + len(tail)
    info = tarfile.TarInfo("messages.json")
    info.size = total
    deflate = zlib.compressobj(1, zlib.DEFLATED, -15)
    with open(path, "wb") as out:
        out.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff")  # a gzip header
        out.write(deflate.compress(info.tobuf() + head) + deflate.flush(zlib.Z_FULL_FLUSH))
        squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)  # the filler as small as deflate makes it: ~1000:1
        chunk = squeeze.compress(block) + squeeze.flush(zlib.Z_FULL_FLUSH)
        for _ in range(size // BLOCK):
            out.write(chunk)
        rest = size % BLOCK
        out.write(deflate.compress(block[:rest] + tail + b"\0" * (-total % 512 + 1024)) + deflate.flush())
        out.write(struct.pack("<II", 0, (total + 1024) & 0xFFFFFFFF))
    return path
