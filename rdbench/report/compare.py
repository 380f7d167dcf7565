"""BD of one codec against an anchor on one dataset, from the per-image rows of ``rd.csv``.

Averaging conventions (a setting, always printed):

``mean-curve``  BD of the dataset-mean curves: at each rate point the mean bpp and the mean metric over
                the images (the TreeNet paper's and CompressAI's convention). The metric is averaged
                on its own scale, then mapped onto the BD axis (1 - LPIPS, MS-SSIM dB), which is how
                published mean curves are converted too.
``per-image``   the mean of per-image BDs, each on that image's own curve (transformed per image).

Both use the same images: those with a row at every rate point of both codecs (others are listed
in ``images_excluded``). A point whose mean is not finite (a missing metric value, PSNR = inf) is
dropped by :func:`rdbench.bd.clean_curve` and reported in the notes.

Bootstrap: images are resampled with replacement ``bootstrap`` times (numpy ``default_rng(seed)``,
so a seed reproduces the interval), the BD is recomputed with the same averaging, and the interval
is the percentile interval at ``confidence``.

Sensitivity (:func:`sensitivity`): the same BD with every other method and averaging, so a table can
show where the choice of convention moves a value (docs/bd.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

import numpy as np

from rdbench.bd import METHOD_DESCRIPTIONS, METHODS, BDError, bd, metric_transform, quality_label, quality_transform
from rdbench.bd_batch import bootstrap, pchip_bd
from rdbench.results import RD_COLUMNS

AVERAGING = ("mean-curve", "per-image")
AVERAGING_DESCRIPTIONS = {
    "mean-curve": "BD of the dataset-mean curves: mean bpp and mean quality per rate point",
    "per-image": "mean of per-image BDs",
}


LATEX_INTERVALS = ("brackets", "pm", "none")


@dataclass(frozen=True)
class BDSettings:
    """How BD values are computed and marked; ``describe()`` is printed with every result.

    ``min_overlap``: below this overlap (fraction of the union of the two curves' ranges) a BD is
    refused; ``small_overlap``: below it a table cell is marked. ``sensitivity``: a BD-rate cell is
    marked when another method or averaging moves it by more than this many percentage points;
    ``sensitivity_quality`` is the same for BD-quality, as a fraction of the anchor's quality range.
    ``rate_range``: (lo, hi) bpp, curves clipped to it (None: whole curves). ``latex_interval``: how
    LaTeX shows an interval (rendering only).
    """

    method: str = "pchip"
    averaging: str = "mean-curve"
    bootstrap: int = 0  # resamples of images; 0: no interval
    seed: int = 0
    ms_ssim_db: bool = True  # MS-SSIM as -10 log10(1 - x) on the quality axis
    confidence: float = 0.95
    min_overlap: float = 0.2
    small_overlap: float = 0.5
    sensitivity: float = 2.0
    sensitivity_quality: float = 0.01
    rate_range: tuple[float, float] | None = None
    latex_interval: str = "brackets"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise BDError(f"bd method {self.method!r} is not one of {', '.join(METHODS)}")
        if self.averaging not in AVERAGING:
            raise BDError(f"bd averaging {self.averaging!r} is not one of {', '.join(AVERAGING)}")
        if int(self.bootstrap) < 0:
            raise BDError(f"bd bootstrap must be >= 0 resamples, got {self.bootstrap!r}")
        if not 0 < self.confidence < 1:
            raise BDError(f"bd confidence must be in (0, 1), got {self.confidence!r}")
        if not 0 <= self.min_overlap <= self.small_overlap < 1:
            raise BDError(f"bd min_overlap and small_overlap must satisfy 0 <= min_overlap <= small_overlap < 1, "
                          f"got {self.min_overlap!r} and {self.small_overlap!r}")
        if self.sensitivity <= 0 or self.sensitivity_quality <= 0:
            raise BDError(f"bd sensitivity and sensitivity_quality must be > 0, got {self.sensitivity!r} and "
                          f"{self.sensitivity_quality!r}")
        if self.rate_range is not None:
            rr = tuple(float(x) for x in self.rate_range)
            if len(rr) != 2 or not 0 < rr[0] < rr[1]:
                raise BDError(f"bd rate_range must be [lo, hi] bpp with 0 < lo < hi (or null), "
                              f"got {list(self.rate_range)!r}")
            object.__setattr__(self, "rate_range", rr)
        if self.latex_interval not in LATEX_INTERVALS:
            raise BDError(f"bd latex_interval {self.latex_interval!r} is not one of {', '.join(LATEX_INTERVALS)}")

    @classmethod
    def from_config(cls, bd_config: Mapping[str, Any] | None) -> "BDSettings":
        """From the workflow config's ``bd:`` mapping (the field names above)."""
        cfg = dict(bd_config or {})
        unknown = set(cfg) - set(cls.__dataclass_fields__)
        if unknown:
            raise BDError(f"unknown bd setting(s) {sorted(unknown)}; known: {sorted(cls.__dataclass_fields__)}")
        return cls(**cfg)

    def describe(self) -> str:
        boot = (f"bootstrap {self.bootstrap} resamples of images, seed {self.seed}, "
                f"{100 * self.confidence:g}% percentile interval" if self.bootstrap else "no bootstrap")
        return (f"method {self.method} ({METHOD_DESCRIPTIONS[self.method]}); averaging {self.averaging} "
                f"({AVERAGING_DESCRIPTIONS[self.averaging]}); {boot}; MS-SSIM "
                f"{'in dB, -10 log10(1 - x)' if self.ms_ssim_db else 'raw'}; {self.describe_range()}; "
                f"no BD below {100 * self.min_overlap:g}% overlap")

    def describe_range(self) -> str:
        if self.rate_range is None:
            return "rates: the whole curves"
        return f"rates clipped to {self.rate_range[0]:g}-{self.rate_range[1]:g} bpp"


@dataclass(frozen=True)
class CodecCurves:
    """One codec's raw measurements of one metric: arrays of shape (points, images).

    Points are in order of rising mean bpp; ``rate`` is bpp, ``quality`` the raw metric values.
    """

    codec: str
    points: tuple[str, ...]
    images: tuple[str, ...]
    rate: np.ndarray
    quality: np.ndarray

    def select(self, images: Sequence[str]) -> "CodecCurves":
        idx = [self.images.index(i) for i in images]
        return replace(self, images=tuple(images), rate=self.rate[:, idx], quality=self.quality[:, idx])


@dataclass(frozen=True)
class Comparison:
    """The BD of ``test`` against ``anchor`` on one dataset and metric, with everything it rests on."""

    dataset: str
    anchor: str
    test: str
    metric: str
    kind: str  # "rate" (percent) | "quality" (metric units on the BD axis)
    value: float
    overlap: float  # mean-curve: of the two mean curves; per-image: the smallest over images
    settings: BDSettings
    n_images: int
    ci: tuple[float, float] | None = None
    images_excluded: tuple[str, ...] = ()
    bootstrap_failed: int = 0
    source: str = "measured"  # "published": the test curve is an imported reference
    notes: tuple[str, ...] = field(default=())
    shares: tuple[float, float] = (1.0, 1.0)  # (anchor, test) share of own range; rdbench.bd
    quality_interval: tuple[float, float] | None = None  # common, of the curves `overlap` is of; BD axis units
    rate_interval: tuple[float, float] | None = None  # common, of the same curves; bpp

    def describe(self) -> str:
        """Several lines for a terminal: value, interval, method, averaging, overlap, notes."""
        if self.kind == "rate":
            fmt = lambda v: f"{v:+.2f}%"  # noqa: E731
        else:
            label = quality_label(self.metric, ms_ssim_db=self.settings.ms_ssim_db)
            unit = " dB" if label.endswith("[dB]") else ""
            fmt = lambda v: f"{v:+.3f}{unit}" if abs(v) >= 0.01 or v == 0 else f"{v:+.3g}{unit}"  # noqa: E731
        ci = f"  [{100 * self.settings.confidence:g}% CI {fmt(self.ci[0])} .. {fmt(self.ci[1])}]" if self.ci else ""
        if self.source == "published":
            averaging = (f"averaging: mean-curve (the published curve's dataset means against the anchor's mean "
                         f"curve over {self.n_images} images)")
        else:
            averaging = (f"averaging: {self.settings.averaging} ({AVERAGING_DESCRIPTIONS[self.settings.averaging]}),"
                         f" {self.n_images} images")
        lines = [f"BD-{self.kind} of {self.test} vs {self.anchor} on {self.dataset}, "
                 f"{quality_label(self.metric, ms_ssim_db=self.settings.ms_ssim_db, unit=False)} ({self.metric}): "
                 f"{fmt(self.value)}{ci}",
                 f"method: {self.settings.method} ({METHOD_DESCRIPTIONS[self.settings.method]})", averaging,
                 f"overlap: {100 * self.overlap:.1f}% of the union of the two curves' "
                 f"{'quality' if self.kind == 'rate' else 'log-rate'} ranges ({100 * self.shares[0]:.0f}% of "
                 f"the anchor's, {100 * self.shares[1]:.0f}% of the test's)"
                 + (f"; quality {self.quality_interval[0]:.4g}..{self.quality_interval[1]:.4g}"
                    if self.quality_interval else "")
                 + (f", rate {self.rate_interval[0]:.4g}..{self.rate_interval[1]:.4g} bpp"
                    if self.rate_interval else ""),
                 self.settings.describe_range()]
        if self.settings.bootstrap:
            lines.append(f"bootstrap: {self.settings.bootstrap} resamples, seed {self.settings.seed}"
                         + (f", {self.bootstrap_failed} undefined and left out" if self.bootstrap_failed else ""))
        if self.images_excluded:
            lines.append(f"images left out (no row or no value at every point of both codecs): {', '.join(self.images_excluded)}")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def as_row(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "metric": self.metric, "codec": self.test, "anchor": self.anchor,
                "source": self.source, "kind": self.kind, "value": self.value,
                "ci_low": self.ci[0] if self.ci else None, "ci_high": self.ci[1] if self.ci else None,
                "overlap": self.overlap, "share_anchor": self.shares[0], "share_test": self.shares[1],
                "method": self.settings.method, "averaging": self.settings.averaging,
                "n_images": self.n_images, "bootstrap": self.settings.bootstrap, "seed": self.settings.seed,
                "notes": " | ".join(self.notes)}


def select_dataset(df, dataset: str | None):
    """The rows of one dataset; ``dataset=None`` is allowed when the table holds only one."""
    present = sorted(df["dataset"].astype(str).unique())
    if dataset is None:
        if len(present) != 1:
            raise BDError(f"rd.csv holds datasets {present}; choose one (--dataset)")
        return df, present[0]
    if dataset not in present:
        raise BDError(f"dataset {dataset!r} is not in rd.csv; it holds {present}")
    return df[df["dataset"].astype(str) == dataset], dataset


def codec_curves(df, codec: str, metric: str) -> CodecCurves:
    """Pivot one codec's rows of one dataset's ``rd.csv`` into (points, images) arrays."""
    codecs = sorted(df["codec"].astype(str).unique())
    if codec not in codecs:
        raise BDError(f"codec {codec!r} has no rows in rd.csv; it holds {codecs}")
    if metric not in df.columns:
        raise BDError(f"metric {metric!r} is not a column of rd.csv; metric columns: "
                      f"{[c for c in df.columns if c not in RD_COLUMNS]}")
    rows = df[df["codec"].astype(str) == codec]
    dup = rows.duplicated(["point", "image"])
    if dup.any():
        first = rows[dup].iloc[0]
        raise BDError(f"rd.csv has {int(dup.sum())} duplicate row(s) for codec {codec!r}, e.g. point "
                      f"{first['point']!r} image {first['image']!r}: aggregate each cell once")
    table = rows.set_index(["point", "image"])[["bpp", metric]].astype(float).unstack("image")
    rate, quality = table["bpp"], table[metric]
    order = np.argsort(np.nanmean(rate.to_numpy(), axis=1), kind="stable")
    return CodecCurves(codec, tuple(str(p) for p in rate.index[order]), tuple(str(i) for i in rate.columns),
                       rate.to_numpy()[order], quality.to_numpy()[order])


def paired(df, anchor: str, test: str, metric: str) -> tuple[CodecCurves, CodecCurves, tuple[str, ...], list[str]]:
    """Anchor and test curves on their common images, the images left out, and a note per reason.

    An image is left out when it lacks a row at some rate point of either codec, or a value of
    ``metric`` (a metric undefined for it, e.g. MS-SSIM on an image smaller than its window; the
    cell's record says why). PSNR = inf (a lossless point) is a value: :func:`rdbench.bd.clean_curve`
    drops that point instead.
    """
    a, t = codec_curves(df, anchor, metric), codec_curves(df, test, metric)
    rows = {c.codec: {i for k, i in enumerate(c.images) if np.isfinite(c.rate[:, k]).all()} for c in (a, t)}
    valued = {c.codec: {i for k, i in enumerate(c.images) if not np.isnan(c.quality[:, k]).any()} for c in (a, t)}
    with_rows = rows[a.codec] & rows[t.codec]
    common = sorted(with_rows & valued[a.codec] & valued[t.codec])
    excluded = tuple(sorted((set(a.images) | set(t.images)) - set(common)))
    notes = []
    no_value = sorted(with_rows - set(common))
    if no_value:
        notes.append(f"image(s) {', '.join(no_value)} left out: no {metric} value at every rate point of both codecs "
                     "(undefined for them, e.g. too small for the metric; their cells' records say why)")
    if not common:
        raise BDError(f"codecs {anchor!r} and {test!r} have no image with a {metric} value at every rate point of "
                      f"both" + (f"; {notes[0]}" if notes else ""))
    return a.select(common), t.select(common), excluded, notes


def compare(df, anchor: str, test: str, metric: str, settings: BDSettings = BDSettings(), *,
            kind: str = "rate", dataset: str | None = None, transform: str | None = None) -> Comparison:
    """BD of ``test`` against ``anchor`` on the rows of one dataset (see the module docstring)."""
    df, dataset = select_dataset(df, dataset)
    a, t, excluded, left_out = paired(df, anchor, test, metric)
    transform = transform or metric_transform(metric)
    n = len(a.images)

    def q(values):
        return quality_transform(metric, values, ms_ssim_db=settings.ms_ssim_db, transform=transform)

    def one(weights: np.ndarray):
        return bd(a.rate @ weights, q(a.quality @ weights), t.rate @ weights, q(t.quality @ weights),
                  kind=kind, method=settings.method, min_overlap=settings.min_overlap,
                  rate_range=settings.rate_range, anchor_name=anchor, test_name=test)

    rng = np.random.default_rng(settings.seed)
    draws = [np.bincount(rng.integers(0, n, n), minlength=n) / n for _ in range(settings.bootstrap)]
    failed, samples = 0, []
    if settings.averaging == "mean-curve":
        result = one(np.full(n, 1.0 / n))
        value, ovl, notes, shown = result.value, result.overlap, list(result.notes), result

        def batch(weights: np.ndarray):
            return pchip_bd(weights @ a.rate.T, q(weights @ a.quality.T), weights @ t.rate.T, q(weights @ t.quality.T),
                            kind=kind, min_overlap=settings.min_overlap)

        samples, failed = bootstrap(lambda w: one(w).value, draws, value, batch if batchable(settings) else None)
    else:
        per = per_image(a, t, metric, settings, kind=kind, transform=transform)
        values = np.array([r.value for r in per.values()])
        shown = min(per.values(), key=lambda r: r.overlap)
        value, ovl = float(values.mean()), shown.overlap
        notes = [f"image {img}: {note}" for img, r in per.items() for note in r.notes]
        samples = [float(values @ w) for w in draws]
    ci = None
    if samples:
        alpha = (1 - settings.confidence) / 2
        lo, hi = np.quantile(samples, [alpha, 1 - alpha])
        ci = (float(lo), float(hi))
    notes = left_out + notes
    if failed:
        notes.append(f"{failed} of {settings.bootstrap} bootstrap resamples had no BD (curves did not overlap)")
    return Comparison(dataset, anchor, test, metric, kind, value, ovl, settings, n, ci, excluded, failed,
                      "measured", tuple(notes), shown.shares, shown.quality_interval, shown.rate_interval)


def batchable(settings: BDSettings) -> bool:
    """Whether bootstrap resamples may use :func:`rdbench.bd_batch.pchip_bd` (pchip, whole curves)."""
    return settings.method == "pchip" and settings.rate_range is None


def sensitivity(df, anchor: str, test: str, metric: str, settings: BDSettings, *, kind: str = "rate",
                dataset: str | None = None) -> dict[str, float | str]:
    """``"method/averaging"`` -> the BD with that method and averaging (no bootstrap), or the reason it
    is undefined, for every combination but ``settings``' own."""
    out: dict[str, float | str] = {}
    for method in METHODS:
        for averaging in AVERAGING:
            if (method, averaging) == (settings.method, settings.averaging):
                continue
            other = replace(settings, method=method, averaging=averaging, bootstrap=0)
            try:
                out[f"{method}/{averaging}"] = compare(df, anchor, test, metric, other, kind=kind,
                                                       dataset=dataset).value
            except BDError as exc:
                out[f"{method}/{averaging}"] = str(exc)
    return out


def per_image(a: CodecCurves, t: CodecCurves, metric: str, settings: BDSettings, *, kind: str = "rate",
              transform: str | None = None, strict: bool = True) -> dict:
    """image -> BDResult of that image's own curves (same images in ``a`` and ``t``).

    ``strict``: an image without a BD raises a :class:`BDError` naming it; otherwise that image maps to
    the error (for per-image tables).
    """
    def q(values):
        return quality_transform(metric, values, ms_ssim_db=settings.ms_ssim_db, transform=transform)

    out: dict = {}
    for k, image in enumerate(a.images):
        try:
            out[image] = bd(a.rate[:, k], q(a.quality[:, k]), t.rate[:, k], q(t.quality[:, k]), kind=kind,
                            method=settings.method, min_overlap=settings.min_overlap,
                            rate_range=settings.rate_range, anchor_name=a.codec, test_name=t.codec)
        except BDError as exc:
            if strict:
                raise BDError(f"image {image}: {exc} (averaging='mean-curve' needs only the mean curves "
                              "to overlap)") from exc
            out[image] = exc
    return out


def compare_published(df, anchor: str, curve, metric: str, settings: BDSettings = BDSettings(), *,
                      kind: str = "rate", dataset: str | None = None) -> Comparison:
    """BD of a published mean curve (:class:`rdbench.report.published.PublishedCurve`) against the
    measured anchor's mean curve. Always ``mean-curve`` (a published curve has no per-image values),
    no interval; marked ``source="published"``."""
    df, dataset = select_dataset(df, dataset)
    bpp, values = curve.curve(metric)
    a = codec_curves(df, anchor, metric)
    keep = np.isfinite(a.rate).all(axis=0)
    if not keep.any():
        raise BDError(f"anchor {anchor!r} has no image measured at every rate point")
    a = a.select([i for i, k in zip(a.images, keep) if k])
    transform = metric_transform(metric)
    result = bd(a.rate.mean(axis=1),
                quality_transform(metric, a.quality.mean(axis=1), ms_ssim_db=settings.ms_ssim_db, transform=transform),
                bpp, quality_transform(metric, values, ms_ssim_db=settings.ms_ssim_db, transform=transform),
                kind=kind, method=settings.method, min_overlap=settings.min_overlap,
                rate_range=settings.rate_range, anchor_name=anchor, test_name=curve.label)
    notes = list(result.notes)
    if settings.averaging != "mean-curve":
        notes.append("published curve: dataset means only, so BD of mean curves whatever the averaging setting")
    return Comparison(dataset, anchor, curve.label, metric, kind, result.value, result.overlap,
                      replace(settings, averaging="mean-curve", bootstrap=0), len(a.images), None, (), 0,
                      "published", tuple(notes), result.shares, result.quality_interval, result.rate_interval)
