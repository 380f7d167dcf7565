"""The metric contract: a pure function of two 8-bit RGB images, with its direction and units.

    value = metric(reference, distorted)   # both HxWx3 uint8 numpy arrays, same shape

Reconstructions are already rounded to 8 bits by the harness. Values are per image; the dataset
aggregate is the mean of per-image values (so mean PSNR, not PSNR of the mean MSE), and
``rdbench.bd`` decides how curves are averaged. Register a metric under the ``rdbench.metrics``
entry-point group, pointing at a :class:`Metric` object::

    @metric("psnr-rgb", higher_is_better=True, unit="dB")
    def psnr_rgb(reference, distorted): ...
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np


@dataclass(frozen=True)
class Metric:
    name: str
    fn: Callable[..., float]
    higher_is_better: bool
    unit: str = ""
    # For BD-rate the quality axis must rise with quality: lower-is-better metrics use 1 - value.
    bd_transform: str = "identity"  # "identity" | "one-minus"
    variants: tuple[str, ...] = ()
    default_variant: str | None = None
    versions: dict[str, Any] = field(default_factory=dict)
    # Reference-side work of ``fn``, reusable for every distorted version of one reference: a function
    # of the reference (and variant) returning named tensors, or None for a size it does not cover.
    # ``fn`` then takes them as ``features=`` and gives exactly the value it computes without them.
    features: Callable[..., dict | None] | None = None

    def __call__(self, reference: np.ndarray, distorted: np.ndarray, **kwargs) -> float:
        check_pair(reference, distorted, self.name)
        if kwargs.get("features") is None:
            kwargs.pop("features", None)
        return float(self.fn(reference, distorted, **kwargs))

    def reference_features(self, reference: np.ndarray) -> dict | None:
        """What :attr:`features` computes for `reference` (None when the metric has no such step)."""
        return None if self.features is None else self.features(reference)

    def with_variant(self, variant: str) -> "Metric":
        """This metric fixed to one of its variants, named ``name:variant`` (a column of its own)."""
        if variant not in self.variants:
            known = ", ".join(self.variants) or "none"
            raise ValueError(f"metric {self.name!r} has no variant {variant!r} (variants: {known})")
        features = None if self.features is None else functools.partial(self.features, variant=variant)
        return replace(self, name=f"{self.name}:{variant}", fn=functools.partial(self.fn, variant=variant),
                       default_variant=variant, features=features)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "higher_is_better": self.higher_is_better, "unit": self.unit,
                "bd_transform": self.bd_transform, "variant": self.default_variant, **self.versions}


def metric(name: str, *, higher_is_better: bool, unit: str = "", variants: tuple[str, ...] = (),
           default_variant: str | None = None, features: Callable[..., dict | None] | None = None,
           **versions: Any) -> Callable[[Callable[..., float]], Metric]:
    """Decorator turning a function into a registered-ready :class:`Metric` (`features`: see Metric)."""

    def wrap(fn: Callable[..., float]) -> Metric:
        return Metric(name, fn, higher_is_better, unit, "identity" if higher_is_better else "one-minus",
                      variants, default_variant, dict(versions), features)

    return wrap


def check_pair(reference: np.ndarray, distorted: np.ndarray, name: str = "metric") -> None:
    for label, img in (("reference", reference), ("distorted", distorted)):
        if not (isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3):
            raise ValueError(f"{name}: {label} must be HxWx3 uint8, got "
                             f"{getattr(img, 'shape', type(img))} {getattr(img, 'dtype', '')}")
    if reference.shape != distorted.shape:
        raise ValueError(f"{name}: shapes differ: reference {reference.shape}, distorted {distorted.shape}")
