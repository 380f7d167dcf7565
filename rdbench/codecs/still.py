"""Still-image codecs through imagecodecs: JPEG, JPEG 2000, WebP, AVIF and JPEG XL.

Each codec is an in-process library call on the decoded 8-bit RGB array (HxWx3 uint8, from
:func:`rdbench.images.read_png`, so no ICC profile or metadata reaches the encoder) and writes the
library's complete output as the bitstream file: every container/header byte counts in the rate.
The library does its own RGB <-> YCbCr conversion; ``describe()["colour"]`` says which.

    codec     library (via imagecodecs)  a point is                   colour / chroma
    jpeg      libjpeg-turbo              quality 1..100               JFIF BT.601 full range, 4:4:4
    jpeg2000  OpenJPEG                   target PSNR, dB              ICT (irreversible), 4:4:4
    webp      libwebp (lossy)            quality 0..100               BT.601 limited range, 4:2:0
    avif      libavif + libaom           quality 0..100               BT.601 full range, 4:4:4, 8-bit
    jpegxl    libjxl                     Butteraugli distance 25..0   XYB

Points are ordered by ascending rate; JPEG XL distances therefore descend. The default ladders (8
points) span about 0.05-2 bpp in Kodak mean where the format allows it: the lowest rates of 4:4:4
JPEG (q 3: 0.15 bpp), WebP (q 0: 0.10) and JPEG XL (d 25: 0.13) are higher.
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np

from rdbench.codecs.base import Availability, Codec, CodecError, Point, point_label
from rdbench.images import read_png, write_png

INSTALL_HINT = "install it with `pip install imagecodecs==2026.1.14` (the version pyproject.toml pins)"


class ImagecodecsCodec(Codec):
    """One imagecodecs format: ``<prefix>_encode(rgb, **encode_kwargs(point))`` and ``<prefix>_decode``.

    Subclasses set ``name``, ``point_kind``, ``default_points``, ``point_range`` (inclusive),
    ``fmt`` (the imagecodecs class that says ``available``), ``prefix`` (of the function names),
    ``colour`` (the pipeline, for the manifest) and implement :meth:`encode_kwargs`.
    """

    fmt: ClassVar[str]
    prefix: ClassVar[str]
    point_range: ClassVar[tuple[float, float]]
    integer_points: ClassVar[bool] = False
    colour: ClassVar[str]

    def __init__(self, points: Sequence[Point] | None = None, threads: int = 1):
        if not isinstance(threads, int) or threads < 1:
            raise ValueError(f"{self.name}: threads must be an integer >= 1, got {threads!r}")
        self.threads = threads
        super().__init__(points)

    def parse_point(self, text: Point) -> Point:
        lo, hi = self.point_range
        try:
            value = super().parse_point(text)
        except ValueError:
            value = None
        if (isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi
                or (self.integer_points and value != int(value))):
            kind = "an integer" if self.integer_points else "a number"
            raise ValueError(f"{self.name}: a point is the {self.point_kind}, {kind} in [{lo:g}, {hi:g}]; "
                             f"got {text!r}")
        return int(value) if self.integer_points else value

    @abstractmethod
    def encode_kwargs(self, point: Point, shape: tuple[int, ...]) -> dict[str, Any]:
        """Keyword arguments of ``<prefix>_encode`` for `point` and an image of `shape` (H, W, 3)."""

    def _library(self):
        import imagecodecs

        return imagecodecs

    def available(self) -> Availability:
        try:
            imagecodecs = self._library()
        except ImportError as exc:
            return Availability.no(f"imagecodecs is not importable ({exc}); {INSTALL_HINT}")
        if not getattr(imagecodecs, self.fmt).available:
            return Availability.no(f"this imagecodecs build has no {self.fmt} codec; {INSTALL_HINT} "
                                   "(the PyPI wheels include it)")
        return Availability.yes()

    def _function(self, kind: str):
        """``imagecodecs.<prefix>_<kind>``, or CodecError with the reason when unavailable."""
        if not (ok := self.available()):
            raise CodecError(f"{self.name} is not available: {ok.reason}")
        return getattr(self._library(), f"{self.prefix}_{kind}")

    def _call(self, point: Point, shape: tuple[int, ...]) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.encode_kwargs(point, shape).items())
        return f"imagecodecs.{self.prefix}_encode(rgb, {args})"

    def encode(self, src_png: Path, point: Point, bitstream: Path) -> None:
        point = self.parse_point(point)
        encode = self._function("encode")
        rgb = read_png(src_png)
        try:
            data = encode(rgb, **self.encode_kwargs(point, rgb.shape))
        except Exception as exc:  # imagecodecs raises one error class per format
            raise CodecError(f"{self.name}: encoding {src_png} ({rgb.shape[1]}x{rgb.shape[0]}) at "
                             f"{self.point_kind} {point_label(point)} failed: {type(exc).__name__}: {exc}",
                             command=[self._call(point, rgb.shape)]) from exc
        Path(bitstream).write_bytes(bytes(data))

    def decode(self, bitstream: Path, out_png: Path) -> None:
        decode = self._function("decode")
        data = Path(bitstream).read_bytes()
        try:
            rgb = np.asarray(decode(data, **self.decode_kwargs()))
        except Exception as exc:
            raise CodecError(f"{self.name}: decoding {bitstream} ({len(data)} bytes) failed: "
                             f"{type(exc).__name__}: {exc}") from exc
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise CodecError(f"{self.name}: {bitstream} decoded to {rgb.shape} {rgb.dtype}, "
                             "expected HxWx3 uint8 RGB")
        write_png(out_png, rgb)

    def decode_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``<prefix>_decode``."""
        return {}

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        try:
            imagecodecs = self._library()
            library = getattr(imagecodecs, f"{self.prefix}_version")()
            binding = f"imagecodecs {imagecodecs.__version__}"
        except (ImportError, AttributeError) as exc:
            library = binding = f"unavailable ({exc})"
        example = self.points()[len(self.points()) // 2]
        info.update(library=library, binding=binding, threads=self.threads, colour=self.colour,
                    call=self._call(example, (512, 768, 3)), rate="the library's output bytes, nothing added")
        return info


class JPEG(ImagecodecsCodec):
    """Baseline JPEG (libjpeg-turbo), 4:4:4, optimised Huffman tables."""

    name = "jpeg"
    fmt, prefix = "JPEG8", "jpeg8"
    point_kind = "quality"
    default_points = (3, 5, 10, 20, 35, 50, 70, 85)
    point_range = (1, 100)
    integer_points = True
    colour = ("libjpeg-turbo RGB -> YCbCr (JFIF: BT.601 full range, 8-bit), no chroma subsampling (4:4:4); "
              "decoder YCbCr -> RGB")

    def __init__(self, points: Sequence[Point] | None = None, subsampling: str = "444", optimize: bool = True):
        if subsampling not in ("444", "422", "420"):
            raise ValueError(f"jpeg: subsampling must be '444', '422' or '420', got {subsampling!r}")
        self.subsampling, self.optimize = subsampling, optimize
        super().__init__(points)

    def encode_kwargs(self, point, shape):
        return {"level": int(point), "colorspace": "RGB", "outcolorspace": "YCbCr",
                "subsampling": self.subsampling, "optimize": self.optimize}

    def decode_kwargs(self):
        return {"outcolorspace": "RGB"}


class JPEG2000(ImagecodecsCodec):
    """JPEG 2000 part 1 codestream (.j2k, OpenJPEG), 9/7 wavelet, one quality layer.

    Rate control: a point is the target PSNR in dB given to OpenJPEG's fixed-quality allocation
    (``tcp_distoratio``; imagecodecs' ``level``). It is the only lossy rate control imagecodecs
    exposes, and it lands within ~0.3 dB of the target in RGB PSNR on Kodak. Decomposition levels:
    ``resolutions - 1`` (default 6 resolutions, as OpenJPEG), fewer for images under 32 pixels.
    """

    name = "jpeg2000"
    fmt, prefix = "JPEG2K", "jpeg2k"
    point_kind = "target-psnr"
    default_points = (23, 25, 27, 29, 31, 34, 37, 40)
    point_range = (10, 80)
    colour = ("OpenJPEG irreversible colour transform (ICT, BT.601 YCbCr) on RGB, 4:4:4, "
              "9/7 wavelet; decoder inverse ICT")

    def __init__(self, points: Sequence[Point] | None = None, resolutions: int = 6, threads: int = 1):
        if not isinstance(resolutions, int) or not 1 <= resolutions <= 10:
            raise ValueError(f"jpeg2000: resolutions must be an integer in 1..10, got {resolutions!r}")
        self.resolutions = resolutions
        super().__init__(points, threads)

    def encode_kwargs(self, point, shape):
        # OpenJPEG needs the lowest resolution to be >= 1 pixel: at most 1 + log2(min side) levels.
        fits = 1 + int(np.log2(max(1, min(shape[0], shape[1]))))
        return {"level": float(point), "codecformat": "J2K", "reversible": False, "mct": True,
                "resolutions": min(self.resolutions, fits), "numthreads": self.threads}


class WebP(ImagecodecsCodec):
    """Lossy WebP (libwebp, VP8 intra), method 6 (slowest, best) by default."""

    name = "webp"
    fmt, prefix = "WEBP", "webp"
    point_kind = "quality"
    default_points = (0, 5, 15, 30, 50, 70, 85, 90)
    point_range = (0, 100)
    colour = "libwebp RGB -> YCbCr (BT.601 limited range, 8-bit) with 4:2:0 chroma (lossy VP8 has no 4:4:4)"

    def __init__(self, points: Sequence[Point] | None = None, method: int = 6, threads: int = 1):
        if not isinstance(method, int) or not 0 <= method <= 6:
            raise ValueError(f"webp: method must be an integer in 0..6 (6 = slowest, best), got {method!r}")
        self.method = method
        super().__init__(points, threads)

    def encode_kwargs(self, point, shape):
        return {"level": float(point), "lossless": False, "method": self.method, "numthreads": self.threads}


class AVIF(ImagecodecsCodec):
    """AVIF (libavif with the libaom AV1 encoder), 4:4:4, 8-bit, still image.

    ``speed`` 0 (slowest) .. 10; the default 6 is avifenc's. A point is libavif's quality
    (0 worst .. 100 lossless), which it maps to the AV1 quantizer.
    """

    name = "avif"
    fmt, prefix = "AVIF", "avif"
    point_kind = "quality"
    default_points = (5, 15, 25, 35, 45, 55, 65, 80)
    point_range = (0, 100)
    integer_points = True
    colour = ("libavif RGB -> YCbCr BT.601 full range, 8-bit, 4:4:4; nclx colr box: primaries 1 (BT.709), "
              "transfer 13 (sRGB), matrix 6 (BT.601), full range; decoder YCbCr -> RGB")

    def __init__(self, points: Sequence[Point] | None = None, speed: int = 6, threads: int = 1):
        if not isinstance(speed, int) or not 0 <= speed <= 10:
            raise ValueError(f"avif: speed must be an integer in 0..10 (0 = slowest), got {speed!r}")
        self.speed = speed
        super().__init__(points, threads)

    def encode_kwargs(self, point, shape):
        return {"level": int(point), "speed": self.speed, "pixelformat": "444", "bitspersample": 8,
                "codec": "aom", "primaries": 1, "transfer": 13, "matrix": 6, "numthreads": self.threads}

    def decode_kwargs(self):
        return {"numthreads": self.threads}


class JPEGXL(ImagecodecsCodec):
    """JPEG XL (libjxl, VarDCT). A point is the Butteraugli distance (cjxl -d): lower = higher rate."""

    name = "jpegxl"
    fmt, prefix = "JPEGXL", "jpegxl"
    point_kind = "distance"
    default_points = (25, 15, 9, 6, 4, 2.5, 1.5, 1)
    point_range = (0.05, 25)
    colour = "libjxl RGB (sRGB, 8-bit) -> XYB internally; decoder back to 8-bit sRGB RGB"

    def __init__(self, points: Sequence[Point] | None = None, effort: int = 7, threads: int = 1):
        if not isinstance(effort, int) or not 1 <= effort <= 10:
            raise ValueError(f"jpegxl: effort must be an integer in 1..10 (7 = cjxl default), got {effort!r}")
        self.effort = effort
        super().__init__(points, threads)

    def encode_kwargs(self, point, shape):
        return {"distance": float(point), "effort": self.effort, "lossless": False, "numthreads": self.threads}

    def decode_kwargs(self):
        return {"numthreads": self.threads}
