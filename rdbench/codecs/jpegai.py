"""JPEG AI, the learned image coding standard (Rec. ITU-T T.840.1 | ISO/IEC 6048-1), via its reference software.

**Not run here.** The JPEG AI reference software (the "JPEG AI VM") is not on any package registry
and is absent on the machines this adapter was written on: its tests drive a stand-in checkout
(``tests/standins/jpegai``) whose modules honour the same command line.

Commands, run with the checkout as working directory (the VM loads ``cfg/`` and its models from it)::

    PYTHON -m src.reco.coders.encoder IN.png OUT.bin --set_target_bpp BPPx100
        --cfg cfg/tools_on.json cfg/profiles/PROFILE.json
    PYTHON -m src.reco.coders.decoder IN.bin OUT.png

PYTHON is the interpreter of the VM's environment (``jpeg_ai_vm`` when set up with its Makefile),
never rdbench's own. A rate point is a target bpp; the VM takes it as the integer 100 x bpp, so
points must be multiples of 0.01 (defaults 0.06, 0.12, 0.25, 0.50, 0.75). PROFILE is ``simple``,
``main`` or ``high`` (option ``profile``), ``tools`` picks ``cfg/tools_on.json`` or
``tools_off.json``. The decoder's PNG is normalised to 8-bit RGB (16-bit rounded x / 257) by
:func:`rdbench.images.load_rgb8`. Rate = the stream file, which alone suffices to decode.

Finding it: options ``checkout`` and ``python``, else ``$RDBENCH_JPEGAI_DIR`` and
``$RDBENCH_JPEGAI_PYTHON``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Sequence

from rdbench.datasets import sha256_file
from rdbench import images
from rdbench.codecs.base import Availability, Codec, CodecError, Point, run_command, scratch_dir

PROFILES = ("simple", "main", "high")
TOOLS = ("on", "off")
ENCODER, DECODER = "src.reco.coders.encoder", "src.reco.coders.decoder"
INSTALL_HINT = ("obtain the JPEG AI reference software (JPEG AI VM, https://gitlab.com/wg1/jpeg-ai; distributed "
                "to JPEG members), set up its environment (`make configure` in the checkout), and set "
                "RDBENCH_JPEGAI_DIR to the checkout and RDBENCH_JPEGAI_PYTHON to that environment's python "
                "(or the codec options checkout and python)")


class JPEGAI(Codec):
    """The JPEG AI VM at a ladder of target bpps (ascending)."""

    name = "jpegai"
    point_kind = "target-bpp"
    default_points = (0.06, 0.12, 0.25, 0.50, 0.75)

    def __init__(self, points: Sequence[Point] | None = None, checkout: str | os.PathLike | None = None,
                 python: str | os.PathLike | None = None, profile: str = "high", tools: str = "on",
                 timeout: float = 1800):
        super().__init__(points)
        bpps = self.points()
        if any(a >= b for a, b in zip(bpps, bpps[1:])):
            raise ValueError(f"jpegai: target bpps must be strictly increasing, got {bpps}; "
                             "e.g. [0.06, 0.12, 0.25, 0.5, 0.75]")
        if profile not in PROFILES:
            raise ValueError(f"jpegai: unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
        if tools not in TOOLS:
            raise ValueError(f"jpegai: tools must be 'on' or 'off' (cfg/tools_on.json or tools_off.json), "
                             f"got {tools!r}")
        if not timeout > 0:
            raise ValueError(f"jpegai: timeout must be > 0 seconds, got {timeout!r}")
        self.profile, self.tools, self.timeout = profile, tools, float(timeout)
        checkout = checkout or os.environ.get("RDBENCH_JPEGAI_DIR")
        python = python or os.environ.get("RDBENCH_JPEGAI_PYTHON")
        self.checkout = Path(checkout).expanduser().resolve() if checkout else None
        self.python = str(Path(python).expanduser()) if python else None
        self._provenance: dict[str, Any] | None = None

    def parse_point(self, text: Point) -> Point:
        bpp = float(super().parse_point(text))
        if not bpp > 0 or abs(bpp * 100 - round(bpp * 100)) > 1e-6:
            raise ValueError(f"jpegai: a target bpp must be a positive multiple of 0.01 (the VM takes "
                             f"--set_target_bpp as the integer 100 x bpp), got {text!r}")
        return round(bpp, 2)

    @property
    def cfg_files(self) -> list[str]:
        """The --cfg files, relative to the checkout, in the order the VM loads them."""
        return [f"cfg/tools_{self.tools}.json", f"cfg/profiles/{self.profile}.json"]

    def available(self) -> Availability:
        if self.checkout is None:
            return Availability.no(f"JPEG AI checkout not configured (checkout option or $RDBENCH_JPEGAI_DIR); "
                                   f"{INSTALL_HINT}")
        needed = ["src/reco/coders/encoder.py", "src/reco/coders/decoder.py", *self.cfg_files]
        missing = [n for n in needed if not (self.checkout / n).is_file()]
        if missing:
            return Availability.no(f"{self.checkout} is not a JPEG AI VM checkout with profile {self.profile!r} "
                                   f"(missing {', '.join(missing)}); {INSTALL_HINT}")
        if self.python is None:
            return Availability.no(f"the JPEG AI environment's python is not configured (python option or "
                                   f"$RDBENCH_JPEGAI_PYTHON); {INSTALL_HINT}")
        if not (os.path.isfile(self.python) and os.access(self.python, os.X_OK)):
            return Availability.no(f"JPEG AI python {self.python} is not an executable file; {INSTALL_HINT}")
        return Availability.yes()

    def encode_command(self, src_png: Path, point: Point, out: Path) -> list[str | os.PathLike]:
        """The encoder argument list; paths are absolute because it runs in the checkout."""
        return [self.python, "-m", ENCODER, Path(src_png).resolve(), out.resolve(),
                "--set_target_bpp", str(round(float(point) * 100)), "--cfg", *self.cfg_files]

    def encode(self, src_png: Path, point: Point, bitstream: Path) -> None:
        self._require()
        with scratch_dir("rdbench-jpegai-") as tmp:
            out = tmp / "out.bin"
            command = self.encode_command(src_png, point, out)
            run_command(command, timeout=self.timeout, cwd=self.checkout)
            if not out.is_file() or out.stat().st_size == 0:
                raise CodecError(f"JPEG AI encoder wrote no stream {out}", command=command)
            shutil.move(out, bitstream)

    def decode(self, bitstream: Path, out_png: Path) -> None:
        self._require()
        with scratch_dir("rdbench-jpegai-") as tmp:
            png = tmp / "out.png"
            command = [self.python, "-m", DECODER, Path(bitstream).resolve(), png.resolve()]
            run_command(command, timeout=self.timeout, cwd=self.checkout)
            if not png.is_file():
                raise CodecError(f"JPEG AI decoder wrote no image {png}", command=command)
            try:
                rgb, _ = images.load_rgb8(png)
            except images.ImageError as exc:
                raise CodecError(f"JPEG AI decoder output {png} is not a usable PNG: {exc}", command=command) from exc
        images.write_png(out_png, rgb)

    def describe(self) -> dict[str, Any]:
        if self._provenance is None and self.available():
            self._provenance = {"git_commit": _git_commit(self.checkout),
                                "cfg_sha256": {n: sha256_file(self.checkout / n) for n in self.cfg_files}}
        cfg = " ".join(self.cfg_files)
        return {**super().describe(), "tool": "JPEG AI reference software (VM)", "profile": self.profile,
                "tools": self.tools, "checkout": str(self.checkout) if self.checkout else None,
                "python": self.python, **(self._provenance or {}), "timeout_s": self.timeout,
                "encode": f"(cd CHECKOUT && PYTHON -m {ENCODER} IN.png OUT.bin --set_target_bpp BPPx100 --cfg {cfg})",
                "decode": f"(cd CHECKOUT && PYTHON -m {DECODER} IN.bin OUT.png)",
                "colour": "inside the VM (RGB8 PNG in, PNG out; 16-bit output rounded to 8 by rdbench.images)"}

    def _require(self) -> None:
        if not (status := self.available()):
            raise CodecError(f"jpegai is not available: {status.reason}")


def _git_commit(checkout: Path) -> str | None:
    """The commit of a git checkout, read from .git without running git; None if not a plain checkout."""
    git = checkout / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head
        ref = head[5:]
        if (git / ref).is_file():
            return (git / ref).read_text().strip()
        for line in (git / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split()[0]
    except OSError:
        pass
    return None
