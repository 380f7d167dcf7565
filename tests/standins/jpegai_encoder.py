#!/usr/bin/env python3
"""Stand-in for the JPEG AI VM's ``python -m src.reco.coders.encoder`` (NOT JPEG AI).

    python -m src.reco.coders.encoder IN.png OUT.bin [--set_target_bpp BPPx100] [--cfg CFG1 [CFG2 ...]]
Run from the checkout (cfg paths are relative to it, as in the VM). Writes b"JAIS" + the JPEG of
highest quality whose size stays within the target bpp (quality 1 if none does).
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from _common import fail, jpeg_bytes, start

TOOL = "jpegai-encoder"


def main() -> None:
    mode = start(TOOL)
    p = argparse.ArgumentParser(prog="encoder")
    p.add_argument("input_path")
    p.add_argument("bin_path")
    p.add_argument("--set_target_bpp", type=int, default=1)
    p.add_argument("--cfg", nargs="+", default=[])
    args = p.parse_args()
    for cfg in args.cfg:
        try:
            json.loads(Path(cfg).read_text())  # relative to the working directory, like the VM
        except (OSError, ValueError) as exc:
            fail(TOOL, f"cannot load configuration {cfg}: {exc}")
    with Image.open(args.input_path) as im:
        rgb = np.asarray(im.convert("RGB"))
    budget = args.set_target_bpp / 100 * rgb.shape[0] * rgb.shape[1] / 8 - 4
    lo, hi, best = 1, 95, jpeg_bytes(rgb, 1)
    while lo <= hi:  # highest quality within the budget
        mid = (lo + hi) // 2
        data = jpeg_bytes(rgb, mid)
        if len(data) <= budget:
            best, lo = data, mid + 1
        else:
            hi = mid - 1
    if mode == "no-output":
        return
    Path(args.bin_path).write_bytes(b"garbage" if mode == "garbage" else b"JAIS" + best)


if __name__ == "__main__":
    sys.exit(main())
