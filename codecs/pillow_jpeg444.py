"""Baseline JPEG through Pillow, 4:4:4 (no chroma subsampling), optimised Huffman tables.

An example one-file plugin: rdbench registers the codec below because this file is in the top-level
``codecs/`` folder (or a folder named by ``$RDBENCH_PLUGINS`` / the workflow's ``plugins:`` setting).
It is Pillow's own JPEG path (Pillow's bundled libjpeg-turbo, Pillow's quality -> quantiser tables),
not rdbench's built-in ``jpeg`` (imagecodecs): the two are separate encoders and get separate rows.

    src.png -(Pillow: RGB -> YCbCr BT.601 full range, 4:4:4)-> .jpg -(Pillow: YCbCr -> RGB)-> out.png
"""

from __future__ import annotations

from typing import Sequence

from rdbench.codecs.base import Availability, Codec, CodecError, Point


class PillowJPEG444(Codec):
    """JPEG via Pillow at a quality (1-95 is Pillow's useful range), subsampling 4:4:4."""

    name = "pillow-jpeg444"
    point_kind = "quality"
    default_points = (10, 25, 50, 75, 90)

    def __init__(self, points: Sequence[Point] | None = None, optimize: bool = True):
        super().__init__(points)
        self.optimize = optimize
        bad = [p for p in self.points() if not (isinstance(p, int) and 1 <= p <= 100)]
        if bad:
            raise ValueError(f"{self.name}: quality must be an integer in 1..100, got {bad}")

    def encode(self, src_png, point, bitstream):
        from PIL import Image

        with Image.open(src_png) as img:
            img.convert("RGB").save(bitstream, format="JPEG", quality=int(point), subsampling=0,
                                    optimize=self.optimize)

    def decode(self, bitstream, out_png):
        from PIL import Image

        try:
            with Image.open(bitstream) as img:
                img.convert("RGB").save(out_png, format="PNG")
        except OSError as exc:
            raise CodecError(f"{self.name}: cannot decode {bitstream}: {exc}") from exc

    def available(self):
        try:
            from PIL import features
        except ImportError:
            return Availability.no("Pillow is not installed; `pip install pillow`")
        if not features.check("jpg"):
            return Availability.no("this Pillow was built without JPEG support; install a Pillow wheel from PyPI")
        return Availability.yes()

    def describe(self):
        import PIL
        from PIL import features

        return {**super().describe(), "pillow": PIL.__version__, "libjpeg": features.version("jpg"),
                "libjpeg_turbo": features.version("libjpeg_turbo"), "optimize": self.optimize,
                "colour": "Pillow/libjpeg RGB -> YCbCr (JFIF, BT.601 full range), 4:4:4; decoder YCbCr -> RGB"}
