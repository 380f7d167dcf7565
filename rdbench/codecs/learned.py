"""Learned codecs: any CompressAI ``CompressionModel`` with one weight file per rate point.

    src.png -> pad (to a multiple of 64: replicate, centred; or the model's ``padding``) -> model.compress -> .rdlc
    .rdlc   -> model.decompress -> crop -> round to uint8 -> out.png

The bitstream is a real file (``rdbench.models.format``): header + every entropy-coded stream, so the
rate is 8 x file size / (W x H), never an estimate. :meth:`LearnedCodec.estimate_bpp` gives the
likelihood estimate beside it, labelled as such.

Weights: ``<root>/<codec>/<point>.safetensors`` + ``<point>.json`` (sidecar), where ``<root>`` is the
``weights_dir`` option, else ``$RDBENCH_WEIGHTS``, else the repository's ``weights/``. The sidecar holds
architecture + kwargs, lambda(s), steps, data, notes and the sha256 of the safetensors file, which is
verified before every load. Only ``safetensors`` is read: no pickle is ever loaded from a weight file
(``rdbench learned import`` converts CompressAI's pickled checkpoints once, as an explicit user step).

Determinism: coding runs on CPU with one intra-op thread (measured: 1 vs 2 threads changes the
convolutions' float sums by ~1e-8, enough to flip a hyperprior's scale index and break decoding), in
eval mode, under no_grad. ``torch.use_deterministic_algorithms`` is not switched on: it is process-global
and changes only CUDA and scatter-style kernels, none of which these CPU paths use. The decoder
reproduces the encoder's reconstruction bit-exactly on the same machine and software stack (tested in
a fresh process); another CPU family (other SIMD kernels) or torch version is not guaranteed to.
"""

from __future__ import annotations

import importlib.util
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Iterator, Sequence

from rdbench.codecs.base import Availability, Codec, CodecError, Point
from rdbench.models.weights import (ARCHITECTURES, WeightsError, build_model, cached_model, load_model,
                                    read_sidecar, register_architecture, save_weights, weights_path,
                                    weights_root)

__all__ = ["LearnedCodec", "CompressAIZooCodec", "TreeNetCodec", "BMSHJ2018Factorized", "BMSHJ2018Hyperprior",
           "MBT2018Mean", "Cheng2020Anchor", "WeightsError", "ARCHITECTURES", "build_model", "load_model",
           "save_weights", "register_architecture", "weights_path", "weights_root", "read_sidecar"]

DEFAULT_PAD_MULTIPLE = 64
PADDINGS = ("replicate-centred", "zero-bottom-right")


@contextmanager
def coding_context(device: str = "cpu") -> Iterator[None]:
    """One intra-op thread (set per calling thread, restored after), no autograd; on ``cuda`` also
    cuDNN's deterministic kernels without autotuning (restored after)."""
    import torch

    threads = torch.get_num_threads()
    cudnn = torch.backends.cudnn
    flags = (cudnn.deterministic, cudnn.benchmark)
    torch.set_num_threads(1)
    if device != "cpu":
        cudnn.deterministic, cudnn.benchmark = True, False
    try:
        with torch.no_grad():
            yield
    finally:
        torch.set_num_threads(threads)
        cudnn.deterministic, cudnn.benchmark = flags


class LearnedCodec(Codec):
    """A CompressAI-style model as a codec; subclasses name the architecture and its kwargs per point.

    Class attributes: ``name``; ``architecture`` (a key of ``ARCHITECTURES``); ``default_points``;
    :meth:`architecture_kwargs` (the constructor keywords at a point: the weights' sidecar is what is
    loaded, this is what ``import``/``train`` build); :meth:`weights_source` (how to get weights).
    """

    point_kind = "model-index"
    architecture: ClassVar[str]

    def __init__(self, points: Sequence[Point] | None = None, weights_dir: str | os.PathLike | None = None):
        super().__init__(points)
        self.weights_dir = weights_dir

    # ------------------------------------------------------------------------------ points, weights

    def parse_point(self, text: Point) -> int:
        try:
            point = int(text)
            ok = point == float(text) and point >= 1
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"codec {self.name!r}: rate point {text!r} is not a model index; use an integer "
                             f">= 1 (default ladder: {', '.join(map(str, self.default_points))})")
        return point

    @classmethod
    def architecture_kwargs(cls, point: int) -> dict[str, Any]:
        """Constructor keywords of :attr:`architecture` at `point` (used to build a model to train/import)."""
        return {}

    @classmethod
    def build(cls, point: int):
        """A freshly initialised model for `point` (random weights: for training or format tests only)."""
        return build_model(cls.architecture, cls.architecture_kwargs(point))

    def weights_source(self, point: int) -> str:
        return f"train it with `rdbench train {self.name} --point {point}`"

    def weights_file(self, point: Point) -> Path:
        return weights_path(self.name, self.parse_point(point), self.weights_dir)

    def available(self) -> Availability:
        for module in ("torch", "compressai", "safetensors"):
            if importlib.util.find_spec(module) is None:
                return Availability.no(f"{module} is not installed; install rdbench's pinned dependencies "
                                       f"(`pip install -e .` in the rdbench checkout)")
        target = ARCHITECTURES.get(self.architecture, "")
        # The top-level package only: finding a submodule would import its package (compressai: ~10 s).
        if importlib.util.find_spec(target.partition(":")[0].split(".")[0]) is None:
            return Availability.no(f"architecture {self.architecture} ({target}) is not importable here")
        missing = [p for p in self.points()
                   if not (self.weights_file(p).is_file() and self.weights_file(p).with_suffix(".json").is_file())]
        if missing:
            consecutive = len(missing) > 1 and missing == list(range(missing[0], missing[-1] + 1))
            span = f"{missing[0]}-{missing[-1]}" if consecutive else ",".join(map(str, missing))
            return Availability.no(
                f"no weights for point {span} in {self.weights_file(missing[0]).parent}; "
                f"{self.weights_source(missing[0])}; or set RDBENCH_WEIGHTS / weights_dir to a folder with them")
        return Availability.yes()

    def coding_device(self) -> str:
        """Where the networks run ("cpu"; the ``learned`` codec may say "cuda"). Entropy coding is on the CPU."""
        return "cpu"

    def _model(self, point: int):
        model, meta = cached_model(self.name, point, self.weights_dir)
        if meta["architecture"] != self.architecture:
            raise WeightsError(f"{meta['path']}: holds a {meta['architecture']} but codec {self.name!r} is "
                               f"{self.architecture}; put {self.architecture} weights there")
        return model, meta

    @staticmethod
    def _pad_multiple(model) -> int:
        return int(getattr(model, "pad_multiple", DEFAULT_PAD_MULTIPLE))

    @classmethod
    def _offsets(cls, model, height: int, width: int) -> tuple[int, int, int, int]:
        """(top, bottom, left, right) padding of a height x width image up to the model's multiple. Models
        choose with a ``padding`` attribute: "replicate-centred" (the default) or "zero-bottom-right"."""
        m, mode = cls._pad_multiple(model), getattr(model, "padding", PADDINGS[0])
        if mode not in PADDINGS:
            raise CodecError(f"{type(model).__name__}.padding = {mode!r}; choose one of {', '.join(PADDINGS)}")
        ph, pw = -height % m, -width % m
        top, left = (ph // 2, pw // 2) if mode == "replicate-centred" else (0, 0)
        return top, ph - top, left, pw - left

    @classmethod
    def _padded(cls, model, rgb):
        import numpy as np

        top, bottom, left, right = cls._offsets(model, *rgb.shape[:2])
        mode = "edge" if getattr(model, "padding", PADDINGS[0]) == "replicate-centred" else "constant"
        return np.pad(rgb, ((top, bottom), (left, right), (0, 0)), mode=mode)

    # --------------------------------------------------------------------------------------- coding

    def encode(self, src_png: Path, point: Point, bitstream: Path) -> None:
        from rdbench.images import read_png, to_tensor
        from rdbench.models import format as fmt

        point = self.parse_point(point)
        model, meta = self._model(point)
        rgb = read_png(src_png)
        height, width = rgb.shape[:2]
        x = to_tensor(self._padded(model, rgb)).to(self.coding_device())
        with coding_context(self.coding_device()):
            out = model.compress(x)
        fmt.write(bitstream, fmt.LearnedBitstream(
            model=self.name, point=point, fingerprint=bytes.fromhex(meta["sha256"])[:fmt.FINGERPRINT_BYTES],
            width=width, height=height, shape=out["shape"], strings=out["strings"]))

    def decode(self, bitstream: Path, out_png: Path) -> None:
        from rdbench.images import from_tensor, write_png
        from rdbench.models import format as fmt

        bs = fmt.read(bitstream)
        if bs.model != self.name:
            raise CodecError(f"{bitstream} was written by learned codec {bs.model!r}, but this is {self.name!r}; "
                             f"decode it with codec {bs.model!r}")
        model, meta = self._model(bs.point)
        expected = bytes.fromhex(meta["sha256"])[:fmt.FINGERPRINT_BYTES]
        if bs.fingerprint != expected:
            raise CodecError(
                f"{bitstream} was encoded by {bs.model} point {bs.point} with weights whose sha256 starts "
                f"{bs.fingerprint.hex()}, but {meta['path']} has sha256 {meta['sha256'][:16]}...; decode with the "
                "weights that encoded it (or re-encode with these)")
        m = self._pad_multiple(model)
        ph, pw = -(-bs.height // m) * m, -(-bs.width // m) * m
        with coding_context(self.coding_device()):
            try:
                x_hat = model.decompress(bs.strings, bs.shape)["x_hat"]
            except (ValueError, IndexError, RuntimeError, TypeError) as exc:
                raise CodecError(f"{bitstream}: {bs.model} point {bs.point} cannot decompress these streams "
                                 f"({type(exc).__name__}: {exc})") from exc
        if tuple(x_hat.shape[-2:]) != (ph, pw):
            raise CodecError(f"{bitstream}: decoded {tuple(x_hat.shape[-2:])} pixels, expected {(ph, pw)} for a "
                             f"{bs.width}x{bs.height} image padded to a multiple of {m}; the shape field is corrupt")
        top, _, left, _ = self._offsets(model, bs.height, bs.width)
        write_png(out_png, from_tensor(x_hat[..., top:top + bs.height, left:left + bs.width]))

    def estimate_bpp(self, src_png: Path, point: Point) -> float:
        """Estimated bits per pixel from the model's likelihoods (sum of -log2 p over all latents / (W x H)).

        An estimate, not a rate: no header, no entropy-coder overhead, no escape codes. Report it only
        labelled as estimated, beside the real bpp of the file."""
        import torch

        from rdbench.images import read_png, to_tensor

        model, _ = self._model(self.parse_point(point))
        rgb = read_png(src_png)
        x = to_tensor(self._padded(model, rgb)).to(self.coding_device())
        with coding_context(self.coding_device()):
            likelihoods = model(x)["likelihoods"]
        bits = sum(float(-torch.log2(p).sum()) for p in likelihoods.values())
        return bits / (rgb.shape[0] * rgb.shape[1])

    def describe(self) -> dict[str, Any]:
        from importlib.metadata import version

        from rdbench.models.format import MAGIC, VERSION

        weights = {}
        for p in self.points():
            path = self.weights_file(p)
            try:
                meta = read_sidecar(path)
            except WeightsError as exc:
                weights[str(p)] = {"path": str(path), "missing": str(exc)}
                continue
            weights[str(p)] = {k: meta[k] for k in ("path", "sha256", "architecture", "kwargs") if k in meta}
            weights[str(p)].update({k: v for k, v in meta.items() if k.startswith("lambda")
                                    or k in ("steps", "data", "source", "notes")})
        return {
            **super().describe(),
            "architecture": self.architecture,
            "weights_root": str(weights_root(self.weights_dir)),
            "weights": weights,
            "torch": version("torch"), "compressai": version("compressai"),
            "device": "cpu", "intra_op_threads": 1,
            "padding": f"to the model's pad_multiple (default {DEFAULT_PAD_MULTIPLE}): replicate, centred, unless the "
                       "model's padding says zero-bottom-right (LoC-LIC); cropped",
            "bitstream": f"{MAGIC.decode()} v{VERSION} (rdbench.models.format): header + every entropy-coded stream",
            "rate": "real: 8 x file size / (W x H); likelihood-estimated bpp is reported only labelled 'estimated'",
            "reconstruction": "x_hat clamped to [0, 1], x 255, rounded to uint8 (rdbench.images.from_tensor)",
        }


# ------------------------------------------------------------------------------------------ codecs


class TreeNetCodec(LearnedCodec):
    """TreeNet (rdbench.models.treenet) at the paper's four (lambda1, lambda2) pairs, point 1 = lowest rate.

    Weights come from ``rdbench train treenet --point K``; the sidecar records the lambdas used."""

    name = "treenet"
    architecture = "TreeNet"
    default_points = (1, 2, 3, 4)

    @classmethod
    def architecture_kwargs(cls, point: int) -> dict[str, Any]:
        return {"N": 32, "M": 32, "fusion": "iaff", "r": 4, "gs_layout": "lattice432"}


class CompressAIZooCodec(LearnedCodec):
    """A CompressAI zoo architecture with the zoo's N/M per quality (``compressai.zoo.image.cfgs``),
    MSE-optimised. Weights are CompressAI's published checkpoints, converted once with
    ``rdbench learned import``, or models trained here with ``rdbench train``."""

    default_points = tuple(range(1, 9))
    kwarg_names: ClassVar[tuple[str, ...]] = ("N", "M")

    @classmethod
    def architecture_kwargs(cls, point: int) -> dict[str, Any]:
        from compressai.zoo.image import cfgs

        if point not in cfgs[cls.name]:
            raise ValueError(f"codec {cls.name!r} has no zoo configuration for point {point}; "
                             f"choose one of {', '.join(map(str, sorted(cfgs[cls.name])))}")
        return dict(zip(cls.kwarg_names, cfgs[cls.name][point]))

    @classmethod
    def published_url(cls, point: int) -> str | None:
        """The URL of CompressAI's published MSE checkpoint at `point` (imports compressai), if any."""
        from compressai.zoo.image import model_urls

        return model_urls.get(cls.name, {}).get("mse", {}).get(point)

    def weights_source(self, point: int) -> str:
        # No URL here: it lives in compressai, whose import would make `rdbench codecs` take seconds.
        return (f"download CompressAI's published checkpoint ({self.name} quality {point}; `rdbench learned list` "
                f"prints its URL) and run `rdbench learned import {self.name} {point} FILE`, or "
                + super().weights_source(point))


class BMSHJ2018Factorized(CompressAIZooCodec):
    """Ballé et al. 2018, factorized prior (CompressAI ``FactorizedPrior``)."""

    name = "bmshj2018-factorized"
    architecture = "FactorizedPrior"


class BMSHJ2018Hyperprior(CompressAIZooCodec):
    """Ballé et al. 2018, scale hyperprior (CompressAI ``ScaleHyperprior``)."""

    name = "bmshj2018-hyperprior"
    architecture = "ScaleHyperprior"


class MBT2018Mean(CompressAIZooCodec):
    """Minnen et al. 2018, mean-scale hyperprior without context model (CompressAI ``MeanScaleHyperprior``)."""

    name = "mbt2018-mean"
    architecture = "MeanScaleHyperprior"


class Cheng2020Anchor(CompressAIZooCodec):
    """Cheng et al. 2020, anchor (residual blocks, autoregressive context; CompressAI ``Cheng2020Anchor``).
    Its entropy coding runs a per-position loop on CPU: slow on large images."""

    name = "cheng2020-anchor"
    architecture = "Cheng2020Anchor"
    default_points = tuple(range(1, 7))
    kwarg_names = ("N",)
