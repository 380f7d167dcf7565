"""BD against a *published* anchor curve (the TreeNet paper's Table I is anchored on BPG, which rdbench cannot run).

A published curve has dataset means only, so every comparison here is of mean curves:

- :func:`measured_vs_published`: a measured codec's dataset-mean curve (images measured at every one of its
  points) against the published anchor; the bootstrap resamples the measured codec's images, the anchor
  stays fixed, so the interval is that of the measured curve alone;
- :func:`published_vs_published`: two published curves, no interval.

Both return a :class:`rdbench.report.compare.Comparison` whose ``anchor`` is the published curve's label,
with a note saying the anchor is published.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from rdbench.bd import METHODS, BDError, bd, clean_curve, metric_transform, quality_transform
from rdbench.bd_batch import bootstrap, pchip_bd
from rdbench.report.compare import BDSettings, Comparison, batchable, codec_curves, select_dataset


def _axis(metric: str, values, settings: BDSettings):
    return quality_transform(metric, values, ms_ssim_db=settings.ms_ssim_db, transform=metric_transform(metric))


def _bd(anchor, metric, rate, quality, settings: BDSettings, kind: str, test_name: str):
    a_rate, a_quality = anchor.curve(metric)
    return bd(a_rate, _axis(metric, a_quality, settings), rate, _axis(metric, quality, settings), kind=kind,
              method=settings.method, min_overlap=settings.min_overlap, rate_range=settings.rate_range,
              anchor_name=f"{anchor.label} (published)", test_name=test_name)


def _note(anchor, settings: BDSettings) -> list[str]:
    notes = [f"anchor: the published curve {anchor.label!r} ({anchor.source}), dataset means"]
    if settings.averaging != "mean-curve":
        notes.append("a published anchor has dataset means only, so BD of mean curves whatever the averaging setting")
    return notes


def measured_vs_published(df, anchor, test: str, metric: str, settings: BDSettings = BDSettings(), *,
                          kind: str = "rate", dataset: str | None = None) -> Comparison:
    """BD of the measured codec ``test`` (rows of ``df``) against the published curve ``anchor``."""
    df, dataset = select_dataset(df, dataset)
    t = codec_curves(df, test, metric)
    keep = np.isfinite(t.rate).all(axis=0)
    if not keep.any():
        raise BDError(f"{test!r} has no image measured at every rate point")
    t = t.select([i for i, k in zip(t.images, keep) if k])
    n = len(t.images)

    def one(weights):
        return _bd(anchor, metric, t.rate @ weights, t.quality @ weights, settings, kind, test)

    result = one(np.full(n, 1.0 / n))
    rng = np.random.default_rng(settings.seed)
    draws = [np.bincount(rng.integers(0, n, n), minlength=n) / n for _ in range(settings.bootstrap)]
    a_rate, a_quality = anchor.curve(metric)
    fixed = clean_curve(a_rate, _axis(metric, a_quality, settings))

    def batch(weights: np.ndarray):
        return pchip_bd(fixed.rate[None], fixed.quality[None], weights @ t.rate.T,
                        _axis(metric, weights @ t.quality.T, settings), kind=kind, min_overlap=settings.min_overlap)

    samples, failed = bootstrap(lambda w: one(w).value, draws, result.value, batch if batchable(settings) else None)
    ci = None
    if samples:
        alpha = (1 - settings.confidence) / 2
        ci = tuple(float(x) for x in np.quantile(samples, [alpha, 1 - alpha]))
    notes = [*result.notes, *_note(anchor, settings)]
    if settings.bootstrap:
        notes.append(f"interval: bootstrap over {test}'s {n} images, the published anchor fixed")
    if failed:
        notes.append(f"{failed} of {settings.bootstrap} bootstrap resamples had no BD (curves did not overlap)")
    return Comparison(dataset, anchor.label, test, metric, kind, result.value, result.overlap,
                      replace(settings, averaging="mean-curve"), n, ci, (), failed, "measured", tuple(notes),
                      result.shares, result.quality_interval, result.rate_interval)


def published_vs_published(anchor, curve, metric: str, settings: BDSettings = BDSettings(), *, kind: str = "rate",
                           dataset: str = "") -> Comparison:
    """BD of one published curve against another (both dataset means; no interval)."""
    rate, quality = curve.curve(metric)
    result = _bd(anchor, metric, rate, quality, settings, kind, f"{curve.label} (published)")
    return Comparison(dataset, anchor.label, curve.label, metric, kind, result.value, result.overlap,
                      replace(settings, averaging="mean-curve", bootstrap=0), 0, None, (), 0, "published",
                      tuple([*result.notes, *_note(anchor, settings)]), result.shares, result.quality_interval,
                      result.rate_interval)


def other_methods(compute, settings: BDSettings) -> dict[str, float | str]:
    """``"method/mean-curve"`` -> ``compute(settings with that method)``'s value (or why it is undefined), for
    the methods other than ``settings.method``: a comparison of mean curves has no other averaging."""
    out: dict[str, float | str] = {}
    for method in METHODS:
        if method != settings.method:
            try:
                out[f"{method}/mean-curve"] = compute(replace(settings, method=method, bootstrap=0)).value
            except BDError as exc:
                out[f"{method}/mean-curve"] = str(exc)
    return out
