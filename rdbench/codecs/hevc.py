"""HEVC intra 4:4:4 with x265, set up as libbpg's bpgenc does: the BPG anchor, built from registry parts.

Pipeline (rdbench owns every colour step; the encoder only sees YCbCr planes)::

    RGB uint8 --pad to 8k x 8k (>= 16)--> rgb_to_ycbcr(BT.601, 8-bit, full range, rounded)
      --yuv444p planes--> libx265 (PyAV) --> Annex-B stream --> [4-byte size header | stream]
    [header | stream] --> FFmpeg hevc decoder (PyAV) --yuv444p planes--> ycbcr_to_rgb --> crop

Encoder settings, those of libbpg's ``x265_glue.c`` (bpgenc ``-e x265 -f 444 -b 8 -c ycbcr``):
x265 preset ``veryslow`` and tune ``ssim``; constant QP; every picture intra (``keyint=1``);
4:4:4, 8-bit; no info SEI. bpgenc's default ``-m 8`` is x265 preset ``veryslow`` (bpgenc prints
"Using x265 preset: veryslow"); ``preset`` is an option. A point is **bpgenc's -q**: x265 gets
``qp = q + qp_offset``. bpgenc itself adds nothing: it passes ``-q`` to x265 as the constant QP, and
x265 lowers the QP of an I picture by its ``ipratio`` (1.4, i.e. -3), here as inside bpgenc (real
bpgenc 0.9.8 at ``-q 32`` codes at QP 29 on average). The default ``qp_offset = 1`` is a
calibration, not libbpg's: with PyAV's x265 build, q + 1 lands this codec's curve on the one of
bpgenc's own (older, bundled) x265 build, CompressAI's published BPG curve (0.4 % BD-rate apart, see
the README). Set ``qp_offset=0`` for bpgenc's exact QP mapping.

The VUI says what the samples are, so a standard decoder agrees: full range, matrix BT.601
(``smpte170m``), primaries BT.709 and transfer sRGB (``iec61966-2-1``), as for any sRGB PNG.

Why PyAV and not pillow-heif: PyAV hands raw planes to libx265 with any x265 parameter (constant
QP, preset, tune, VUI) and writes the bare Annex-B stream, so rdbench does the colour conversion
itself and the file holds nothing but the stream and 4 bytes of size. pillow-heif converts RGB
itself and exposes a quality setting, not a QP. File format: :mod:`rdbench.codecs.rawvideo`.
"""

from __future__ import annotations

import io
import re
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from rdbench.codecs.base import Availability, Codec, CodecError, Point
from rdbench.codecs.rawvideo import pack_size, pad_edges, padded_size, unpack_size
from rdbench.images import read_png, rgb_to_ycbcr, write_png, ycbcr_to_rgb

PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
           "placebo")
TUNES = ("ssim", "psnr", "none")
MULTIPLE, MINIMUM = 8, 16  # x265 codes 8x8 minimum CUs and refuses pictures under 16 pixels a side
VUI = "range=full:colormatrix=smpte170m:colorprim=bt709:transfer=iec61966-2-1"
INSTALL_HINT = "install PyAV with `pip install av==18.1.0` (its wheels include libx265 and the hevc decoder)"


def rgb_to_planes(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 RGB -> 3xHxW uint8 Y, Cb, Cr planes (BT.601, full range, 8-bit, rounded)."""
    return np.ascontiguousarray(rgb_to_ycbcr(rgb, "bt601", 8, True).astype(np.uint8).transpose(2, 0, 1))


def planes_to_rgb(planes: np.ndarray) -> np.ndarray:
    """3xHxW uint8 Y, Cb, Cr planes -> HxWx3 uint8 RGB (inverse of :func:`rgb_to_planes`, rounded)."""
    return ycbcr_to_rgb(np.asarray(planes).transpose(1, 2, 0), "bt601", 8, True)


class HEVC444(Codec):
    """HEVC intra, 4:4:4 8-bit YCbCr BT.601 full range, x265 at constant QP (bpgenc's settings)."""

    name = "hevc444"
    point_kind = "qp"
    default_points = (47, 42, 37, 32, 27, 22)

    def __init__(self, points: Sequence[Point] | None = None, preset: str = "veryslow", tune: str = "ssim",
                 qp_offset: int = 1, threads: int | None = None):
        if preset not in PRESETS:
            raise ValueError(f"hevc444: unknown x265 preset {preset!r}; choose one of {', '.join(PRESETS)}")
        if tune not in TUNES:
            raise ValueError(f"hevc444: tune must be one of {', '.join(TUNES)}, got {tune!r}")
        if not isinstance(qp_offset, int) or not -10 <= qp_offset <= 10:
            raise ValueError(f"hevc444: qp_offset must be an integer in -10..10 (1: calibrated to the published BPG "
                             f"curve, 0: bpgenc's own QP mapping), got {qp_offset!r}")
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise ValueError(f"hevc444: threads must be None (x265 decides) or an integer >= 1, got {threads!r}")
        self.preset, self.tune, self.qp_offset, self.threads = preset, tune, qp_offset, threads
        super().__init__(points)

    def parse_point(self, text: Point) -> Point:
        try:
            q = super().parse_point(text)
        except ValueError:
            q = None
        if (isinstance(q, bool) or not isinstance(q, (int, float)) or q != int(q)
                or not 0 <= int(q) + self.qp_offset <= 51):
            raise ValueError(f"hevc444: a point is bpgenc's -q, an integer with 0 <= q + qp_offset "
                             f"({self.qp_offset}) <= 51, got {text!r}")
        return int(q)

    def x265_params(self, point: Point) -> str:
        """The ``x265-params`` string for `point` (everything except preset and tune)."""
        params = f"qp={int(point) + self.qp_offset}:keyint=1:min-keyint=1:info=0:{VUI}:log-level=error"
        if self.threads is not None:
            params += f":pools={self.threads}:frame-threads=1"
        return params

    def _options(self, point: Point) -> dict[str, str]:
        options = {"preset": self.preset, "x265-params": self.x265_params(point)}
        if self.tune != "none":
            options["tune"] = self.tune
        return options

    def available(self) -> Availability:
        try:
            import av
        except ImportError as exc:
            return Availability.no(f"PyAV is not importable ({exc}); {INSTALL_HINT}")
        missing = [c for c in ("libx265", "hevc") if c not in av.codecs_available]  # encoder, decoder
        if missing:
            return Availability.no(f"this PyAV build lacks {' and '.join(missing)}; {INSTALL_HINT}")
        return Availability.yes()

    def encode(self, src_png: Path, point: Point, bitstream: Path) -> None:
        point = self.parse_point(point)
        if not (ok := self.available()):
            raise CodecError(f"hevc444 is not available: {ok.reason}")
        rgb = read_png(src_png)
        height, width = rgb.shape[:2]
        planes = rgb_to_planes(pad_edges(rgb, *padded_size(height, width, MULTIPLE, MINIMUM)))
        stream = encode_planes(planes, self._options(point))
        Path(bitstream).write_bytes(pack_size(width, height) + stream)

    def decode(self, bitstream: Path, out_png: Path) -> None:
        if not (ok := self.available()):
            raise CodecError(f"hevc444 is not available: {ok.reason}")
        width, height, stream = unpack_size(Path(bitstream).read_bytes(), bitstream)
        planes = decode_planes(stream, bitstream)
        if planes.shape[1] < height or planes.shape[2] < width:
            raise CodecError(f"{bitstream}: decoded picture {planes.shape[2]}x{planes.shape[1]} is smaller "
                             f"than the {width}x{height} in its header")
        write_png(out_png, planes_to_rgb(planes[:, :height, :width]))

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        example = self.points()[len(self.points()) // 2]
        info.update(
            library=_versions(), preset=self.preset, tune=self.tune, qp_offset=self.qp_offset, threads=self.threads,
            encoder_options={"codec": "libx265", "pix_fmt": "yuv444p", **self._options(example)},
            qp_rule=f"x265 qp = point + {self.qp_offset} (1: calibrated to the published BPG curve; bpgenc adds 0); "
                    "intra only",
            colour="RGB -> YCbCr BT.601 full range, 8-bit, rounded, 4:4:4 (rdbench.images.rgb_to_ycbcr); "
                   f"VUI {VUI}; decode: ycbcr_to_rgb, rounded",
            file="4-byte size header (uint16 BE width, height) + HEVC Annex-B stream of the picture padded "
                 f"by edge replication to a multiple of {MULTIPLE} (at least {MINIMUM})",
        )
        return info


def encode_planes(planes: np.ndarray, options: dict[str, str]) -> bytes:
    """3xHxW uint8 yuv444p planes -> one intra picture as an HEVC Annex-B byte stream (libx265)."""
    import av

    _, height, width = planes.shape
    ctx = av.CodecContext.create("libx265", "w")
    ctx.width, ctx.height, ctx.pix_fmt, ctx.time_base = width, height, "yuv444p", Fraction(1, 25)
    ctx.options = dict(options)
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(planes), format="yuv444p")
    frame.pts = 0
    try:
        packets = list(ctx.encode(frame)) + list(ctx.encode(None))
    except av.FFmpegError as exc:
        raise CodecError(f"libx265 failed on a {width}x{height} picture: {exc}",
                         command=["libx265", *(f"{k}={v}" for k, v in options.items())]) from exc
    stream = b"".join(bytes(p) for p in packets)
    if not stream:
        raise CodecError(f"libx265 produced no bitstream for a {width}x{height} picture",
                         command=["libx265", *(f"{k}={v}" for k, v in options.items())])
    return stream


def decode_planes(stream: bytes, path: str | Path = "<bytes>") -> np.ndarray:
    """An HEVC Annex-B stream of one yuv444p picture -> 3xHxW uint8 planes (no colour conversion)."""
    import av

    try:
        with av.open(io.BytesIO(stream), format="hevc") as container:
            frames = list(container.decode(video=0))
    except av.FFmpegError as exc:
        raise CodecError(f"{path}: HEVC decoding failed: {exc}") from exc
    if len(frames) != 1:
        raise CodecError(f"{path}: expected one picture, the stream decoded to {len(frames)}")
    frame = frames[0]
    if frame.format.name != "yuv444p":
        raise CodecError(f"{path}: decoded format {frame.format.name}, expected yuv444p (8-bit 4:4:4)")
    return np.stack([_plane(p, frame.width, frame.height) for p in frame.planes])


def _plane(plane, width: int, height: int) -> np.ndarray:
    rows = np.frombuffer(memoryview(plane), dtype=np.uint8)[: plane.line_size * height]
    return rows.reshape(height, plane.line_size)[:, :width]


@lru_cache(maxsize=1)
def _versions() -> str:
    """'x265 <version> via PyAV <version> (libavcodec a.b.c)'; x265's version read from its info SEI."""
    try:
        import av
    except ImportError as exc:
        return f"unavailable ({exc})"
    libavcodec = ".".join(map(str, av.library_versions.get("libavcodec", ())))
    try:
        probe = encode_planes(np.full((3, 16, 16), 128, np.uint8),
                              {"preset": "ultrafast", "x265-params": "qp=40:info=1:log-level=error"})
        match = re.search(rb"x265 \(build \d+\) - ([^:\s]+)", probe)
        x265 = match.group(1).decode() if match else "unknown version"
    except CodecError as exc:
        x265 = f"unknown version ({exc})"
    return f"x265 {x265} via PyAV {av.__version__} (libavcodec {libavcodec})"


__all__ = ["HEVC444", "decode_planes", "encode_planes", "planes_to_rgb", "rgb_to_planes"]
