"""Weight files of learned codecs: one safetensors file + one JSON sidecar per (codec, rate point).

Layout: ``<root>/<codec>/<point>.safetensors`` and ``<root>/<codec>/<point>.json``. ``<root>`` is, in
order: the ``weights_dir`` argument/option, ``$RDBENCH_WEIGHTS``, the ``weights/`` folder of the
rdbench checkout (falling back to ``./weights`` when rdbench is installed without a checkout).

Sidecar (JSON object), written by :func:`save_weights`::

    codec, point          which rate point of which codec these are (checked on load)
    architecture, kwargs  the model class (a key of ARCHITECTURES) and its constructor keywords
    sha256, bytes         of the safetensors file, verified before every load
    lambda / lambda1 ...  training settings, free-form: steps, data, source, notes, ...
    rdbench, torch, compressai, created    versions and UTC time at export

The safetensors file is the model's full ``state_dict`` after ``update(force=True)``: parameters and the
entropy coders' CDF tables, so encoder and decoder use exactly the stored tables. Nothing here unpickles.

``dtype="float16"`` stores the floating tensors in half precision (half the bytes): the model's
floating parameters and buffers are rounded to float16 *before* ``update(force=True)``, so the
stored CDF tables are those of the rounded weights, and loading (float16 -> float32 is exact) gives
back exactly the model the tables were built from; coding is then as bit-exact as with float32.
Non-finite values (NaN, inf) are refused at export and at load: they would hang the entropy coder.
"""

from __future__ import annotations

import importlib
import json
import os
import threading
from collections import OrderedDict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rdbench import atomic
from rdbench.datasets import sha256_file
from rdbench.codecs.base import CodecError

# Architectures a sidecar may name: the allow-list keeps a JSON file from importing arbitrary code.
ARCHITECTURES: dict[str, str] = {
    "FactorizedPrior": "compressai.models:FactorizedPrior",
    "ScaleHyperprior": "compressai.models:ScaleHyperprior",
    "MeanScaleHyperprior": "compressai.models:MeanScaleHyperprior",
    "JointAutoregressiveHierarchicalPriors": "compressai.models:JointAutoregressiveHierarchicalPriors",
    "Cheng2020Anchor": "compressai.models:Cheng2020Anchor",
    "Cheng2020Attention": "compressai.models:Cheng2020Attention",
    "TreeNet": "rdbench.models.treenet:TreeNet",
    "LoCLIC": "rdbench.models.loclic:LoCLIC",
}
_CACHE_SIZE = 8


class WeightsError(CodecError):
    """Weights that are missing, tampered with, mislabelled or not loadable; says which file and the fix."""


def register_architecture(name: str, target: str) -> None:
    """Allow sidecars to name another model class, given as ``"module:Class"`` (for plugins)."""
    if name in ARCHITECTURES and ARCHITECTURES[name] != target:
        raise ValueError(f"architecture {name!r} is already {ARCHITECTURES[name]!r}; pick another name")
    ARCHITECTURES[name] = target


def build_model(architecture: str, kwargs: dict[str, Any]):
    """A freshly initialised model of an allow-listed architecture, in eval mode."""
    if architecture not in ARCHITECTURES:
        raise WeightsError(f"unknown architecture {architecture!r}; known: {', '.join(sorted(ARCHITECTURES))} "
                           "(plugins add theirs with register_architecture)")
    module, _, attr = ARCHITECTURES[architecture].partition(":")
    cls = getattr(importlib.import_module(module), attr)
    try:
        return cls(**kwargs).eval()
    except TypeError as exc:
        raise WeightsError(f"{architecture}({kwargs}) cannot be built: {exc}") from exc


def weights_root(weights_dir: str | os.PathLike | None = None) -> Path:
    """The folder holding one sub-folder of weights per codec (see the module docstring)."""
    if weights_dir:
        return Path(weights_dir).expanduser()
    if os.environ.get("RDBENCH_WEIGHTS"):
        return Path(os.environ["RDBENCH_WEIGHTS"]).expanduser()
    checkout = Path(__file__).resolve().parents[2]
    return checkout / "weights" if (checkout / "pyproject.toml").is_file() else Path.cwd() / "weights"


def weights_path(codec_name: str, point: int, weights_dir: str | os.PathLike | None = None) -> Path:
    """``<root>/<codec_name>/<point>.safetensors``; the sidecar is the same path with ``.json``."""
    return weights_root(weights_dir) / codec_name / f"{int(point)}.safetensors"


def file_sha256(path: str | os.PathLike) -> str:
    return sha256_file(path)


DTYPES = ("float32", "float16")


def save_weights(model, path: str | os.PathLike, metadata: dict[str, Any], dtype: str = "float32") -> str:
    """Write `model`'s weights to `path` (``.safetensors``) and its sidecar; return the file's sha256.

    Calls ``model.update(force=True)`` first, so the stored CDF tables match the parameters. `metadata`
    goes into the sidecar; ``architecture`` defaults to the model's class name, ``kwargs`` to
    ``model.config()`` where the model has one, ``codec``/``point`` to the path's folder and stem. Both
    files are written atomically; the sidecar's description is checked by rebuilding the model from it.
    """
    from importlib.metadata import version

    from safetensors.torch import save_file

    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"weights path {path} must end with .safetensors")
    meta = dict(metadata)
    meta.setdefault("architecture", type(model).__name__)
    if "kwargs" not in meta:
        if not hasattr(model, "config"):
            raise ValueError(f"metadata needs 'kwargs' (the constructor keywords of {meta['architecture']})")
        meta["kwargs"] = model.config()
    meta.setdefault("codec", path.parent.name)
    meta.setdefault("point", _point_from(path))
    if dtype not in DTYPES:
        raise ValueError(f"weights dtype {dtype!r}: choose one of {', '.join(DTYPES)}")
    _check_finite(model.state_dict(), f"{path} (not written)")
    if dtype == "float16":
        model.half().float()  # round floating parameters and buffers first: the CDFs below are theirs
    model.update(force=True)
    state = {k: _stored(v, dtype) for k, v in model.state_dict().items()}
    _check_description(meta, state)
    meta["dtype"] = dtype
    with atomic.atomic_path(path) as tmp:
        save_file(state, str(tmp))
        meta.update(sha256=file_sha256(tmp), bytes=tmp.stat().st_size, format="safetensors",
                    rdbench=_version("rdbench"), torch=version("torch"), compressai=version("compressai"),
                    created=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    atomic.write_text(path.with_suffix(".json"), json.dumps(meta, indent=1, sort_keys=True, default=str) + "\n")
    return meta["sha256"]


def read_sidecar(path: str | os.PathLike) -> dict[str, Any]:
    """The sidecar of a ``.safetensors`` path, checked for the required keys, plus ``path``."""
    path = Path(path)
    sidecar = path.with_suffix(".json")
    if not path.is_file() or not sidecar.is_file():
        absent = " and ".join(str(p) for p in (path, sidecar) if not p.is_file())
        raise WeightsError(f"weights missing: {absent}")
    try:
        meta = json.loads(sidecar.read_text())
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{sidecar}: unreadable sidecar ({exc}); re-export the weights") from exc
    if not isinstance(meta, dict):
        raise WeightsError(f"{sidecar}: a sidecar is a JSON object, got {type(meta).__name__}")
    lacking = [k for k in ("codec", "point", "architecture", "kwargs", "sha256") if k not in meta]
    if lacking:
        raise WeightsError(f"{sidecar}: sidecar lacks {', '.join(lacking)}; re-export with save_weights")
    meta["path"] = str(path)
    return meta


def load_model(codec_name: str, point: int, weights_dir: str | os.PathLike | None = None):
    """(model in eval mode, sidecar) for a codec's rate point; a fresh model on every call.

    Checks, in order: both files exist; the sidecar names this codec and point (a copied or renamed
    file is refused); sha256 of the safetensors file equals the sidecar's; the state dict fits the
    architecture exactly. Any failure raises WeightsError naming the file and the fix. Neither this
    nor :func:`save_weights` draws from torch's global random stream."""
    from safetensors.torch import load_file

    path = weights_path(codec_name, point, weights_dir)
    meta = read_sidecar(path)
    if meta["codec"] != codec_name or int(meta["point"]) != int(point):
        raise WeightsError(f"{path}: the sidecar says codec {meta['codec']!r} point {meta['point']}, but the file "
                           f"sits at codec {codec_name!r} point {point}; files were copied or renamed: "
                           "put the right weights there")
    digest = file_sha256(path)
    if digest != meta["sha256"]:
        raise WeightsError(f"{path}: sha256 {digest} differs from the sidecar's {meta['sha256']}; the weights "
                           "were modified or replaced: restore them or re-export with save_weights")
    import torch

    with torch.random.fork_rng(devices=[]):  # building initialises weights: keep the caller's RNG untouched
        model = build_model(meta["architecture"], meta["kwargs"])
    try:
        state = load_file(str(path), device="cpu")
    except Exception as exc:  # safetensors raises its own SafetensorError (e.g. "header too large")
        raise WeightsError(f"{path}: not a readable safetensors file ({type(exc).__name__}: {exc}); "
                           "restore it or re-export the weights") from exc
    _check_finite(state, str(path))
    try:
        model.load_state_dict(state)
    except (RuntimeError, KeyError, ValueError) as exc:
        raise WeightsError(f"{path}: does not fit {meta['architecture']}({meta['kwargs']}): {exc}") from exc
    return model.eval(), meta


_cache: OrderedDict[tuple, tuple[Any, dict]] = OrderedDict()
_cache_lock = threading.Lock()


def cached_model(codec_name: str, point: int, weights_dir: str | os.PathLike | None = None):
    """:func:`load_model`, cached per process (a cell codes many images at one point). Shared: do not
    modify the returned model. A weight file changed on disk (size or mtime) is loaded and verified anew."""
    path = weights_path(codec_name, point, weights_dir).resolve()
    try:
        stats = tuple((s.st_size, s.st_mtime_ns) for s in (path.stat(), path.with_suffix(".json").stat()))
    except OSError:
        stats = None  # load_model raises the explanatory error
    key = (str(path), codec_name, int(point), stats)
    with _cache_lock:
        if stats is not None and key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        entry = load_model(codec_name, point, weights_dir)
        _cache[key] = entry
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
        return entry


def _check_description(meta: dict[str, Any], state: dict) -> None:
    """Refuse to write a sidecar whose architecture + kwargs would not rebuild these tensors."""
    import torch

    with torch.random.fork_rng(devices=[]):  # leave the caller's random stream (e.g. a training run) alone
        reference = build_model(meta["architecture"], meta["kwargs"]).state_dict()
    cdf_tables = ("_quantized_cdf", "_offset", "_cdf_length", "scale_table")  # sized by update()
    wrong = sorted(set(reference) ^ set(state)) + sorted(
        k for k in reference if k in state and not k.endswith(cdf_tables) and reference[k].shape != state[k].shape)
    if wrong:
        raise ValueError(f"metadata architecture {meta['architecture']}({meta['kwargs']}) does not describe these "
                         f"weights (keys/shapes differ: {', '.join(wrong[:5])}{' ...' if len(wrong) > 5 else ''})")


def _stored(tensor, dtype: str):
    """A detached CPU copy for the file: floating tensors in `dtype`, integer tables as they are."""
    import torch

    out = tensor.detach().to("cpu")
    if dtype == "float16" and out.is_floating_point():
        out = out.to(torch.float16)
    return out.clone().contiguous()


def _check_finite(state: dict, where: str) -> None:
    """Refuse NaN / inf in any floating tensor, naming the first few and the file."""
    import torch

    bad = [k for k, v in state.items() if torch.is_tensor(v) and v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise WeightsError(f"{where}: non-finite values (NaN or inf) in {', '.join(bad[:5])}"
                           f"{' ...' if len(bad) > 5 else ''}; the training diverged or the file is corrupt: "
                           "export weights from an earlier checkpoint, or retrain")


def _point_from(path: Path) -> int:
    try:
        return int(path.stem)
    except ValueError:
        raise ValueError(f"{path}: name the file <point>.safetensors or give metadata['point']") from None


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"
