#!/usr/bin/env python3
"""Stand-in for libbpg's bpgenc (NOT BPG): same options, a JPEG payload whose quality follows -q.

    bpgenc -o OUT.bpg [-q QP] [-f 420|422|444] [-b BITS] [-c ycbcr|rgb|...] [-e x265|jctvc] [-m 1..9] IN.png
Writes b"BPG\\xfb" + JPEG (quality 115 - 2.2 * QP, clipped to 5..95), so rate falls as QP rises.
Like real bpgenc 0.9.8, it dies of SIGSEGV, printing nothing, on a picture of 16x16 or smaller.
"""

import argparse
import os
import signal
import sys

import numpy as np
from PIL import Image

from _common import fail, jpeg_bytes, start

TOOL = "bpgenc"


def main() -> None:
    mode = start(TOOL)
    p = argparse.ArgumentParser(prog=TOOL)
    p.add_argument("-o", required=True)
    p.add_argument("-q", type=int, default=29, choices=range(52), metavar="QP")
    p.add_argument("-f", default="420", choices=("420", "422", "444"))
    p.add_argument("-b", type=int, default=8, choices=range(8, 13), metavar="BITS")
    p.add_argument("-c", default="ycbcr", choices=("ycbcr", "rgb", "ycgco", "ycbcr_bt709", "ycbcr_bt2020"))
    p.add_argument("-e", default="x265", choices=("x265", "jctvc"))
    p.add_argument("-m", type=int, default=8, choices=range(1, 10), metavar="LEVEL")
    p.add_argument("input")
    args = p.parse_args()
    try:
        with Image.open(args.input) as im:
            rgb = np.asarray(im.convert("RGB"))
    except OSError as exc:
        fail(TOOL, f"cannot read {args.input}: {exc}")
    if rgb.shape[0] <= 16 and rgb.shape[1] <= 16:  # what the real bpgenc does on such pictures
        os.kill(os.getpid(), signal.SIGSEGV)
    if mode == "no-output":
        return
    data = b"not a bpg file" if mode == "garbage" else b"BPG\xfb" + jpeg_bytes(rgb, np.clip(115 - 2.2 * args.q, 5, 95))
    with open(args.o, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    sys.exit(main())
