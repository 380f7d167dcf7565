"""VVC (H.266) intra, 4:2:0 10-bit, with libvvenc through a static ffmpeg; decoded by ffmpeg's VVC decoder.

Pipeline (rdbench owns every colour and resampling step; ffmpeg only moves raw planes)::

    RGB uint8 --pad to 8k x 8k (>= 32)--> rgb_to_ycbcr(matrix, 10-bit, full range, rounded)
      --downsample_420 (2x2 mean, centre-sited)--> in.yuv (yuv420p10le)
      --ffmpeg -c:v libvvenc--> out.266 --> [4-byte size header | out.266]
    [header | .266] --ffmpeg (vvc decoder) -pix_fmt yuv420p10le--> upsample_420 (bilinear)
      --> ycbcr_to_rgb (rounded) --> crop to the true size

Choices: matrix BT.709 (option ``matrix``: bt601, bt709, bt2020); **full range** 10-bit (option
``full_range``): with 1024 codes per component an 8-bit RGB image survives the YCbCr round trip
exactly, and full range is what still-image pipelines (JPEG, BPG, AVIF) use. The VUI signals matrix,
range, chroma sample location 1 (centre, as the 2x2 mean makes it), BT.709 primaries and sRGB
transfer, so a standard decoder agrees. vvenc runs all-intra (``-g 1``) at constant QP (the point,
0..63) with its perceptual QP adaptation off (``qpa=0``: rdbench measures PSNR-like fidelity; the
option ``perceptual_qpa`` turns it on). The access-unit delimiter is dropped (7 useless bytes).

Preset: ``medium`` (vvenc's default) by default: a median 5 s per Kodak image (2 s at QP 47, 11 s
at QP 22) on 2 shared cores; ``fast`` is ~3x faster and ~0.15 dB worse, ``faster`` ~10x faster.

ffmpeg never converts colours: the raw input and output are both ``yuv420p10le`` and no filter is
given; the decoded byte count is checked against the padded size. File format:
:mod:`rdbench.codecs.rawvideo`. The ffmpeg binary is the ``ffmpeg`` option, else
``$RDBENCH_FFMPEG``, else imageio-ffmpeg's bundled one (which has libvvenc), else PATH.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from rdbench.codecs.base import Availability, Codec, CodecError, Point, run_command, scratch_dir
from rdbench.codecs.rawvideo import pack_size, pad_edges, padded_size, unpack_size
from rdbench.images import MATRICES, downsample_420, read_png, rgb_to_ycbcr, upsample_420, write_png, ycbcr_to_rgb

PRESETS = ("faster", "fast", "medium", "slow", "slower")
MULTIPLE, MINIMUM = 8, 32  # vvenc fails on pictures under ~24 pixels a side; 8 keeps 4:2:0 and CUs whole
FFMPEG_COLORSPACE = {"bt601": "smpte170m", "bt709": "bt709", "bt2020": "bt2020nc"}
INSTALL_HINT = ("install imageio-ffmpeg==0.8.1 (its static ffmpeg has libvvenc and a VVC decoder), or give "
                "the codec option ffmpeg=/path/to/ffmpeg (or $RDBENCH_FFMPEG) built with --enable-libvvenc")


def rgb_to_planes(rgb: np.ndarray, matrix: str = "bt709", full_range: bool = True) -> list[np.ndarray]:
    """HxWx3 uint8 RGB (even H, W) -> [Y (HxW), Cb, Cr (H/2 x W/2)] uint16 10-bit planes."""
    ycc = rgb_to_ycbcr(rgb, matrix, 10, full_range)
    return [ycc[..., 0], downsample_420(ycc[..., 1]), downsample_420(ycc[..., 2])]


def planes_to_rgb(planes: Sequence[np.ndarray], matrix: str = "bt709", full_range: bool = True) -> np.ndarray:
    """[Y, Cb, Cr] 10-bit 4:2:0 planes -> HxWx3 uint8 RGB (chroma upsampled bilinearly, rounded)."""
    y, cb, cr = planes
    h, w = y.shape
    ycc = np.stack([y, upsample_420(cb, h, w), upsample_420(cr, h, w)], -1)
    return ycbcr_to_rgb(ycc, matrix, 10, full_range)


class VVC420(Codec):
    """VVC all-intra (libvvenc via ffmpeg), 4:2:0 10-bit YCbCr, constant QP."""

    name = "vvc420"
    point_kind = "qp"
    default_points = (47, 42, 37, 32, 27, 22)

    def __init__(self, points: Sequence[Point] | None = None, preset: str = "medium", matrix: str = "bt709",
                 full_range: bool = True, perceptual_qpa: bool = False, threads: int | None = None,
                 ffmpeg: str | os.PathLike | None = None, timeout: float = 600):
        if preset not in PRESETS:
            raise ValueError(f"vvc420: unknown vvenc preset {preset!r}; choose one of {', '.join(PRESETS)}")
        if matrix not in MATRICES:
            raise ValueError(f"vvc420: unknown matrix {matrix!r}; choose one of {', '.join(MATRICES)}")
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise ValueError(f"vvc420: threads must be None (vvenc decides) or an integer >= 1, got {threads!r}")
        if not timeout > 0:
            raise ValueError(f"vvc420: timeout must be > 0 seconds, got {timeout!r}")
        self.preset, self.matrix, self.full_range = preset, matrix, bool(full_range)
        self.perceptual_qpa, self.threads, self.timeout = bool(perceptual_qpa), threads, float(timeout)
        self.ffmpeg = _resolve_ffmpeg(ffmpeg)
        super().__init__(points)

    def parse_point(self, text: Point) -> Point:
        try:
            qp = super().parse_point(text)
        except ValueError:
            qp = None
        if isinstance(qp, bool) or not isinstance(qp, (int, float)) or qp != int(qp) or not 0 <= qp <= 63:
            raise ValueError(f"vvc420: a point is a vvenc QP, an integer in 0..63, got {text!r}")
        return int(qp)

    # ------------------------------------------------------------------------------ commands

    def _vvenc_params(self) -> str:
        return (f"VideoFullRange={int(self.full_range)}:ChromaLocInfoPresent=1:ChromaSampleLocType=1:"
                "AccessUnitDelimiter=0")

    def encode_command(self, raw: Path, width: int, height: int, qp: int, out: Path) -> list[str]:
        """ffmpeg arguments: one raw yuv420p10le picture -> raw .266 stream (no colour conversion)."""
        threads = ["-threads", str(self.threads)] if self.threads else []
        return [self.ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                "-f", "rawvideo", "-pix_fmt", "yuv420p10le", "-s", f"{width}x{height}", "-framerate", "25",
                "-colorspace", FFMPEG_COLORSPACE[self.matrix], "-color_primaries", "bt709",
                "-color_trc", "iec61966-2-1", "-i", str(raw),
                "-frames:v", "1", "-c:v", "libvvenc", "-pix_fmt", "yuv420p10le", "-preset", self.preset,
                "-qp", str(qp), "-qpa", str(int(self.perceptual_qpa)), "-g", "1", *threads,
                "-vvenc-params", self._vvenc_params(), "-f", "vvc", str(out)]

    def decode_command(self, stream: Path, out: Path) -> list[str]:
        """ffmpeg arguments: raw .266 -> raw yuv420p10le planes, as decoded."""
        return [self.ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "vvc",
                "-i", str(stream), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "yuv420p10le", str(out)]

    # --------------------------------------------------------------------------- contract

    def available(self) -> Availability:
        if not (os.path.isfile(self.ffmpeg) and os.access(self.ffmpeg, os.X_OK)):
            return Availability.no(f"no ffmpeg executable at {self.ffmpeg}; {INSTALL_HINT}")
        encoders, decoders = _capabilities(self.ffmpeg)
        missing = [what for what, ok in (("the libvvenc encoder", "libvvenc" in encoders),
                                         ("a vvc decoder", "vvc" in decoders)) if not ok]
        if missing:
            return Availability.no(f"{self.ffmpeg} lacks {' and '.join(missing)}; {INSTALL_HINT}")
        return Availability.yes()

    def encode(self, src_png: Path, point: Point, bitstream: Path) -> None:
        qp = self.parse_point(point)
        rgb = read_png(src_png)
        height, width = rgb.shape[:2]
        ph, pw = padded_size(height, width, MULTIPLE, MINIMUM)
        planes = rgb_to_planes(pad_edges(rgb, ph, pw), self.matrix, self.full_range)
        with scratch_dir("rdbench-vvc-") as tmp:
            raw, out = tmp / "in.yuv", tmp / "out.266"
            raw.write_bytes(b"".join(p.astype("<u2").tobytes() for p in planes))
            run_command(self.encode_command(raw, pw, ph, qp, out), timeout=self.timeout)
            stream = out.read_bytes() if out.is_file() else b""
        if not stream:
            raise CodecError(f"vvc420: ffmpeg wrote no bitstream for {src_png}",
                             command=self.encode_command(raw, pw, ph, qp, out))
        Path(bitstream).write_bytes(pack_size(width, height) + stream)

    def decode(self, bitstream: Path, out_png: Path) -> None:
        width, height, stream = unpack_size(Path(bitstream).read_bytes(), bitstream)
        ph, pw = padded_size(height, width, MULTIPLE, MINIMUM)
        with scratch_dir("rdbench-vvc-") as tmp:
            src, raw = tmp / "in.266", tmp / "out.yuv"
            src.write_bytes(stream)
            command = self.decode_command(src, raw)
            run_command(command, timeout=self.timeout)
            samples = np.fromfile(raw, dtype="<u2") if raw.is_file() else np.empty(0, "<u2")
        luma, chroma = ph * pw, (ph // 2) * (pw // 2)
        if samples.size != luma + 2 * chroma:
            raise CodecError(f"vvc420: {bitstream} decoded to {samples.size} samples, expected {luma + 2 * chroma} "
                             f"for a {pw}x{ph} yuv420p10le picture", command=command)
        planes = [samples[:luma].reshape(ph, pw),
                  samples[luma:luma + chroma].reshape(ph // 2, pw // 2),
                  samples[luma + chroma:].reshape(ph // 2, pw // 2)]
        write_png(out_png, planes_to_rgb(planes, self.matrix, self.full_range)[:height, :width])

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        example = self.points()[len(self.points()) // 2]
        info.update(
            library=_versions(self.ffmpeg) if self.available() else f"unavailable: {self.available().reason}",
            ffmpeg=self.ffmpeg, preset=self.preset, matrix=self.matrix, full_range=self.full_range,
            perceptual_qpa=self.perceptual_qpa, threads=self.threads,
            encode_command=self.encode_command(Path("in.yuv"), 768, 512, example, Path("out.266")),
            decode_command=self.decode_command(Path("in.266"), Path("out.yuv")),
            colour=f"RGB -> YCbCr {self.matrix} {'full' if self.full_range else 'limited'} range, 10-bit, rounded; "
                   "4:2:0 by 2x2 mean (centre-sited); decode: bilinear chroma upsampling, ycbcr_to_rgb rounded",
            file="4-byte size header (uint16 BE width, height) + VVC Annex-B stream of the picture padded "
                 f"by edge replication to a multiple of {MULTIPLE} (at least {MINIMUM})",
        )
        return info


def _resolve_ffmpeg(configured: str | os.PathLike | None) -> str:
    """The ffmpeg path to use (it may not exist: available() says so, run_command fails with the command)."""
    for candidate in (configured, os.environ.get("RDBENCH_FFMPEG")):
        if candidate:
            return str(candidate)
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        import shutil

        return shutil.which("ffmpeg") or "ffmpeg"


@lru_cache(maxsize=8)
def _capabilities(ffmpeg: str) -> tuple[frozenset[str], frozenset[str]]:
    """(encoder names, decoder names) that `ffmpeg` lists."""
    def names(flag: str) -> frozenset[str]:
        try:
            text = run_command([ffmpeg, "-hide_banner", flag], timeout=60).stdout
        except CodecError:
            return frozenset()
        return frozenset(m.group(1) for m in re.finditer(r"^\s*[VAS][\w.]{5}\s+(\S+)", text, re.MULTILINE))

    return names("-encoders"), names("-decoders")


@lru_cache(maxsize=8)
def _versions(ffmpeg: str) -> str:
    """'ffmpeg <version>, libvvenc <version>': vvenc reports its version when it opens (a 32x32 probe)."""
    first = run_command([ffmpeg, "-hide_banner", "-version"], timeout=60).stdout.splitlines()[0]
    with scratch_dir("rdbench-vvc-") as tmp:
        (tmp / "probe.yuv").write_bytes(bytes(32 * 32 * 3))
        probe = run_command([ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "info", "-y", "-f", "rawvideo",
                             "-pix_fmt", "yuv420p10le", "-s", "32x32", "-i", str(tmp / "probe.yuv"),
                             "-frames:v", "1", "-c:v", "libvvenc", "-preset", "faster", "-f", "vvc",
                             str(tmp / "probe.266")], timeout=60)
    match = re.search(r"libvvenc version: (\S+)", probe.stderr + probe.stdout)
    return f"{first.split(' Copyright')[0]}, libvvenc {match.group(1) if match else 'unknown version'}"
