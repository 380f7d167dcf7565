"""Published RD curves imported from CompressAI's results JSON format, as reference rows and curves.

    {"name": "BPG 8b 444 x265 ycbcr", "description": "...",
     "results": {"bpp": [...], "psnr-rgb": [...], "ms-ssim-rgb": [...], "encoding_time": [...]}}

Flat files without the wrapper (``{"psnr": [...], "bpp": [...]}``, as JiangWeibeta/MLIC publishes
them) are read as their ``results``; they carry no name, so the caller gives the label.
One entry per rate point, each a dataset mean (bpp in bits per pixel, PSNR in dB on RGB, MS-SSIM
on RGB in [0, 1]). Older files use ``psnr`` / ``ms-ssim``, which are read as ``psnr-rgb`` /
``ms-ssim-rgb``; ``ms-ssim-db-rgb`` (-10 log10(1 - x)) is converted back to ``ms-ssim-rgb`` when
the raw values are absent. Such curves are published numbers: every table and plot marks them
"published" and none of them is ever ranked or reported as measured.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from rdbench.bd import BDError

ALIASES = {"psnr": "psnr-rgb", "ms-ssim": "ms-ssim-rgb"}
NOT_METRICS = {"bpp", "encoding_time", "decoding_time"}


@dataclass(frozen=True)
class PublishedCurve:
    """One imported curve; ``metrics`` maps rdbench metric names to arrays aligned with ``bpp``."""

    label: str
    name: str
    description: str
    source: str  # the pinned name it was loaded by (compressai:kodak/bpg_444_x265_ycbcr.json), else its file
    bpp: np.ndarray
    metrics: dict[str, np.ndarray] = field(default_factory=dict)

    def has(self, metric: str) -> bool:
        return metric in self.metrics

    def curve(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """(bpp, metric values) of this curve; a :class:`BDError` names the metrics it has otherwise."""
        if metric not in self.metrics:
            raise BDError(f"published curve {self.label!r} ({self.source}) has no {metric!r}; "
                          f"it has {sorted(self.metrics)}")
        return self.bpp, self.metrics[metric]


def load_compressai_json(path: str | Path, label: str | None = None, description: str | None = None) -> PublishedCurve:
    """Read one CompressAI results JSON (or a flat one); errors name the file and the bad key."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BDError(f"cannot read published curve {path}: {exc}") from exc
    results = data.get("results", data if "bpp" in data else None) if isinstance(data, dict) else None
    if not isinstance(results, dict) or "bpp" not in results:
        raise BDError(f"{path}: not a CompressAI results JSON (expected {{\"name\", \"results\": {{\"bpp\": "
                      "[...], \"psnr-rgb\": [...]}}}})")
    bpp = _array(results["bpp"], path, "bpp")
    metrics: dict[str, np.ndarray] = {}
    for key, values in results.items():
        if key in NOT_METRICS:
            continue
        arr = _array(values, path, key)
        if len(arr) != len(bpp):
            raise BDError(f"{path}: results[{key!r}] has {len(arr)} values but bpp has {len(bpp)}")
        metrics[ALIASES.get(key, key)] = arr
    if "ms-ssim-db-rgb" in metrics and "ms-ssim-rgb" not in metrics:
        metrics["ms-ssim-rgb"] = 1.0 - 10.0 ** (-metrics["ms-ssim-db-rgb"] / 10.0)
    name = str(data.get("name") or label or path.stem)
    description = str(data.get("description", "")) if description is None else description
    return PublishedCurve(label or name, name, description, str(path), bpp, metrics)


def entry_spec(entry) -> tuple[str, str | None]:
    """A ``published`` entry -> (curve name or path, row label or None): a string, or ``{row: ..., curve: ...}``
    (the row a curve goes on, so one codec's curves from several sources share a Table I row)."""
    if isinstance(entry, Mapping):
        if set(entry) != {"row", "curve"} or not all(isinstance(entry[k], str) and entry[k] for k in entry):
            raise BDError(f"published entry {dict(entry)!r}: expected a curve name or {{row: <label>, curve: <name>}}")
        return entry["curve"], entry["row"]
    return str(entry), None


def load_published(paths: Iterable) -> list[PublishedCurve]:
    """Load several files, given as paths or as names (``compressai:kodak/vtm.json``,
    ``mlic:kodak/mlicplusplus_mse.json``, ``tfc:tecnick/bpg444``, ``c3:clic2020/VTM``, see :mod:`rdbench.references`); labels are the JSON names (for
    nameless files the source's label; an entry ``{row, curve}`` gives its own), or the file stems where names repeat (CompressAI names its MSE-
    and MS-SSIM-trained models alike)."""
    from rdbench import references
    from rdbench.report.formats import LOADERS

    curves, rows = [], []
    for entry in paths:
        p, row = entry_spec(entry)
        rows.append(row)
        source = references.source_of(p)
        if source is not None and source.prefix in LOADERS:  # tfc:, c3: (their own formats)
            curve = LOADERS[source.prefix](str(p))
        else:
            curve = load_compressai_json(references.resolve(p), label=references.label_of(p),
                                         description=(source.description or None) if source else None)
        # a pinned name says where the curve comes from on every machine; a local copy's path would not
        curves.append(replace(curve, source=str(p)) if source is not None else curve)
    names = [c.name for c in curves]
    out = []
    for curve, row in zip(curves, rows):
        if row:
            curve = replace(curve, label=row)
        elif names.count(curve.name) > 1:
            curve = PublishedCurve(Path(curve.source).stem, curve.name, curve.description, curve.source,
                                   curve.bpp, curve.metrics)
        out.append(curve)
    labels = [c.label for c in out]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise BDError(f"published curves listed twice: {dup}; list each file once")
    return out


def _array(values, path: Path, key: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise BDError(f"{path}: results[{key!r}] is not a list of numbers: {exc}") from exc
    if arr.ndim != 1:
        raise BDError(f"{path}: results[{key!r}] must be a flat list, got shape {arr.shape}")
    return arr
