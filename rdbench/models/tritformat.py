"""The trit-plane bitstream (``.trit``), version 1: every truncation point is a byte prefix of one file.

Byte layout (varints are unsigned LEB128, shortest form, as in ``rdbench.models.format``)::

    offset  size     field
    0       4        magic b"TRIT"
    4       1        format version (1)
    5       4        options hash: first 4 bytes of sha256 over the decoding-relevant options and weights
    9       2 + 2    H, W of the original image (u16, big-endian)
    13      2 + 2    h_z, w_z of the hyper-latent ẑ (u16, big-endian)
    17      varint   n_z, then n_z bytes: the EntropyBottleneck string of ẑ
    ...     per chunk, in coding order: varint length, then that many rANS bytes

There is no trailer (a CRC at the end would break the prefix property): the decoder reads the header,
recomputes the chunk schedule from ẑ and consumes whole chunks until the end of the file. A header cut
short or a partial trailing chunk is a :class:`FormatError` that names the byte offset. A chunk of
length 0 is legal (the coder never writes one). Rate = file size, so the file for truncation point k
is exactly ``data[:offsets[k]]``, where ``offsets[0]`` is the header's end (no chunk: ŷ = μ).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from rdbench.models.format import FormatError

MAGIC = b"TRIT"
VERSION = 1
HASH_BYTES = 4


def options_hash(options: dict[str, Any]) -> bytes:
    """The 4-byte tag a decoder checks: sha256 of the options as canonical JSON."""
    blob = json.dumps(options, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).digest()[:HASH_BYTES]


@dataclass
class TritFile:
    """One parsed trit-plane file (or prefix of one): header fields and the whole chunks present."""

    tag: bytes
    height: int
    width: int
    z_shape: tuple[int, int]
    z_string: bytes
    chunks: list[bytes] = field(default_factory=list)

    def header(self) -> bytes:
        if len(self.tag) != HASH_BYTES:
            raise FormatError(f"options hash must be {HASH_BYTES} bytes, got {len(self.tag)}")
        for name, value in (("height", self.height), ("width", self.width), ("h_z", self.z_shape[0]),
                            ("w_z", self.z_shape[1])):
            if not 1 <= int(value) <= 0xFFFF:
                raise FormatError(f"{name} {value} does not fit the format's u16 field (1..65535)")
        out = bytearray(MAGIC)
        out.append(VERSION)
        out += self.tag
        for value in (self.height, self.width, *self.z_shape):
            out += int(value).to_bytes(2, "big")
        _put_varint(out, len(self.z_string))
        out += self.z_string
        return bytes(out)

    def to_bytes(self) -> tuple[bytes, list[int]]:
        """The full file and the truncation offsets: offsets[k] = bytes of the prefix holding k chunks."""
        out = bytearray(self.header())
        offsets = [len(out)]
        for chunk in self.chunks:
            _put_varint(out, len(chunk))
            out += chunk
            offsets.append(len(out))
        return bytes(out), offsets

    @classmethod
    def from_bytes(cls, data: bytes) -> "TritFile":
        data = bytes(data)
        pos = 0

        def take(n: int, what: str) -> bytes:
            nonlocal pos
            if pos + n > len(data):
                raise FormatError(f"truncated inside the {what} at byte {pos}: needs {n} bytes, "
                                  f"{len(data) - pos} left (file of {len(data)} bytes)")
            pos += n
            return data[pos - n:pos]

        def varint(what: str) -> int:
            value = 0
            for i in range(9):
                byte = take(1, what)[0]
                value |= (byte & 0x7F) << (7 * i)
                if not byte & 0x80:
                    return value
            raise FormatError(f"{what}: varint longer than 9 bytes before byte {pos}")

        if (magic := take(4, "magic")) != MAGIC:
            raise FormatError(f"not a trit-plane bitstream: magic {magic!r}, expected {MAGIC!r}")
        if (version := take(1, "version")[0]) != VERSION:
            raise FormatError(f"trit-plane format version {version} is not supported (this rdbench reads "
                              f"{VERSION}); decode it with the rdbench that wrote it")
        tag = take(HASH_BYTES, "options hash")
        height, width, hz, wz = (int.from_bytes(take(2, "sizes"), "big") for _ in range(4))
        z_string = take(varint("ẑ length"), "ẑ string")
        chunks = []
        while pos < len(data):
            start = pos
            try:
                chunks.append(take(varint("chunk length"), "chunk"))
            except FormatError:
                raise FormatError(f"partial chunk {len(chunks)} starting at byte {start} (file of {len(data)} "
                                  "bytes): a truncation must end on a chunk boundary") from None
        return cls(tag, height, width, (hz, wz), z_string, chunks)


def _put_varint(out: bytearray, value: int) -> None:
    if value < 0:
        raise FormatError(f"cannot encode {value} as a varint")
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
