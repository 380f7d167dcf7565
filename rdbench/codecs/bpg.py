"""BPG (libbpg's bpgenc/bpgdec, HEVC intra via x265), 4:4:4 8-bit YCbCr: the TreeNet paper's anchor.

**Not run here.** libbpg cannot be installed from a package registry and is absent on the machines
this adapter was written on: its tests drive a stand-in script (``tests/standins/``) that honours
the same command line. The settings are those of CompressAI's bench (``bpg_444_x265_ycbcr``).

Commands (the program paths come from the ``bin_dir`` option, else ``$RDBENCH_BPG_DIR``, else PATH)::

    bpgenc -o OUT.bpg -q QP -f 444 -b 8 -c ycbcr -e x265 -m LEVEL IN.png
    bpgdec -o OUT.png IN.bpg

bpgenc converts RGB to YCbCr itself (BT.601 full range, 8-bit, as ``-c ycbcr`` defines) and runs
x265 at constant QP ``-q`` (0..51; lower is better) with the speed/quality ``-m`` (1..9, 8 is the
default and CompressAI's). bpgdec may write 16-bit or RGBA PNGs (``-b 16``, alpha): its output is
normalised to 8-bit RGB by :func:`rdbench.images.load_rgb8` (16-bit values rounded x / 257).
The .bpg file holds the picture size, so decoding needs nothing else. Rate = the .bpg file.
Real bpgenc 0.9.8 dies of SIGSEGV, printing nothing, on pictures of 16x16 and smaller: such sizes
are refused before bpgenc is called (:meth:`BPG.check_size`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Sequence

from rdbench.datasets import sha256_file
from rdbench import images
from rdbench.codecs.base import Availability, Codec, CodecError, Point, find_program, run_command, scratch_dir

MAGIC = b"BPG\xfb"  # first bytes of every .bpg file
MIN_SIDE = 16  # real bpgenc 0.9.8 crashes (SIGSEGV, no message) when both sides are <= 16 pixels
INSTALL_HINT = ("install libbpg from https://bellard.org/bpg/ (install libpng, libjpeg, libsdl, cmake and "
                "yasm, then `make`) and put bpgenc and bpgdec on PATH, or set RDBENCH_BPG_DIR (or the "
                "codec option bin_dir) to their folder")


class BPG(Codec):
    """bpgenc/bpgdec at a ladder of QPs (47 ... 22: ascending rate)."""

    name = "bpg"
    point_kind = "qp"
    default_points = (47, 42, 37, 32, 27, 22)

    def __init__(self, points: Sequence[Point] | None = None, bin_dir: str | os.PathLike | None = None,
                 level: int = 8, encoder: str = "x265", timeout: float = 300):
        super().__init__(points)
        qps = self.points()
        if any(a <= b for a, b in zip(qps, qps[1:])):
            raise ValueError(f"bpg: QPs must be strictly decreasing (ascending rate), got {qps}; "
                             "e.g. [47, 42, 37, 32, 27, 22]")
        if not isinstance(level, int) or not 1 <= level <= 9:
            raise ValueError(f"bpg: level (bpgenc -m) must be an integer in 1..9, got {level!r}; 8 is the default")
        if encoder not in ("x265", "jctvc"):
            raise ValueError(f"bpg: encoder (bpgenc -e) must be 'x265' or 'jctvc', got {encoder!r}")
        if not timeout > 0:
            raise ValueError(f"bpg: timeout must be > 0 seconds, got {timeout!r}")
        self.level, self.encoder, self.timeout = level, encoder, float(timeout)
        bin_dir = bin_dir or None
        self.bpgenc = find_program("bpgenc", bin_dir, "RDBENCH_BPG_DIR")
        self.bpgdec = find_program("bpgdec", bin_dir, "RDBENCH_BPG_DIR")
        self._hashes: dict[str, str] | None = None

    def parse_point(self, text: Point) -> Point:
        qp = super().parse_point(text)
        if not (isinstance(qp, int) or (isinstance(qp, float) and qp.is_integer())) or not 0 <= qp <= 51:
            raise ValueError(f"bpg: QP (bpgenc -q) must be an integer in 0..51, got {text!r}")
        return int(qp)

    def available(self) -> Availability:
        missing = [name for name, path in (("bpgenc", self.bpgenc), ("bpgdec", self.bpgdec)) if path is None]
        if missing:
            return Availability.no(f"{' and '.join(missing)} not found (bin_dir option, $RDBENCH_BPG_DIR, PATH); "
                                   f"{INSTALL_HINT}")
        return Availability.yes()

    def check_size(self, width: int, height: int) -> None:
        if width <= MIN_SIDE and height <= MIN_SIDE:
            raise CodecError(f"bpg: bpgenc 0.9.8 crashes (SIGSEGV) on pictures of {MIN_SIDE}x{MIN_SIDE} and "
                             f"smaller; this one is {width}x{height}: leave it out of the dataset, or use hevc444")

    def encode_command(self, src_png: Path, qp: int, out: Path) -> list[str | os.PathLike]:
        """The bpgenc argument list (see the module docstring)."""
        return [self.bpgenc, "-o", out, "-q", str(qp), "-f", "444", "-b", "8", "-c", "ycbcr",
                "-e", self.encoder, "-m", str(self.level), Path(src_png)]

    def encode(self, src_png: Path, point: Point, bitstream: Path) -> None:
        self._require()
        self.check_size(*images.image_size(src_png))
        with scratch_dir("rdbench-bpg-") as tmp:
            out = tmp / "out.bpg"
            command = self.encode_command(src_png, int(point), out)
            run_command(command, timeout=self.timeout)
            if not out.is_file() or out.stat().st_size == 0:
                raise CodecError(f"bpgenc wrote no output file {out}", command=command)
            with open(out, "rb") as f:
                head = f.read(len(MAGIC))
            if head != MAGIC:
                raise CodecError(f"bpgenc output {out} is not a BPG file (starts with {head!r}, "
                                 f"expected {MAGIC!r})", command=command)
            shutil.move(out, bitstream)

    def decode(self, bitstream: Path, out_png: Path) -> None:
        self._require()
        with scratch_dir("rdbench-bpg-") as tmp:
            png = tmp / "out.png"
            command = [self.bpgdec, "-o", png, Path(bitstream)]
            run_command(command, timeout=self.timeout)
            if not png.is_file():
                raise CodecError(f"bpgdec wrote no output file {png}", command=command)
            try:
                rgb, _ = images.load_rgb8(png)  # 16-bit -> 8-bit rounded, opaque alpha dropped
            except images.ImageError as exc:
                raise CodecError(f"bpgdec output {png} is not a usable PNG: {exc}", command=command) from exc
        images.write_png(out_png, rgb)

    def describe(self) -> dict[str, Any]:
        if self._hashes is None and self.available():
            self._hashes = {p: sha256_file(p) for p in (self.bpgenc, self.bpgdec)}
        return {**super().describe(), "tool": "libbpg (bpgenc/bpgdec)",
                "programs": {"bpgenc": self.bpgenc, "bpgdec": self.bpgdec}, "sha256": self._hashes or {},
                "timeout_s": self.timeout,
                "encode": f"bpgenc -o OUT.bpg -q QP -f 444 -b 8 -c ycbcr -e {self.encoder} -m {self.level} IN.png",
                "decode": "bpgdec -o OUT.png IN.bpg",
                "colour": "bpgenc: RGB8 -> YCbCr BT.601 full range 4:4:4 8-bit (inside bpgenc); "
                          "bpgdec PNG -> RGB8 (16-bit rounded by rdbench.images)"}

    def _require(self) -> None:
        if not (status := self.available()):
            raise CodecError(f"bpg is not available: {status.reason}")
