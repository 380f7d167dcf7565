"""Codec ``learned``: any CompressAI-style model class with the user's own safetensors checkpoint(s).

    rdbench run --codec learned --model pkg.module:Class --kwargs N=128,M=192 --weights FILE [--point K]

    codecs:                                   # the same in a workflow config
      learned:
        model: pkg.module:Class               # or path/to/file.py:Class
        kwargs: {N: 128, M: 192}              # the class's constructor keywords
        weights: {1: q1.safetensors, 2: q2.safetensors}   # or one file (its point: `points: [K]`, else 1)
        device: cpu                           # or cuda (the networks; entropy coding stays on the CPU)

The class is built as ``Class(**kwargs)`` and must be a ``torch.nn.Module`` with CompressAI's
``compress(x) -> {"strings", "shape"}``, ``decompress(strings, shape) -> {"x_hat"}`` and ``update(force=)``
(any ``compressai.models.CompressionModel`` subclass, custom ones included). Each file is read directly
with safetensors (nothing is copied, nothing unpickled), its sha256 taken, NaN/inf refused, and the
state dict loaded strictly. A file without CDF tables (saved before ``update()``) gets them from
``update(force=True)`` at load, as CompressAI's own evaluation does; the manifest says which.
A pickled checkpoint (``.pth.tar``) is refused here: ``rdbench learned convert`` turns it into
safetensors once, as an explicit step that executes pickle (for your own files only).

Provenance (every cell's manifest, via :meth:`describe`): the class, its kwargs and per point the
file's path and sha256, labelled as the user's checkpoint. rdbench knows nothing else about it
(training data, lambda), so it claims nothing else.

Devices: ``cpu`` (default) codes with one intra-op thread, bit-exact between encoder and decoder on
the same machine and software stack (see :mod:`rdbench.codecs.learned`). ``cuda`` runs the analysis,
synthesis and hyper networks on the GPU with cuDNN's deterministic kernels; CompressAI's range coder
runs on the CPU either way. Encoder and decoder then run on the same GPU. Whether a bitstream encoded
on one device decodes on another is not guaranteed (the hyperprior's scale indices come from float
sums that differ between devices) and is untested here: these machines have no GPU.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import threading
from pathlib import Path
from typing import Any, Literal, Sequence

from rdbench.codecs.base import Availability, Codec, Point
from rdbench.codecs.learned import LearnedCodec
from rdbench.models.weights import WeightsError, file_sha256

PICKLE_SUFFIXES = (".pth", ".pt", ".tar", ".ckpt", ".pkl", ".bin")
_TARGET = re.compile(r"^(?P<module>[A-Za-z_][\w.]*|.+\.py):(?P<attr>[A-Za-z_][\w.]*)$")
SOURCE = "the user's checkpoint (a safetensors file named by the `weights` option)"


def parse_kwargs(text: str) -> dict[str, Any]:
    """``"N=128,M=192"`` -> ``{"N": 128, "M": 192}`` (values as YAML scalars: 1, 0.5, true, text)."""
    import yaml

    out: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ValueError(f"--kwargs {text!r}: {item!r} is not NAME=VALUE; write e.g. --kwargs N=128,M=192")
        out[key.strip()] = yaml.safe_load(value)
    return out


def import_target(target: str):
    """The object of ``"pkg.module:Class"`` or ``"path/to/file.py:Class"`` (a file loaded by path)."""
    match = _TARGET.match(target or "")
    if not match:
        raise ValueError(f"model {target!r}: write it as pkg.module:Class or path/to/file.py:Class")
    module_name, attr = match["module"], match["attr"]
    if module_name.endswith(".py"):
        from rdbench.plugins import load_file

        if not Path(module_name).is_file():
            raise ValueError(f"model {target!r}: no file {Path(module_name).absolute()}")
        module = load_file(module_name)
    else:
        module = importlib.import_module(module_name)
    obj = module
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise ValueError(f"model {target!r}: {module_name} has no {attr!r}")
    return obj


class CheckpointCodec(LearnedCodec):
    """A CompressAI-style model class at the rate points of the user's safetensors files."""

    name = "learned"
    architecture = "checkpoint"
    default_points = (1,)

    def __init__(self, points: Sequence[Point] | None = None, model: str = "",
                 kwargs: dict[str, Any] | None = None, weights: str | dict[int, str] | None = None,
                 device: Literal["cpu", "cuda"] = "cpu"):
        if not model:
            raise ValueError("codec 'learned' needs `model` (pkg.module:Class or file.py:Class), `kwargs` and "
                             "`weights` (a .safetensors file, or {point: file}); see docs/benchmark-a-checkpoint.md")
        if not _TARGET.match(model):
            raise ValueError(f"codec 'learned': model {model!r}: write it as pkg.module:Class or path/to/file.py:Class")
        if not weights:
            raise ValueError("codec 'learned' needs `weights`: a .safetensors file, or {point: file} for several points")
        if isinstance(weights, str):
            chosen = list(points) if points is not None else [1]
            if len(chosen) != 1:
                raise ValueError(f"codec 'learned': one weights file ({weights}) but points {chosen}; give "
                                 "weights as {point: file} for several points")
            weights = {chosen[0]: weights}
        self._files = {self.parse_point(p): Path(f).expanduser().absolute() for p, f in weights.items()}
        super().__init__(points if points is not None else sorted(self._files), weights_dir=None)
        lacking = [p for p in self.points() if p not in self._files]
        if lacking:
            raise ValueError(f"codec 'learned': no weights file for point {', '.join(map(str, lacking))}; "
                             f"weights are given for {', '.join(map(str, sorted(self._files)))}")
        for point, path in self._files.items():
            if path.name.endswith(PICKLE_SUFFIXES):
                raise ValueError(f"codec 'learned': {path} is a pickle-based checkpoint; rdbench reads only "
                                 f"safetensors. Convert it once: `rdbench learned convert {path} --model {model} "
                                 "--out FILE.safetensors` (this executes pickle: only for your own files)")
            if not path.is_file():
                raise ValueError(f"codec 'learned': weights file for point {point} not found: {path}")
        self.model, self.kwargs, self.device = model, dict(kwargs or {}), device

    def weights_file(self, point: Point) -> Path:
        return self._files[self.parse_point(point)]

    def weights_source(self, point: int) -> str:
        return "name a .safetensors file with `weights`"

    def available(self) -> Availability:
        for module in ("torch", "compressai", "safetensors"):
            if importlib.util.find_spec(module) is None:
                return Availability.no(f"{module} is not installed; install rdbench's pinned dependencies")
        module = self.model.rpartition(":")[0]
        if not module.endswith(".py"):
            try:
                found = importlib.util.find_spec(module)
            except ImportError:
                found = None
            if found is None:
                return Availability.no(f"model {self.model}: module {module} is not importable here; install its "
                                       "package, put its folder on PYTHONPATH, or name the file: path/to/file.py:Class")
        if self.device == "cuda":
            import torch

            if not torch.cuda.is_available():
                return Availability.no("device cuda: no GPU here (torch.cuda.is_available() is false); use device cpu")
        return Availability.yes()

    def _model(self, point: int):
        return _load(self.model, self.kwargs, self._files[point], self.device)

    def coding_device(self) -> str:
        return self.device

    def describe(self) -> dict[str, Any]:
        from importlib.metadata import version

        base = super().describe()
        weights = {str(p): _provenance(self._files[p]) for p in self.points()}
        return {**Codec.describe(self), "model": self.model, "kwargs": self.kwargs, "weights": weights,
                "torch": version("torch"), "compressai": version("compressai"), "device": self.device,
                "intra_op_threads": 1 if self.device == "cpu" else None,
                "entropy_coding": "CompressAI's range coder, on the CPU",
                "cdf_tables": {str(p): _cdf_tables(self._files[p]) for p in self.points()},
                **{k: base[k] for k in ("padding", "bitstream", "rate", "reconstruction")}}


_lock = threading.Lock()
_models: dict[tuple, tuple[Any, dict]] = {}
_sha: dict[tuple, str] = {}


def _sha256(path: Path) -> str:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _sha:
        _sha[key] = file_sha256(path)
    return _sha[key]


def _provenance(path: Path) -> dict[str, Any]:
    """Path, sha256 and source of one weights file; ``converted_from`` when `rdbench learned convert` made
    it (its FILE.json, trusted only while its sha256 is the file's)."""
    out = {"path": str(path), "sha256": _sha256(path), "source": SOURCE}
    record = path.with_suffix(".json")
    if record.is_file():
        import json

        try:
            made = json.loads(record.read_text())
        except ValueError:
            made = {}
        if isinstance(made, dict) and made.get("sha256") == out["sha256"] and "converted_from" in made:
            out.update(source=made.get("source", SOURCE), converted_from=made["converted_from"])
    return out


STORED = "stored in the file"


def _cdf_tables(path: Path) -> str:
    """Whether the file holds the entropy coders' CDF tables (from its header: no tensor is read)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            shapes = [f.get_slice(k).get_shape() for k in f.keys() if k.endswith("_quantized_cdf")]
    except Exception as exc:
        raise WeightsError(f"{path}: not a readable safetensors file ({type(exc).__name__}: {exc})") from exc
    if shapes and all(0 not in shape for shape in shapes):
        return STORED
    return "computed at load by update(force=True) (the file has none)"


def _load(target: str, kwargs: dict, path: Path, device: str):
    """(model in eval mode on `device`, meta) for one file, cached per process by file identity."""
    stat = path.stat()
    key = (target, repr(sorted(kwargs.items())), str(path), stat.st_size, stat.st_mtime_ns, device)
    with _lock:
        if key not in _models:
            _models[key] = _build(target, kwargs, path, device)
        return _models[key]


def _build(target: str, kwargs: dict, path: Path, device: str):
    import torch
    from safetensors.torch import load_file

    from rdbench.models.weights import _check_finite

    cls = import_target(target)
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)
            and all(callable(getattr(cls, m, None)) for m in ("compress", "decompress", "update"))):
        raise WeightsError(f"model {target}: {cls!r} is not a CompressAI-style model (a torch.nn.Module with "
                           "compress, decompress and update, e.g. a compressai.models.CompressionModel subclass)")
    with torch.random.fork_rng(devices=[]):
        try:
            model = cls(**kwargs)
        except TypeError as exc:
            raise WeightsError(f"model {target}: {cls.__name__}(**{kwargs}) cannot be built: {exc}; fix `kwargs`") from exc
    sha256 = _sha256(path)
    try:
        state = load_file(str(path), device="cpu")
    except Exception as exc:
        raise WeightsError(f"{path}: not a readable safetensors file ({type(exc).__name__}: {exc})") from exc
    _check_finite(state, str(path))
    try:
        model.load_state_dict(state)
    except (RuntimeError, KeyError, ValueError) as exc:
        raise WeightsError(f"{path} does not fit {target}({', '.join(f'{k}={v}' for k, v in kwargs.items())}): "
                           f"{str(exc)[:600]}; check `model` and `kwargs`") from exc
    cdf_tables = _cdf_tables(path)
    if cdf_tables != STORED:
        model.update(force=True)
    model = model.eval().to(device)
    return model, {"path": str(path), "sha256": sha256, "model": target, "kwargs": dict(kwargs),
                   "cdf_tables": cdf_tables, "architecture": "checkpoint"}
