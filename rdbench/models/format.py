"""The bitstream file of every CompressAI-style learned codec (``.rdlc``), version 1.

A learned codec's ``compress`` returns entropy-coded ``strings`` and a latent ``shape``; the decoder
needs both, plus which model (and which weights) produced them, plus the original image size to crop
the padding away. All of it is in this file, so the rate (8 x file size / pixels) counts everything.
No pickle: a fixed binary layout, parsed strictly.

Byte layout (integers are unsigned LEB128 varints, 7 bits per byte, low bits first, shortest form)::

    offset  size     field
    0       4        magic b"RDLC"
    4       1        format version (1)
    5       1        n = byte length of the model name (1..255)
    6       n        model name, ASCII: the codec name, e.g. b"bmshj2018-hyperprior"
    6+n     varint   rate point: the model index (1, 2, ...)
    ...     8        weights fingerprint: the first 8 bytes of sha256(<point>.safetensors)
    ...     varint   W, width of the original image in pixels (>= 1)
    ...     varint   H, height of the original image in pixels (>= 1)
    ...     tree     shape: the latent ``shape`` of ``compress`` (a tree of integers)
    ...     tree     strings: every entropy-coded stream (a tree of byte strings)
    end-4   4        CRC-32 (zlib.crc32, big-endian) of every byte before it; then end of file

A tree node starts with a varint ``h``:

    h odd   a list of (h >> 1) child nodes follows (nesting depth at most 8)
    h even  a leaf: in the shape tree the integer h >> 1; in the strings tree a byte string of
            length h >> 1, whose bytes follow

CompressAI's ``strings`` is a list (one per entropy model) of lists (one per batch item) of bytes,
and its ``shape`` a ``torch.Size`` such as (8, 12); deeper nestings (several latent shapes, several
streams per entropy model) use the same rules. Example, ScaleHyperprior on a 768x512 Kodak image::

    52 44 4c 43 | 01 | 14 | "bmshj2018-hyperprior" | 03 | <8-byte fingerprint> | 80 06 | 80 04
    05 10 18                          shape [8, 12] (z's H, W): list of 2, leaves 8 and 12
    05 03 <2*len(y)> <y bytes> 03 <2*len(z)> <z bytes>
                                      strings [[y], [z]] (CompressAI's order: y stream, then z)

    <CRC-32, 4 bytes>

which is about 50-55 bytes of header and framing (0.0011 bpp on a Kodak image; TreeNet's 12 streams
take about 62). The CRC turns any corrupted byte into a FormatError instead of a silently wrong
reconstruction (an entropy decoder accepts garbage). The padding is not stored: the decoder pads
W x H up to the model's multiple (centred) exactly as the encoder did, then crops.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from rdbench import atomic

MAGIC = b"RDLC"
VERSION = 1
FINGERPRINT_BYTES = 8
MAX_DEPTH = 8
_MAX_VARINT_BYTES = 9  # 63 bits: more than any size or count in a file that fits on a disk


class FormatError(ValueError):
    """A learned-codec bitstream that cannot be parsed: says what is wrong and at which byte."""


@dataclass(frozen=True)
class LearnedBitstream:
    """Everything a learned codec's decoder needs, as written in one ``.rdlc`` file.

    model: the codec name; point: the rate point (model index); fingerprint: the first 8 bytes of the
    weights file's sha256; width, height: the original image in pixels; shape: the latent shape (a
    nested list of non-negative ints); strings: the entropy-coded streams (a nested list of bytes).
    """

    model: str
    point: int
    fingerprint: bytes
    width: int
    height: int
    shape: Any
    strings: Any

    def __post_init__(self) -> None:
        name = self.model.encode("ascii", errors="replace")
        if not 1 <= len(name) <= 255 or not self.model.isascii() or not self.model.isprintable():
            raise FormatError(f"model name {self.model!r} must be 1..255 printable ASCII characters")
        if not isinstance(self.point, int) or self.point < 0:
            raise FormatError(f"rate point {self.point!r} must be a non-negative integer (a model index)")
        if len(self.fingerprint) != FINGERPRINT_BYTES:
            raise FormatError(f"fingerprint must be {FINGERPRINT_BYTES} bytes, got {len(self.fingerprint)}")
        if min(self.width, self.height) < 1:
            raise FormatError(f"image size {self.width}x{self.height} must be at least 1x1")

    def to_bytes(self) -> bytes:
        """Serialise to the byte layout in the module docstring."""
        out = bytearray(MAGIC)
        out.append(VERSION)
        name = self.model.encode("ascii")
        out.append(len(name))
        out += name
        _put_varint(out, self.point)
        out += self.fingerprint
        _put_varint(out, self.width)
        _put_varint(out, self.height)
        _put_tree(out, self.shape, leaf="int", depth=0)
        _put_tree(out, self.strings, leaf="bytes", depth=0)
        out += zlib.crc32(out).to_bytes(4, "big")
        return bytes(out)

    @classmethod
    def from_bytes(cls, data: bytes) -> "LearnedBitstream":
        """Parse a whole file; raise FormatError on anything but a complete, well-formed bitstream."""
        r = _Reader(bytes(data))
        magic = r.take(len(MAGIC), "magic")
        if magic != MAGIC:
            raise FormatError(f"not a learned-codec bitstream: magic {magic!r}, expected {MAGIC!r}")
        version = r.take(1, "format version")[0]
        if version != VERSION:
            raise FormatError(f"format version {version} is not supported (this rdbench reads version "
                              f"{VERSION}); decode it with the rdbench that wrote it")
        n = r.take(1, "model name length")[0]
        raw = r.take(n, "model name")
        try:
            model = raw.decode("ascii")
        except UnicodeDecodeError:
            raise FormatError(f"model name {raw!r} is not ASCII") from None
        point = r.varint("rate point")
        fingerprint = r.take(FINGERPRINT_BYTES, "weights fingerprint")
        width, height = r.varint("width"), r.varint("height")
        shape = r.tree("int", "shape", 0)
        strings = r.tree("bytes", "strings", 0)
        end = r.pos
        crc = int.from_bytes(r.take(4, "CRC-32"), "big")
        if r.pos != len(r.data):
            raise FormatError(f"{len(r.data) - r.pos} bytes of trailing garbage after the CRC "
                              f"(byte {r.pos} of {len(r.data)}); the file is corrupt or was appended to")
        if crc != zlib.crc32(r.data[:end]):
            raise FormatError(f"CRC-32 mismatch (stored {crc:08x}, computed {zlib.crc32(r.data[:end]):08x}): "
                              "the file is corrupt; re-encode it")
        return cls(model, point, fingerprint, width, height, shape, strings)

    @property
    def payload_bytes(self) -> int:
        """Bytes of entropy-coded data, framing excluded."""
        return sum(len(s) for s in _leaves(self.strings))

    @property
    def overhead_bytes(self) -> int:
        """Header and framing bytes: the file size minus :attr:`payload_bytes`."""
        return len(self.to_bytes()) - self.payload_bytes


def write(path: str | os.PathLike, bitstream: LearnedBitstream) -> int:
    """Write atomically (temp file + rename); return the file size in bytes."""
    data = bitstream.to_bytes()
    atomic.write_bytes(path, data)
    return len(data)


def read(path: str | os.PathLike) -> LearnedBitstream:
    """Parse a bitstream file; FormatError names the file."""
    data = Path(path).read_bytes()
    try:
        return LearnedBitstream.from_bytes(data)
    except FormatError as exc:
        raise FormatError(f"{path}: {exc}") from None


# ------------------------------------------------------------------------------------ encoding


def _put_varint(out: bytearray, value: int) -> None:
    if not isinstance(value, int) or value < 0 or value.bit_length() > 7 * _MAX_VARINT_BYTES:
        raise FormatError(f"cannot encode {value!r}: varints hold integers 0 .. 2**63-1")
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)


def _put_tree(out: bytearray, node: Any, leaf: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise FormatError(f"{leaf} tree nested deeper than {MAX_DEPTH} levels")
    if leaf == "bytes" and isinstance(node, (bytes, bytearray, memoryview)):
        node = bytes(node)
        _put_varint(out, len(node) << 1)
        out += node
    elif leaf == "int" and _is_int(node):
        _put_varint(out, int(node) << 1)
    elif isinstance(node, Sequence) and not isinstance(node, (str, bytes, bytearray)):
        _put_varint(out, (len(node) << 1) | 1)
        for child in node:
            _put_tree(out, child, leaf, depth + 1)
    else:
        kind = "byte strings" if leaf == "bytes" else "non-negative integers"
        raise FormatError(f"cannot serialise {type(node).__name__} {node!r:.60}: a {leaf} tree holds "
                          f"lists/tuples of {kind}")


def _is_int(node: Any) -> bool:
    if isinstance(node, bool):
        return False
    try:
        return int(node) == node and int(node) >= 0 and not isinstance(node, (bytes, str, Sequence))
    except (TypeError, ValueError):
        return False


def _leaves(node: Any):
    if isinstance(node, (bytes, bytearray, memoryview)):
        yield node
    else:
        for child in node:
            yield from _leaves(child)


# ------------------------------------------------------------------------------------ decoding


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise FormatError(f"truncated: {what} needs {n} bytes at byte {self.pos}, only "
                              f"{len(self.data) - self.pos} left (file of {len(self.data)} bytes)")
        chunk, self.pos = self.data[self.pos:end], end
        return chunk

    def varint(self, what: str) -> int:
        start, value = self.pos, 0
        for i in range(_MAX_VARINT_BYTES):
            byte = self.take(1, what)[0]
            value |= (byte & 0x7F) << (7 * i)
            if not byte & 0x80:
                if byte == 0 and i > 0:
                    raise FormatError(f"{what}: over-long varint at byte {start} (not the shortest form)")
                return value
        raise FormatError(f"{what}: varint at byte {start} longer than {_MAX_VARINT_BYTES} bytes")

    def tree(self, leaf: str, what: str, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise FormatError(f"{what}: nested deeper than {MAX_DEPTH} levels at byte {self.pos}")
        start = self.pos
        h = self.varint(what)
        n = h >> 1
        if h & 1:
            if n > len(self.data) - self.pos:  # every child takes at least one byte
                raise FormatError(f"{what}: list of {n} items at byte {start} overruns the file "
                                  f"({len(self.data) - self.pos} bytes left)")
            return [self.tree(leaf, what, depth + 1) for _ in range(n)]
        if leaf == "int":
            return n
        if n > len(self.data) - self.pos:
            raise FormatError(f"{what}: stream of {n} bytes at byte {start} overruns the file "
                              f"({len(self.data) - self.pos} bytes left); the file is truncated or corrupt")
        return self.take(n, what)
