"""Reference-side metric work done once per (reference image, metric description), kept on disk.

LPIPS runs a VGG16 over the reference and over the reconstruction; the reference half is the same for
every codec and rate point. (DISTS declares none: see rdbench.metrics.dists.) A metric that declares ``features`` (:class:`rdbench.metrics.Metric`)
gets them from here:

    <root>/<reference png sha256>/<metric name>-<key>.safetensors     key: sha256 of the metric's
                                                                      describe(), torch version, device

so a changed description (variant, versions, weights sha256) or another torch never reuses old
features: it writes new ones. The workflow keeps them in ``work/<dataset>/features/`` (never committed,
deletable). The values are unchanged to the last digit with or without them (``tests/test_reference_features.py``).
Features over ``max_bytes`` per file (2 MP images and up for LPIPS-VGG) are recomputed instead of
written: a Kodak image's unit-length VGG taps take 190 MB, so the 24 Kodak references 4.6 GB.
A file that does not load is computed and written again; a killed writer leaves only a temp file
(``.*.tmp``, deletable with the rest of ``work/``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np

from rdbench import atomic
from rdbench.metrics.base import Metric

log = logging.getLogger("rdbench")
MAX_BYTES = 256 * 2**20


class ReferenceFeatures:
    """Features of reference images by sha256; `root` None keeps nothing (computed on every call)."""

    def __init__(self, root: str | Path | None, max_bytes: int = MAX_BYTES):
        self.root = Path(root) if root is not None else None
        self.max_bytes = max_bytes
        self.computed = self.loaded = 0

    def get(self, metric: Metric, reference: np.ndarray, sha256: str) -> dict | None:
        """`metric`'s features of `reference` (whose PNG has `sha256`), or None if it has none."""
        if metric.features is None:
            return None
        path = self.path(metric, sha256)
        if path is not None and path.is_file():
            try:
                features = _load(path)
                self.loaded += 1
                return features
            except Exception as exc:  # damaged from outside: compute it again
                log.warning("%s does not load (%s); computing it again", path, exc)
        features = metric.reference_features(reference)
        self.computed += 1
        if path is not None and features and sum(t.numel() * t.element_size() for t in features.values()) <= self.max_bytes:
            _save(path, features)
        return features

    def path(self, metric: Metric, sha256: str) -> Path | None:
        if self.root is None:
            return None
        import torch

        from rdbench.metrics.common import torch_device

        blob = json.dumps({"metric": metric.describe(), "torch": torch.__version__, "device": str(torch_device())},
                          sort_keys=True, default=str)
        key = hashlib.sha256(blob.encode()).hexdigest()[:16]
        return self.root / sha256 / f"{metric.name.replace(':', '_')}-{key}.safetensors"


def _load(path: Path) -> dict:
    import safetensors.torch

    from rdbench.metrics.common import torch_device

    return safetensors.torch.load_file(path, device=str(torch_device()))


def _save(path: Path, features: dict) -> None:
    """Write atomically. Two jobs may write one reference's file at once (the same bytes): neither
    removes the other's temp file, and a failed write only costs the reuse."""
    import safetensors.torch

    try:
        with atomic.atomic_path(path) as tmp:
            safetensors.torch.save_file({k: t.contiguous() for k, t in features.items()}, tmp)
    except OSError as exc:
        log.warning("could not keep reference features in %s (%s); they are recomputed next time", path, exc)
