"""VTM, the VVC (H.266) reference encoder, all-intra, 4:4:4 10-bit: an anchor of the TreeNet paper.

**Not run here.** VTM cannot be installed from a package registry and is absent on the machines
this adapter was written on: its tests drive a stand-in script (``tests/standins/``) that honours
the same command line. The colour path (RGB <-> YCbCr 10-bit) and the SPS parser are tested for
real (all 24 Kodak images; a real VVC bitstream from libvvenc).

Pipeline::

    src.png --(BT.709 full range, rounded)--> Y,Cb,Cr 4:4:4 10-bit planar LE  (rdbench writes it)
      --EncoderApp--> .bin (Annex B; its SPS carries width/height and the conformance window)
      --DecoderApp--> 10-bit YUV 4:4:4 --(rounded)--> 8-bit RGB PNG

Commands (``PROG`` found as EncoderApp or EncoderAppStatic, DecoderApp or DecoderAppStatic)::

    EncoderApp -c CFG -i IN.yuv -b OUT.bin -o /dev/null --SourceWidth=W --SourceHeight=H
        --FrameRate=1 --FramesToBeEncoded=1 --InputBitDepth=10 --InternalBitDepth=10
        --OutputBitDepth=10 --InputChromaFormat=444 --ChromaFormatIDC=444
        --ConformanceWindowMode=1 --QP=QP [EXTRA_ARGS...]
    DecoderApp -b IN.bin -o OUT.yuv -d 10

CFG is the all-intra configuration ``cfg/encoder_intra_vtm.cfg`` of the VTM checkout; options on the
command line override it (VTM reads arguments in order). ``--ConformanceWindowMode=1`` pads to the
minimum CU size and signals the crop, so any W x H works; DecoderApp writes the cropped picture.
The YUV files carry no size: the decoder side takes W x H from the bitstream's SPS (parsed here),
so decoding needs nothing but the .bin file. One 512x512 image takes VTM 40-120 s per QP.

Finding it: ``bin_dir`` option, else ``$RDBENCH_VTM_DIR``, else PATH; ``cfg`` option, else
``$RDBENCH_VTM_CFG``, else ``<bin_dir>/../cfg/encoder_intra_vtm.cfg``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from rdbench.datasets import sha256_file
from rdbench import images
from rdbench.codecs.base import Availability, Codec, CodecError, Point, find_program, run_command, scratch_dir

BITS = 10
INSTALL_HINT = ("build VTM from https://vcgit.hhi.fraunhofer.de/jvet/VVCSoftware_VTM (JVET GitLab; "
                "`cmake -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j`) and set "
                "RDBENCH_VTM_DIR to its bin/ folder and RDBENCH_VTM_CFG to cfg/encoder_intra_vtm.cfg "
                "(or the codec options bin_dir and cfg)")
ENCODERS, DECODERS = ("EncoderApp", "EncoderAppStatic"), ("DecoderApp", "DecoderAppStatic")


class VTM(Codec):
    """VTM all-intra at a ladder of QPs (47 ... 22: ascending rate)."""

    name = "vtm"
    point_kind = "qp"
    default_points = (47, 42, 37, 32, 27, 22)

    def __init__(self, points: Sequence[Point] | None = None, bin_dir: str | os.PathLike | None = None,
                 cfg: str | os.PathLike | None = None, matrix: str = "bt709", timeout: float = 1800,
                 extra_args: Sequence[str] = ()):
        super().__init__(points)
        _check_descending(self.points())
        if matrix not in images.MATRICES:
            raise ValueError(f"vtm: unknown matrix {matrix!r}; choose one of {', '.join(images.MATRICES)}")
        if not timeout > 0:
            raise ValueError(f"vtm: timeout must be > 0 seconds, got {timeout!r}")
        for arg in extra_args:
            _check_extra_arg(arg)
        self.matrix, self.timeout, self.extra_args = matrix, float(timeout), list(extra_args)
        bin_dir = bin_dir or None
        self.encoder = _first(find_program(n, bin_dir, "RDBENCH_VTM_DIR") for n in ENCODERS)
        self.decoder = _first(find_program(n, bin_dir, "RDBENCH_VTM_DIR") for n in DECODERS)
        self.cfg = _find_cfg(cfg, self.encoder)
        self._hashes: dict[str, str] | None = None

    def parse_point(self, text: Point) -> Point:
        qp = super().parse_point(text)
        if not (isinstance(qp, int) or (isinstance(qp, float) and qp.is_integer())) or not 0 <= qp <= 63:
            raise ValueError(f"vtm: QP must be an integer in 0..63, got {text!r}")
        return int(qp)

    def available(self) -> Availability:
        if self.encoder is None or self.decoder is None:
            missing = " and ".join(f"{a} (or {b})" for (a, b), p in ((ENCODERS, self.encoder),
                                                                    (DECODERS, self.decoder)) if p is None)
            return Availability.no(f"{missing} not found (bin_dir option, $RDBENCH_VTM_DIR, PATH); {INSTALL_HINT}")
        if self.cfg is None or not self.cfg.is_file():
            where = self.cfg or "cfg option, $RDBENCH_VTM_CFG, <bin_dir>/../cfg/"
            return Availability.no(f"VTM configuration encoder_intra_vtm.cfg not found ({where}); {INSTALL_HINT}")
        return Availability.yes()

    def encode(self, src_png: Path, point: Point, bitstream: Path) -> None:
        self._require()
        rgb = images.read_png(src_png)
        height, width = rgb.shape[:2]
        with scratch_dir("rdbench-vtm-") as tmp:
            yuv, out = tmp / "in.yuv", tmp / "out.bin"
            yuv.write_bytes(rgb_to_yuv444(rgb, self.matrix))
            command = self.encode_command(yuv, out, width, height, int(point))
            run_command(command, timeout=self.timeout)
            if not out.is_file() or out.stat().st_size == 0:
                raise CodecError(f"EncoderApp wrote no bitstream {out}", command=command)
            try:
                size = vvc_picture_size(out.read_bytes())
            except ValueError as exc:
                raise CodecError(f"EncoderApp output {out} is not a VVC bitstream: {exc}", command=command) from exc
            if size != (width, height, 3):
                raise CodecError(f"EncoderApp output {out} signals {size[0]}x{size[1]} chroma_format_idc "
                                 f"{size[2]}, expected {width}x{height} 4:4:4 (3)", command=command)
            shutil.move(out, bitstream)

    def decode(self, bitstream: Path, out_png: Path) -> None:
        self._require()
        try:
            width, height, chroma = vvc_picture_size(Path(bitstream).read_bytes())
        except ValueError as exc:
            raise CodecError(f"{bitstream} is not a VVC bitstream: {exc}") from exc
        if chroma != 3:
            raise CodecError(f"{bitstream}: chroma_format_idc {chroma}, expected 3 (4:4:4) as vtm encodes")
        with scratch_dir("rdbench-vtm-") as tmp:
            yuv = tmp / "out.yuv"
            command = [self.decoder, "-b", Path(bitstream), "-o", yuv, "-d", str(BITS)]
            run_command(command, timeout=self.timeout)
            expected = width * height * 3 * 2
            if not yuv.is_file() or yuv.stat().st_size != expected:
                got = yuv.stat().st_size if yuv.is_file() else "no file"
                raise CodecError(f"DecoderApp output {yuv}: {got} bytes, expected {expected} "
                                 f"({width}x{height} 4:4:4 16-bit samples)", command=command)
            try:
                rgb = yuv444_to_rgb(yuv.read_bytes(), width, height, self.matrix)
            except ValueError as exc:
                raise CodecError(f"DecoderApp output {yuv} is not {BITS}-bit YUV: {exc}", command=command) from exc
        images.write_png(out_png, rgb)

    def encode_command(self, yuv: Path, out: Path, width: int, height: int, qp: int) -> list[str | os.PathLike]:
        """The EncoderApp argument list (see the module docstring)."""
        return [self.encoder, "-c", self.cfg, "-i", yuv, "-b", out, "-o", os.devnull,
                f"--SourceWidth={width}", f"--SourceHeight={height}", "--FrameRate=1", "--FramesToBeEncoded=1",
                f"--InputBitDepth={BITS}", f"--InternalBitDepth={BITS}", f"--OutputBitDepth={BITS}",
                "--InputChromaFormat=444", "--ChromaFormatIDC=444", "--ConformanceWindowMode=1",
                f"--QP={qp}", *self.extra_args]

    def describe(self) -> dict[str, Any]:
        if self._hashes is None and self.available():
            self._hashes = {str(p): sha256_file(p) for p in (self.encoder, self.decoder, self.cfg)}
        return {**super().describe(), "tool": "VTM (VVC reference software), all intra",
                "programs": {"encoder": self.encoder, "decoder": self.decoder, "cfg": str(self.cfg)},
                "sha256": self._hashes or {}, "timeout_s": self.timeout,
                "encode": "EncoderApp -c CFG -i IN.yuv -b OUT.bin -o /dev/null --SourceWidth=W --SourceHeight=H "
                          "--FrameRate=1 --FramesToBeEncoded=1 --InputBitDepth=10 --InternalBitDepth=10 "
                          "--OutputBitDepth=10 --InputChromaFormat=444 --ChromaFormatIDC=444 "
                          "--ConformanceWindowMode=1 --QP=QP " + " ".join(self.extra_args),
                "decode": "DecoderApp -b IN.bin -o OUT.yuv -d 10",
                "colour": f"RGB8 -> YCbCr {self.matrix} full range 4:4:4 {BITS}-bit, rounded, planar 16-bit LE "
                          "(rdbench.images); decoded YUV -> RGB8 rounded"}

    def _require(self) -> None:
        if not (status := self.available()):
            raise CodecError(f"vtm is not available: {status.reason}")


# Options the adapter sets for every picture: overriding one breaks the round trip (the decoder's
# size, bit depth or chroma format would no longer be those rdbench writes and reads back).
FIXED_OPTIONS = ("InputFile", "BitstreamFile", "ReconFile", "SourceWidth", "SourceHeight", "FrameRate",
                 "FramesToBeEncoded", "InputBitDepth", "InternalBitDepth", "OutputBitDepth", "InputChromaFormat",
                 "ChromaFormatIDC", "ConformanceWindowMode", "QP")


def _check_extra_arg(arg: str) -> None:
    """Refuse, before any encode, an extra EncoderApp option that cannot work with this adapter."""
    if not (isinstance(arg, str) and arg.startswith("--") and "=" in arg):
        raise ValueError(f"vtm: extra_args entries must look like '--Name=value' (e.g. '--Level=6.2'), got {arg!r}")
    name, value = arg[2:].split("=", 1)
    if name in FIXED_OPTIONS:
        raise ValueError(f"vtm: extra_args {arg!r} overrides --{name}, which the adapter sets for every picture "
                         f"({'the rate point' if name == 'QP' else 'size, bit depth, chroma format or files'}); "
                         "remove it")
    if name == "Profile" and "444" not in value and value not in ("auto", "none"):
        raise ValueError(f"vtm: extra_args {arg!r}: profile {value} has no 4:4:4, which this adapter codes "
                         "(VTM would encode, then its decoder fail); use a 444 profile such as "
                         "main_10_444_still_picture, or auto")


# ------------------------------------------------------------------------------------ colour path


def rgb_to_yuv444(rgb: np.ndarray, matrix: str = "bt709") -> bytes:
    """HxWx3 uint8 RGB -> raw Y, Cb, Cr planes, 10-bit full range, rounded, 16-bit little-endian."""
    ycc = images.rgb_to_ycbcr(rgb, matrix, bits=BITS)
    return np.ascontiguousarray(ycc.transpose(2, 0, 1)).astype("<u2").tobytes()


def yuv444_to_rgb(data: bytes, width: int, height: int, matrix: str = "bt709") -> np.ndarray:
    """Raw planar 4:4:4 10-bit (16-bit LE samples) -> HxWx3 uint8 RGB, rounded; ValueError if malformed."""
    if len(data) != width * height * 3 * 2:
        raise ValueError(f"{len(data)} bytes, expected {width * height * 6} for {width}x{height}")
    planes = np.frombuffer(data, dtype="<u2").reshape(3, height, width)
    if (top := int(planes.max())) >= 1 << BITS:
        raise ValueError(f"sample value {top} exceeds {(1 << BITS) - 1}")
    return images.ycbcr_to_rgb(planes.transpose(1, 2, 0), matrix, bits=BITS)


# ------------------------------------------------------------------- VVC sequence parameter set

SPS_NUT = 15  # nal_unit_type of a sequence parameter set (H.266 Table 5)


def vvc_picture_size(stream: bytes) -> tuple[int, int, int]:
    """(width, height, chroma_format_idc) of the first SPS of an Annex B VVC stream, after cropping.

    Follows H.266 7.3.2.4 up to the conformance window; offsets are in chroma sample units
    (SubWidthC, SubHeightC). With one picture size (no reference picture resampling, as VTM's
    all-intra cfg) the PPS inherits this window and DecoderApp crops to it. Raises ValueError
    when the stream holds no parsable SPS.
    """
    for nal in _nal_units(stream):
        if len(nal) > 2 and (nal[1] >> 3) == SPS_NUT:
            try:
                return _parse_sps(_Bits(_unescape(nal[2:])))
            except IndexError:
                raise ValueError("SPS is truncated") from None
    raise ValueError("no sequence parameter set (NAL unit type 15) found")


def _parse_sps(r: "_Bits") -> tuple[int, int, int]:
    r.u(8)  # sps_seq_parameter_set_id, sps_video_parameter_set_id
    max_sublayers_minus1, chroma = r.u(3), r.u(2)
    r.u(2)  # sps_log2_ctu_size_minus5
    if r.u(1):  # sps_ptl_dpb_hrd_params_present_flag -> profile_tier_level(1, max_sublayers_minus1)
        r.u(7 + 1 + 8 + 1 + 1)  # profile_idc, tier, level_idc, frame_only, multilayer
        if r.u(1):  # gci_present_flag: 71 constraint bits, then gci_num_additional_bits and those bits
            r.u(71)
            r.u(r.u(8))
        r.align()
        present = [r.u(1) for _ in range(max_sublayers_minus1)]
        r.align()
        r.u(8 * sum(present))  # sublayer_level_idc
        r.u(32 * r.u(8))  # ptl_num_sub_profiles, general_sub_profile_idc
    r.u(1)  # sps_gdr_enabled_flag
    if r.u(1):  # sps_ref_pic_resampling_enabled_flag
        r.u(1)  # sps_res_change_in_clvs_allowed_flag
    width, height = r.ue(), r.ue()
    if r.u(1):  # sps_conformance_window_flag
        left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
        sub_w, sub_h = {0: (1, 1), 1: (2, 2), 2: (2, 1), 3: (1, 1)}[chroma]
        width -= sub_w * (left + right)
        height -= sub_h * (top + bottom)
    if width <= 0 or height <= 0:
        raise ValueError(f"SPS gives a {width}x{height} picture")
    return width, height, chroma


def _nal_units(stream: bytes) -> Iterator[bytes]:
    """The NAL units of an Annex B byte stream (split at 0x000001 start codes)."""
    starts = []
    i = stream.find(b"\x00\x00\x01")
    while i >= 0:
        starts.append(i + 3)
        i = stream.find(b"\x00\x00\x01", i + 3)
    for begin, end in zip(starts, starts[1:] + [len(stream) + 3]):
        yield stream[begin:end - 3].rstrip(b"\x00")


def _unescape(payload: bytes) -> bytes:
    """Remove emulation-prevention bytes (0x000003 -> 0x0000)."""
    return payload.replace(b"\x00\x00\x03", b"\x00\x00")


class _Bits:
    """MSB-first bit reader with u(n) and ue(v) as in H.266 clause 9.2."""

    def __init__(self, data: bytes):
        self.bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
        self.pos = 0

    def u(self, n: int) -> int:
        if self.pos + n > len(self.bits):
            raise IndexError("read past the end")
        value = 0
        for bit in self.bits[self.pos:self.pos + n]:
            value = (value << 1) | int(bit)
        self.pos += n
        return value

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("invalid exp-Golomb code")
        return (1 << zeros) - 1 + self.u(zeros)

    def align(self) -> None:
        self.pos += -self.pos % 8


# ---------------------------------------------------------------------------------------- helpers


def _check_descending(qps: list) -> None:
    if any(a <= b for a, b in zip(qps, qps[1:])):
        raise ValueError(f"vtm: QPs must be strictly decreasing (ascending rate), got {qps}; "
                         f"e.g. [47, 42, 37, 32, 27, 22]")


def _first(paths: Iterator[str | None]) -> str | None:
    return next((p for p in paths if p), None)


def _find_cfg(cfg: str | os.PathLike | None, encoder: str | None) -> Path | None:
    if cfg or os.environ.get("RDBENCH_VTM_CFG"):
        return Path(cfg or os.environ["RDBENCH_VTM_CFG"]).expanduser()
    if encoder:
        guess = Path(encoder).resolve().parent.parent / "cfg" / "encoder_intra_vtm.cfg"
        return guess if guess.is_file() else None
    return None
