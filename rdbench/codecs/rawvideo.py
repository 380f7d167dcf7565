"""Shared by the video codecs used as still-image codecs (hevc444, vvc420): size header and padding.

Video encoders have minimum sizes and (for 4:2:0) want even sides, so rdbench pads the picture
itself by edge replication and keeps the true size in a 4-byte header in front of the raw
Annex-B bitstream. The file is::

    offset  size  content
    0       2     true image width,  uint16 big-endian (1..65535)
    2       2     true image height, uint16 big-endian (1..65535)
    4       ...   the encoder's Annex-B byte stream (start codes, parameter sets, slices)

The header is part of the file, so its 32 bits count in the rate (0.00008 bpp on a Kodak image).
Strip the first 4 bytes to hand the stream to any standard decoder; it decodes the padded picture.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from rdbench.codecs.base import CodecError

SIZE_HEADER = struct.Struct(">HH")


def pack_size(width: int, height: int) -> bytes:
    """The 4-byte header for a `width` x `height` image."""
    if not (1 <= width <= 0xFFFF and 1 <= height <= 0xFFFF):
        raise CodecError(f"image size {width}x{height} does not fit the 16-bit size header (1..65535 per side)")
    return SIZE_HEADER.pack(width, height)


def unpack_size(data: bytes, path: str | Path) -> tuple[int, int, bytes]:
    """(width, height, bitstream) from a file's bytes; CodecError when it cannot be ours."""
    if len(data) <= SIZE_HEADER.size:
        raise CodecError(f"{path}: {len(data)} bytes is too short for a size header plus a bitstream")
    width, height = SIZE_HEADER.unpack_from(data)
    if width == 0 or height == 0:
        raise CodecError(f"{path}: size header says {width}x{height}; the file is not an rdbench video bitstream")
    return width, height, data[SIZE_HEADER.size:]


def padded_size(height: int, width: int, multiple: int, minimum: int) -> tuple[int, int]:
    """(H, W) rounded up to a multiple of `multiple` and at least `minimum` (a multiple of it too)."""
    def side(n: int) -> int:
        return max(minimum, -(-n // multiple) * multiple)

    return side(height), side(width)


def pad_edges(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """Edge-replicate an HxWxC array at the bottom and right to `height` x `width`."""
    h, w = img.shape[:2]
    if height < h or width < w:
        raise ValueError(f"cannot pad {h}x{w} down to {height}x{width}")
    return np.pad(img, ((0, height - h), (0, width - w), (0, 0)), mode="edge")
