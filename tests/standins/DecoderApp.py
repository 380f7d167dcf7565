#!/usr/bin/env python3
"""Stand-in for VTM's DecoderApp (NOT VVC decoding): decodes what tests/standins/EncoderApp.py writes.

    DecoderApp -b IN.bin -o OUT.yuv [-d BITS]
Writes the cropped picture as planar 4:4:4, 16-bit little-endian samples at BITS (0: native 10).
"""

import sys
from pathlib import Path

import numpy as np

from _common import fail, start
from _vvc import read_payload

TOOL = "DecoderApp"


def main() -> None:
    mode = start(TOOL)
    opts, it = {}, iter(sys.argv[1:])
    for token in it:
        names = {"-b": "BitstreamFile", "-o": "ReconFile", "-d": "OutputBitDepth"}
        if token in names:
            opts[names[token]] = next(it)
        elif token.startswith("--") and "=" in token:
            name, value = token[2:].split("=", 1)
            opts[name] = value
        else:
            fail(TOOL, f"Unhandled argument: {token}")
    if "BitstreamFile" not in opts:
        fail(TOOL, "BitstreamFile (-b) is required")
    try:
        planes = read_payload(Path(opts["BitstreamFile"]).read_bytes())
    except (ValueError, OSError) as exc:
        fail(TOOL, f"cannot decode {opts['BitstreamFile']}: {exc}")
    bits = int(opts.get("OutputBitDepth", 0)) or 10
    if bits != 10:
        planes = np.rint(planes * (2.0 ** (bits - 10))).astype(np.uint16)
    if mode == "no-output" or "ReconFile" not in opts:
        return
    data = planes.astype("<u2").tobytes()
    Path(opts["ReconFile"]).write_bytes(data[:-7] if mode == "garbage" else data)


if __name__ == "__main__":
    sys.exit(main())
