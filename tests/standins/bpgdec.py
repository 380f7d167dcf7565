#!/usr/bin/env python3
"""Stand-in for libbpg's bpgdec (NOT BPG): decodes what tests/standins/bpgenc.py writes.

    bpgdec -o OUT.png [-b 8|16] IN.bpg
"""

import argparse
import os
import sys

from _common import fail, jpeg_decode, start, write_png

TOOL = "bpgdec"


def main() -> None:
    mode = start(TOOL)
    p = argparse.ArgumentParser(prog=TOOL)
    p.add_argument("-o", required=True)
    p.add_argument("-b", type=int, default=8, choices=(8, 16))
    p.add_argument("input")
    args = p.parse_args()
    with open(args.input, "rb") as f:
        data = f.read()
    if data[:4] != b"BPG\xfb":
        fail(TOOL, f"{args.input}: not a BPG image")
    if mode == "no-output":
        return
    if mode == "garbage":
        with open(args.o, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n truncated")
        return
    if args.b == 16:
        os.environ["RDBENCH_STANDIN_PNG16"] = "1"
    write_png(args.o, jpeg_decode(data[4:]))


if __name__ == "__main__":
    sys.exit(main())
