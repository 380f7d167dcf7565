"""Shared plumbing of the stand-ins: argv recording and injected failures.

Environment (set by tests/test_anchors.py):
  RDBENCH_STANDIN_LOG   file to which every call appends {"tool", "argv", "cwd"} as one JSON line
  RDBENCH_STANDIN_FAIL  "TOOL:MODE" makes TOOL misbehave; MODE is one of
                        exit       print an error to stderr and exit with status 3
                        hang       sleep 60 s (for timeout tests)
                        no-output  exit 0 without writing the output file
                        garbage    write bytes that are not the expected format
                        wrong-size (EncoderApp) an SPS whose cropped width is 3 less than the source
  RDBENCH_STANDIN_PNG16 "1" makes decoders write 16-bit PNGs (like bpgdec -b 16)
"""

import json
import os
import sys
import time


def start(tool: str) -> str | None:
    """Record argv; perform 'exit' and 'hang' failures; return the failure mode for TOOL (or None)."""
    log = os.environ.get("RDBENCH_STANDIN_LOG")
    if log:
        with open(log, "a") as f:
            f.write(json.dumps({"tool": tool, "argv": sys.argv[1:], "cwd": os.getcwd()}) + "\n")
    spec = os.environ.get("RDBENCH_STANDIN_FAIL", "")
    name, _, mode = spec.partition(":")
    if name != tool:
        return None
    if mode == "exit":
        sys.stderr.write(f"{tool} (stand-in): injected failure, cannot process input\n")
        sys.exit(3)
    if mode == "hang":
        time.sleep(60)
    return mode


def fail(tool: str, message: str) -> None:
    sys.stderr.write(f"{tool} (stand-in): {message}\n")
    sys.exit(1)


def write_png(path: str, rgb) -> None:
    """8-bit RGB PNG, or 16-bit (x * 257) when RDBENCH_STANDIN_PNG16=1."""
    import numpy as np
    from PIL import Image

    if os.environ.get("RDBENCH_STANDIN_PNG16") == "1":
        import imagecodecs

        with open(path, "wb") as f:
            f.write(imagecodecs.png_encode(rgb.astype(np.uint16) * 257))
    else:
        Image.fromarray(rgb, "RGB").save(path, format="PNG")


def jpeg_bytes(rgb, quality: int) -> bytes:
    """A 4:4:4 JPEG of an HxWx3 uint8 array (the stand-ins' payload: rate follows the quality)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buf, format="JPEG", quality=int(quality), subsampling=0)
    return buf.getvalue()


def jpeg_decode(data: bytes):
    import io

    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))
