#!/usr/bin/env python3
"""Stand-in for VTM's EncoderApp (NOT VVC coding): VTM's option syntax, a real SPS, a toy payload.

    EncoderApp -c CFG [-c CFG2] -i IN.yuv -b OUT.bin [-o RECON] --SourceWidth=W --SourceHeight=H
        --InputBitDepth=10 --InputChromaFormat=444 --ConformanceWindowMode=1 --QP=QP [--Name=value ...]
Arguments are applied in order, a -c file's "Name : value" lines where it appears (as VTM does).
The input must be planar 4:4:4 with 16-bit little-endian samples. The picture is padded to a
multiple of 8 (conformance window mode 1), quantised with step 2^((QP-4)/6) and zlib-compressed.
"""

import sys
from pathlib import Path

import numpy as np

from _common import fail, start
from _vvc import payload, sps

TOOL = "EncoderApp"
SHORT = {"-c": "c", "-i": "InputFile", "-b": "BitstreamFile", "-o": "ReconFile", "-q": "QP",
         "-f": "FramesToBeEncoded", "-fr": "FrameRate", "-wdt": "SourceWidth", "-hgt": "SourceHeight"}
KNOWN = {"InputFile", "BitstreamFile", "ReconFile", "SourceWidth", "SourceHeight", "FrameRate",
         "FramesToBeEncoded", "InputBitDepth", "InternalBitDepth", "OutputBitDepth", "InputChromaFormat",
         "ChromaFormatIDC", "ConformanceWindowMode", "QP", "Level", "IntraPeriod"}


def parse(argv: list[str]) -> dict[str, str]:
    opts: dict[str, str] = {}
    it = iter(argv)
    for token in it:
        if token.startswith("--") and "=" in token:
            name, value = token[2:].split("=", 1)
        elif token in SHORT:
            name, value = SHORT[token], next(it, None)
            if value is None:
                fail(TOOL, f"option {token} needs a value")
        else:
            fail(TOOL, f"Unhandled argument: {token}")
        if name == "c":
            for line in Path(value).read_text().splitlines():
                line = line.split("#", 1)[0]
                if ":" in line:
                    key, val = (s.strip() for s in line.split(":", 1))
                    opts[key] = val
        elif name not in KNOWN:
            fail(TOOL, f"Unknown option: {name}")
        else:
            opts[name] = value
    return opts


def main() -> None:
    mode = start(TOOL)
    opts = parse(sys.argv[1:])
    for key in ("InputFile", "BitstreamFile", "SourceWidth", "SourceHeight", "QP"):
        if key not in opts:
            fail(TOOL, f"{key} is required")
    if opts.get("InputBitDepth") != "10" or opts.get("InputChromaFormat") != "444":
        fail(TOOL, "this stand-in reads 10-bit 4:4:4 input only")
    width, height, qp = int(opts["SourceWidth"]), int(opts["SourceHeight"]), int(opts["QP"])
    data = Path(opts["InputFile"]).read_bytes()
    if len(data) != width * height * 3 * 2:
        fail(TOOL, f"input has {len(data)} bytes, expected {width * height * 6}")
    planes = np.frombuffer(data, dtype="<u2").reshape(3, height, width)
    conf = None
    if opts.get("ConformanceWindowMode") == "1" and (width % 8 or height % 8):
        pad_w, pad_h = -width % 8, -height % 8
        planes = np.pad(planes, ((0, 0), (0, pad_h), (0, pad_w)), mode="edge")
        conf = (0, pad_w, 0, pad_h)
    if mode == "no-output":
        return
    if mode == "wrong-size":  # an SPS that disagrees with --SourceWidth
        conf = (0, (conf or (0, 0, 0, 0))[1] + 3, 0, (conf or (0, 0, 0, 0))[3])
    stream = b"\x00\x00\x01 garbage" if mode == "garbage" else (
        sps(planes.shape[2], planes.shape[1], conf) + payload(planes, width, height, 2 ** ((qp - 4) / 6)))
    Path(opts["BitstreamFile"]).write_bytes(stream)


if __name__ == "__main__":
    sys.exit(main())
