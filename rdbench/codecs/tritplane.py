"""Trit-plane codecs (``dpict``, ``ctc``, ``atc``): one weight file, one bitstream, every point a prefix.

    src.png -> pad to 64 (replicate, centred) -> TritPlaneNet.compress -> .trit (tritformat.py)
    .trit[:offset(point)] -> decompress the chunks present -> [CDR] -> g_s -> crop -> out.png

Rate points are truncation labels that do not depend on the image: ``"lsb-k@f"`` is "after fraction f
(0 < f <= 1) of the chunks of the k-th least significant plane" (``ceil(f x K)`` of its K chunks, after
every chunk of the planes above it; a plane the image does not have gives the header alone) and
``"full"`` is the whole stream. Points are listed in ascending rate: k descending, then f ascending.

Weights: ``<root>/<codec>/1.safetensors`` + ``1.json`` (one model serves every rate: DPICT trains the
main net once, at λ = 0.2). None are published in a form this harness loads and none are committed;
``rdbench train <codec> --point 1`` trains the main net. ``atc`` is "ATC (rdbench reading)".
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any, ClassVar, Sequence

from rdbench import atomic
from rdbench.codecs.base import Availability, CodecError, Point, ProgressiveCodec, point_label
from rdbench.codecs.learned import DEFAULT_PAD_MULTIPLE, LearnedCodec, coding_context
from rdbench.models.weights import WeightsError, cached_model, read_sidecar, register_architecture, weights_path

register_architecture("TritPlaneNet", "rdbench.models.tritnet:TritPlaneNet")

_LABEL = re.compile(r"lsb-(\d+)@(\d*\.?\d+)$")
DEFAULT_POINTS = tuple(f"lsb-{k}@{f}" for k in range(4, -1, -1) for f in ("0.5", "1"))
GRID_25 = tuple(f"lsb-{k}@{f}" for k in range(4, -1, -1) for f in ("0.2", "0.4", "0.6", "0.8", "1"))
MODEL_POINT = 1  # the weight file's index: one model for every truncation point


def truncation_key(label: str) -> tuple[float, float]:
    """Sort key of a truncation label in ascending rate; ValueError names the label's form."""
    if label == "full":
        return (math.inf, 0.0)
    m = _LABEL.match(label)
    if not m or not 0 < float(m.group(2)) <= 1:
        raise ValueError(f"truncation point {label!r}: write 'lsb-K@F' (K >= 0 the plane counted from the least "
                         "significant, 0 < F <= 1 the fraction of its chunks) or 'full'")
    return (-int(m.group(1)), float(m.group(2)))


def chunks_at(label: str, schedule: Sequence[Sequence[int]]) -> int:
    """How many chunks the prefix of `label` holds, for a latent's chunk schedule (planes, MSB first)."""
    if label == "full":
        return sum(len(s) for s in schedule)
    k, f = (-truncation_key(label)[0], truncation_key(label)[1])
    plane = len(schedule) - 1 - int(k)
    if plane < 0:
        return 0
    return sum(len(s) for s in schedule[:plane]) + max(1, math.ceil(f * len(schedule[plane]) - 1e-9))


class TritPlaneCodec(ProgressiveCodec):
    """A trit-plane progressive codec at one preset (see the module docstring)."""

    name: ClassVar[str]
    preset: ClassVar[str]
    label: ClassVar[str]
    architecture = "TritPlaneNet"
    default_points = DEFAULT_POINTS
    training_points = (MODEL_POINT,)  # `rdbench train <codec> --point 1`: the one model
    lambdas: ClassVar[dict[int, tuple[float, float]]] = {MODEL_POINT: (0.2, 0.0)}  # DPICT: λ 255² MSE + bpp, λ = 0.2

    def __init__(self, points: Sequence[Point] | None = None, weights_dir: str | os.PathLike | None = None):
        super().__init__(points)
        keys = [truncation_key(p) for p in self._points]
        if keys != sorted(keys) or len(set(keys)) != len(keys):
            raise ValueError(f"codec {self.name!r}: points {self._points} must be distinct and in ascending rate "
                             "(K descending, then F ascending; 'full' last)")
        self.weights_dir = weights_dir

    def parse_point(self, text: Point) -> str:
        label = point_label(text) if not isinstance(text, str) else text
        truncation_key(label)
        return label

    @classmethod
    def architecture_kwargs(cls, point: int = MODEL_POINT) -> dict[str, Any]:
        return {"preset": cls.preset, "N": 192}

    @classmethod
    def build(cls, point: int = MODEL_POINT):
        from rdbench.models.weights import build_model

        return build_model(cls.architecture, cls.architecture_kwargs(point))

    def weights_file(self, point: Point = MODEL_POINT) -> Path:
        return weights_path(self.name, MODEL_POINT, self.weights_dir)

    def weights_source(self, point: int = MODEL_POINT) -> str:
        size = {"dpict": "27 M", "ctc": "399 M", "atc": "444 M"}[self.preset]
        return (f"no {self.label} weights are published in a form rdbench loads; train the main net with "
                f"`rdbench train {self.name} --point 1` (λ = 0.2; {size} parameters at N = 192: a GPU run)"
                + ("" if self.preset == "dpict" else "; rdbench train does not run the CRR/CDR stages "
                   "(rdbench.training.tritplane has their losses) or retrain g_s yet: those stay at their initial weights"))

    def available(self) -> Availability:
        import importlib.util

        for module in ("torch", "compressai", "safetensors", "scipy"):
            if importlib.util.find_spec(module) is None:
                return Availability.no(f"{module} is not installed; install rdbench's pinned dependencies")
        path = self.weights_file()
        if not (path.is_file() and path.with_suffix(".json").is_file()):
            return Availability.no(f"no weights in {path.parent} ({path.name} + {path.with_suffix('.json').name}); "
                                   f"{self.weights_source()}; or set RDBENCH_WEIGHTS / weights_dir to a folder with them")
        return Availability.yes()

    def _model(self):
        model, meta = cached_model(self.name, MODEL_POINT, self.weights_dir)
        if meta["architecture"] != self.architecture or model.preset != self.preset:
            raise WeightsError(f"{meta['path']}: holds a {meta['architecture']} preset {getattr(model, 'preset', '?')!r}"
                               f" but codec {self.name!r} is {self.architecture} preset {self.preset!r}")
        return model, meta

    def _tag(self, model, meta) -> bytes:
        from rdbench.models.tritformat import options_hash

        return options_hash({"codec": self.name, "weights": meta["sha256"], **model.coding_options()})

    # --------------------------------------------------------------------------------------- coding

    def encode_stream(self, src_png: Path, bitstream: Path) -> dict[str, int]:
        from rdbench.images import read_png, to_tensor
        from rdbench.models.tritformat import TritFile

        model, meta = self._model()
        rgb = read_png(src_png)
        height, width = rgb.shape[:2]
        with coding_context():
            out = model.compress(to_tensor(LearnedCodec._padded(model, rgb)))
        data, offsets = TritFile(self._tag(model, meta), height, width, out["z_shape"], out["z_string"],
                                 out["chunks"]).to_bytes()
        atomic.write_bytes(bitstream, data)
        schedule = out["plan"].schedule
        return {p: offsets[chunks_at(p, schedule)] for p in self.points()}

    def chunk_offsets(self, bitstream: Path) -> list[int]:
        """Bytes of the prefix holding k chunks, for every k of a full file (each is a truncation point)."""
        from rdbench.models.tritformat import TritFile

        return TritFile.from_bytes(Path(bitstream).read_bytes()).to_bytes()[1]

    def decode(self, bitstream: Path, out_png: Path) -> None:
        from rdbench.images import from_tensor, write_png
        from rdbench.models.format import FormatError
        from rdbench.models.tritformat import TritFile

        try:
            f = TritFile.from_bytes(Path(bitstream).read_bytes())
        except FormatError as exc:
            raise CodecError(f"{bitstream}: {exc}") from None
        model, meta = self._model()
        if f.tag != self._tag(model, meta):
            raise CodecError(f"{bitstream}: its options hash {f.tag.hex()} does not match codec {self.name!r} with "
                             f"the weights in {meta['path']}; decode with the codec and weights that encoded it")
        with coding_context():
            try:
                x_hat = model.decompress(f.z_string, f.z_shape, f.chunks)["x_hat"]
            except (ValueError, RuntimeError) as exc:
                raise CodecError(f"{bitstream}: cannot decode its {len(f.chunks)} chunks ({exc})") from exc
        m = getattr(model, "pad_multiple", DEFAULT_PAD_MULTIPLE)
        if tuple(x_hat.shape[-2:]) != (-(-f.height // m) * m, -(-f.width // m) * m):
            raise CodecError(f"{bitstream}: decoded {tuple(x_hat.shape[-2:])} pixels for a {f.width}x{f.height} "
                             "image; the size fields are corrupt")
        top, _, left, _ = LearnedCodec._offsets(model, f.height, f.width)
        write_png(out_png, from_tensor(x_hat[..., top:top + f.height, left:left + f.width]))

    def describe(self) -> dict[str, Any]:
        from importlib.metadata import version

        path = self.weights_file()
        try:
            meta = read_sidecar(path)
            weights = {k: meta[k] for k in ("path", "sha256", "architecture", "kwargs") if k in meta}
        except WeightsError as exc:
            weights = {"path": str(path), "missing": str(exc)}
        return {**super().describe(), "label": self.label, "preset": self.preset, "architecture": self.architecture,
                "weights": weights, "torch": version("torch"), "compressai": version("compressai"),
                "device": "cpu", "intra_op_threads": 1,
                "bitstream": "TRIT v1 (rdbench.models.tritformat): header + ẑ + rANS chunks; every point a prefix",
                "rate": "real: 8 x prefix bytes / (W x H) of one encode per image",
                "truncation": "lsb-K@F: ceil(F x chunks) of plane K from the least significant, after the planes "
                              "above it; full: every chunk"}


class DPICTCodec(TritPlaneCodec):
    """DPICT (Lee et al. CVPR 2022): RD-ordered last 6 planes, no RR/DR, the main net's g_s."""

    name, preset, label = "dpict", "dpict", "DPICT"


class CTCCodec(TritPlaneCodec):
    """CTC (Jeon et al. CVPR 2023): CRR x3 and CDR x3 with residual trunks, retrained g_s."""

    name, preset, label = "ctc", "ctc", "CTC"


class ATCCodec(TritPlaneCodec):
    """ATC (rdbench reading): CTC with Cheng's simplified attention in the CRR and CDR trunks."""

    name, preset, label = "atc", "atc", "ATC (rdbench reading)"
