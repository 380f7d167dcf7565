#!/usr/bin/env python3
"""Stand-in for the JPEG AI VM's ``python -m src.reco.coders.decoder`` (NOT JPEG AI).

    python -m src.reco.coders.decoder IN.bin OUT.png
"""

import argparse
import sys
from pathlib import Path

from _common import fail, jpeg_decode, start, write_png

TOOL = "jpegai-decoder"


def main() -> None:
    mode = start(TOOL)
    p = argparse.ArgumentParser(prog="decoder")
    p.add_argument("bin_path")
    p.add_argument("rec_path")
    args = p.parse_args()
    data = Path(args.bin_path).read_bytes()
    if data[:4] != b"JAIS":
        fail(TOOL, f"{args.bin_path}: not a stand-in JPEG AI stream")
    if mode == "no-output":
        return
    if mode == "garbage":
        Path(args.rec_path).write_bytes(b"\x89PNG\r\n\x1a\n truncated")
        return
    write_png(args.rec_path, jpeg_decode(data[4:]))


if __name__ == "__main__":
    sys.exit(main())
