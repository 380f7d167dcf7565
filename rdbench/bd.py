"""Bjøntegaard delta (BD) rate and quality between two rate-distortion curves.

Conventions
-----------
* rate: bits per pixel (any positive unit works, BD-rate is a ratio); quality: the BD axis, where
  higher is better. Lower-is-better metrics are turned around first (``1 - LPIPS``, see
  :func:`quality_transform`).
* BD-rate (percent): the mean horizontal gap between the two curves in log10-rate over the quality
  interval both cover, ``100 * (10 ** mean(log10 R_test(q) - log10 R_anchor(q)) - 1)``.
  Negative: the test codec needs fewer bits than the anchor for the same quality.
* BD-quality: the mean vertical gap over the log10-rate interval both cover, in quality units (dB for
  PSNR). Positive: the test codec is better.
* overlap: the interval both curves cover on the integration axis (quality for BD-rate, log10-rate for
  BD-quality); ``overlap`` is its length over the length of the union of the two ranges, ``shares`` its
  length over each curve's own range (anchor, test). Both are in [0, 1].
* rate range: with ``rate_range=(lo, hi)`` (bpp) each curve is first clipped to it by interpolation
  (pchip of quality over log10-rate, so the end points lie on the measured polyline's monotone
  interpolant whatever the BD method); a curve that ends inside the range keeps its own end.

Methods
-------
``"pchip"``  piecewise cubic Hermite (JCTVC-L1100 / JVET CTC spreadsheets); 2 points or more. Local and
             monotone: it passes through every point, never overshoots between two, and a point moves
             the curve only between its neighbours. rdbench's default (docs/bd.md says why).
``"cubic"``  VCEG-M33 (Bjøntegaard 2001, what most learned-compression papers cite): one least-squares
             cubic polynomial per curve; needs at least 4 points per curve. Fragile where log-rate is
             far from a cubic in quality (a saturating axis such as raw MS-SSIM or 1-DISTS): the fit's
             error then depends on which points were measured.
``"akima"``  Akima spline (Herglotz et al., ICIP 2022); 2 points or more.

Interpolation and integration are the ``bjontegaard`` package's (FAU-LMS, 1.3.0). This module adds
what that package leaves to its caller: it sorts and cleans the points, measures the overlap of the
two curves and refuses to return a number when they do not overlap (the package warns and returns NaN).

Point cleaning, applied to each curve on its own (what was dropped is reported, never silent):

1. a point with a non-finite rate or quality is dropped (e.g. PSNR = inf at a lossless point);
2. a finite rate <= 0 is an error (log-rate is undefined);
3. the curve is reduced to its Pareto front: in order of rising rate a point is kept only if its
   quality is strictly higher than that of every cheaper kept point. Of duplicated rates the best
   quality survives; a point that costs more bits for no better quality (non-monotonic) is dropped.

Dataset-level averaging (mean curve or mean of per-image BDs) and bootstrap intervals live in
:mod:`rdbench.report.compare`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

METHODS = ("pchip", "cubic", "akima")
KINDS = ("rate", "quality")
MIN_POINTS = {"cubic": 4, "pchip": 2, "akima": 2}
METHOD_DESCRIPTIONS = {
    "cubic": "VCEG-M33 cubic polynomial in log-rate",
    "pchip": "piecewise cubic Hermite interpolation in log-rate (JCTVC-L1100)",
    "akima": "Akima interpolation in log-rate",
}


class BDError(ValueError):
    """BD is undefined for these curves (no overlap, too few points, bad values); the message says why."""


@dataclass(frozen=True)
class Curve:
    """A cleaned RD curve: rate and quality strictly increasing together (see module docstring)."""

    rate: np.ndarray
    quality: np.ndarray
    dropped_nonfinite: int = 0
    dropped_dominated: int = 0

    def __len__(self) -> int:
        return len(self.rate)

    @property
    def dropped(self) -> int:
        return self.dropped_nonfinite + self.dropped_dominated


@dataclass(frozen=True)
class BDResult:
    """One BD value with what it rests on.

    ``value``: percent for kind ``"rate"``, quality units for ``"quality"``. ``overlap``, ``shares``
    (anchor, test): see the module docstring, on the integration axis. ``quality_interval`` (BD axis
    units) and ``rate_interval`` (bpp): what both curves cover on each axis (lo > hi: nothing).
    """

    value: float
    kind: str
    method: str
    overlap: float
    shares: tuple[float, float]
    quality_interval: tuple[float, float]
    rate_interval: tuple[float, float]
    anchor_points: int
    test_points: int
    notes: tuple[str, ...] = field(default=())

    @property
    def interval(self) -> tuple[float, float]:
        """The common interval on the integration axis (log10-rate for BD-quality)."""
        if self.kind == "rate":
            return self.quality_interval
        return (math.log10(self.rate_interval[0]), math.log10(self.rate_interval[1]))

    def describe(self) -> str:
        unit = "%" if self.kind == "rate" else ""
        return (f"BD-{self.kind} {self.value:+.3f}{unit} (method {self.method}: "
                f"{METHOD_DESCRIPTIONS[self.method]}; overlap {100 * self.overlap:.1f}%)")


def clean_curve(rate: Sequence[float], quality: Sequence[float], role: str = "curve") -> Curve:
    """Sort a curve and keep its Pareto front (rules in the module docstring).

    ``role`` names the curve in error messages (e.g. ``"test curve 'jpeg'"``).
    """
    r = np.asarray(rate, dtype=float).ravel()
    q = np.asarray(quality, dtype=float).ravel()
    if r.shape != q.shape:
        raise BDError(f"{role}: {r.size} rates but {q.size} quality values; give one quality per rate")
    finite = np.isfinite(r) & np.isfinite(q)
    nonpositive = finite & (r <= 0)
    if nonpositive.any():
        raise BDError(f"{role}: rates must be > 0 (bits per pixel), got {r[nonpositive].tolist()}; "
                      "log-rate is undefined for them")
    r, q = r[finite], q[finite]
    order = np.lexsort((-q, r))  # rising rate; of equal rates the best quality first
    r, q = r[order], q[order]
    best_before = np.maximum.accumulate(np.concatenate(([-np.inf], q[:-1])))
    keep = q > best_before
    return Curve(r[keep], q[keep], int((~finite).sum()), int((~keep).sum()))


def overlap(a: np.ndarray, b: np.ndarray) -> tuple[float, tuple[float, float]]:
    """(common length / union length, common interval) of the ranges of two 1-D arrays."""
    lo, hi = max(a.min(), b.min()), min(a.max(), b.max())
    union = max(a.max(), b.max()) - min(a.min(), b.min())
    if union <= 0:
        return 0.0, (float(lo), float(hi))
    return max(hi - lo, 0.0) / union, (float(lo), float(hi))


def shares(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Length of the interval both ranges cover over the length of each range (0 where a range is a point)."""
    common = max(min(a.max(), b.max()) - max(a.min(), b.min()), 0.0)
    return tuple(float(min(common / (x.max() - x.min()), 1.0)) if x.max() > x.min() else 0.0 for x in (a, b))


def clip_rate(curve: Curve, lo: float, hi: float, role: str = "curve") -> Curve:
    """The part of a cleaned curve inside ``lo <= rate <= hi`` bpp, with end points interpolated on the
    range's bounds (pchip of quality over log10-rate) where the curve crosses them."""
    from scipy.interpolate import PchipInterpolator

    if not 0 < lo < hi:
        raise BDError(f"rate_range must be [lo, hi] bpp with 0 < lo < hi, got [{lo}, {hi}]")
    if curve.rate[-1] < lo or curve.rate[0] > hi:
        raise BDError(f"{role} covers {curve.rate[0]:.4g}..{curve.rate[-1]:.4g} bpp, outside rate_range "
                      f"[{lo:g}, {hi:g}]: widen rate_range or add rate points in it")
    inside = (curve.rate >= lo) & (curve.rate <= hi)
    ends = [b for b in (lo, hi) if curve.rate[0] < b < curve.rate[-1] and b not in curve.rate]
    f = PchipInterpolator(np.log10(curve.rate), curve.quality) if ends else None
    rate = np.concatenate((curve.rate[inside], ends))
    quality = np.concatenate((curve.quality[inside], [float(f(np.log10(b))) for b in ends]))
    order = np.argsort(rate)
    return Curve(rate[order], quality[order], curve.dropped_nonfinite, curve.dropped_dominated)


def bd(anchor_rate: Sequence[float], anchor_quality: Sequence[float], test_rate: Sequence[float],
       test_quality: Sequence[float], *, kind: str = "rate", method: str = "pchip", min_overlap: float = 0.0,
       rate_range: tuple[float, float] | None = None, anchor_name: str = "anchor",
       test_name: str = "test") -> BDResult:
    """BD-rate (``kind="rate"``, percent) or BD-quality (``kind="quality"``) of test against anchor.

    Raises :class:`BDError` when a curve has too few points after cleaning (and clipping to
    ``rate_range``, bpp) or when the curves do not overlap (or overlap less than ``min_overlap``, a
    fraction of the union in [0, 1)); never returns NaN.
    """
    _check_choice("method", method, METHODS)
    _check_choice("kind", kind, KINDS)
    if not 0.0 <= min_overlap < 1.0:
        raise BDError(f"min_overlap must be in [0, 1), got {min_overlap!r}")
    curves = []
    for role, name, rate, quality in (("anchor", anchor_name, anchor_rate, anchor_quality),
                                      ("test", test_name, test_rate, test_quality)):
        curve = clean_curve(rate, quality, f"{role} curve {name!r}")
        if rate_range is not None and len(curve):
            curve = clip_rate(curve, *rate_range, role=f"{role} curve {name!r}")
        if len(curve) < MIN_POINTS[method]:
            hint = " or use method='pchip' or 'akima'" if method == "cubic" and len(curve) >= 2 else ""
            raise BDError(f"{role} curve {name!r} has {len(curve)} usable point(s) after cleaning "
                          f"({curve.dropped_nonfinite} non-finite, {curve.dropped_dominated} dominated dropped); "
                          f"method={method!r} needs at least {MIN_POINTS[method]}: add rate points{hint}")
        curves.append(curve)
    anchor, test = curves
    if kind == "rate":
        frac, interval = overlap(anchor.quality, test.quality)
        axis = "quality"
    else:
        frac, interval = overlap(np.log10(anchor.rate), np.log10(test.rate))
        axis = "log10-rate"
    if frac <= min_overlap:
        ranges = (f"{anchor_name!r} covers {_range(anchor, kind)}, {test_name!r} covers {_range(test, kind)}")
        what = "do not overlap" if frac == 0 else f"overlap only {100 * frac:.2f}% on the {axis} axis"
        raise BDError(f"BD-{kind} is undefined: the curves {what} ({ranges}; defined above min_overlap={min_overlap}). "
                      "Add rate points so that both curves cover a common range"
                      + (" or lower min_overlap" if frac > 0 else ""))
    value = _bjontegaard(anchor, test, kind, method)
    if not math.isfinite(value):
        raise BDError(f"BD-{kind} with method={method!r} gave {value} for {test_name!r} vs {anchor_name!r}; "
                      "try method='pchip' or 'akima'")
    notes = tuple(f"{role} curve {name!r}: dropped {c.dropped_nonfinite} non-finite and "
                  f"{c.dropped_dominated} dominated point(s)"
                  for role, name, c in (("anchor", anchor_name, anchor), ("test", test_name, test)) if c.dropped)
    axis = (anchor.quality, test.quality) if kind == "rate" else (np.log10(anchor.rate), np.log10(test.rate))
    return BDResult(value, kind, method, frac, shares(*axis), overlap(anchor.quality, test.quality)[1],
                    overlap(anchor.rate, test.rate)[1], len(anchor), len(test), notes)


def bd_rate(anchor_rate: Sequence[float], anchor_quality: Sequence[float], test_rate: Sequence[float],
            test_quality: Sequence[float], method: str = "pchip", *, min_overlap: float = 0.0) -> float:
    """BD-rate of test against anchor in percent (negative: test saves bits). See :func:`bd`."""
    return bd(anchor_rate, anchor_quality, test_rate, test_quality, kind="rate", method=method,
              min_overlap=min_overlap).value


def bd_quality(anchor_rate: Sequence[float], anchor_quality: Sequence[float], test_rate: Sequence[float],
               test_quality: Sequence[float], method: str = "pchip", *, min_overlap: float = 0.0) -> float:
    """BD-quality (BD-PSNR for PSNR) of test against anchor in quality units. See :func:`bd`."""
    return bd(anchor_rate, anchor_quality, test_rate, test_quality, kind="quality", method=method,
              min_overlap=min_overlap).value


def _bjontegaard(anchor: Curve, test: Curve, kind: str, method: str) -> float:
    import bjontegaard

    fn = bjontegaard.bd_rate if kind == "rate" else bjontegaard.bd_psnr
    with warnings.catch_warnings():
        # overlap is checked above; polyfit's RankWarning on near-singular fits stays visible
        warnings.filterwarnings("ignore", message=".*overlap.*", category=UserWarning)
        return float(fn(anchor.rate, anchor.quality, test.rate, test.quality, method=method,
                        require_matching_points=False, min_overlap=0))


def _range(curve: Curve, kind: str) -> str:
    if kind == "rate":
        return f"quality {curve.quality.min():.4g}..{curve.quality.max():.4g}"
    return f"rate {curve.rate.min():.4g}..{curve.rate.max():.4g} bpp"


def _check_choice(setting: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise BDError(f"{setting}={value!r} is not one of {', '.join(map(repr, allowed))}")


# --- quality axis: metric direction and the MS-SSIM dB option -------------------------------------

# Direction of metrics whose plugin cannot be loaded here, by name or name prefix before "-".
_TRANSFORM_BY_NAME = {"psnr": "identity", "ms-ssim": "identity", "ssim": "identity", "nlpd": "one-minus",
                      "lpips": "one-minus", "dists": "one-minus"}
TRANSFORMS = ("identity", "one-minus")


def metric_transform(metric: str) -> str:
    """``"identity"`` or ``"one-minus"``: how a metric's values become a higher-is-better BD axis.

    Uses :attr:`rdbench.metrics.Metric.bd_transform` of the registered metric; where the metric is
    not registered or its plugin cannot be loaded here, falls back to a table of known names
    (psnr*, ms-ssim*, ssim: identity; nlpd, lpips*, dists: one-minus).
    """
    from rdbench.metrics import metrics, resolve
    from rdbench.registry import RegistryError

    load_error = ""
    if metric.partition(":")[0] in metrics:
        try:
            return resolve(metric).bd_transform
        except RegistryError as exc:
            load_error = f" (its plugin failed to load: {exc})"
    for prefix in sorted(_TRANSFORM_BY_NAME, key=len, reverse=True):
        if metric == prefix or metric.startswith(prefix + "-"):
            return _TRANSFORM_BY_NAME[prefix]
    raise BDError(f"metric {metric!r} is not registered{load_error} and not one of the known names "
                  f"{', '.join(sorted(_TRANSFORM_BY_NAME))}: its direction is unknown. Register it "
                  "(entry-point group rdbench.metrics) or pass transform='identity' / 'one-minus'")


def is_ms_ssim(metric: str) -> bool:
    """MS-SSIM on its raw [0, 1] scale (not an already-dB variant such as ``ms-ssim-db-rgb``)."""
    return metric.startswith("ms-ssim") and not metric.startswith("ms-ssim-db")


def quality_transform(metric: str, values: Sequence[float] | np.ndarray, *, ms_ssim_db: bool = False,
                      transform: str | None = None) -> np.ndarray:
    """Map metric values onto the BD quality axis (higher is better).

    ``one-minus`` metrics become ``1 - value``; with ``ms_ssim_db`` raw MS-SSIM becomes
    ``-10 log10(1 - value)`` dB (a value of 1 gives inf, which :func:`clean_curve` drops).
    ``transform`` overrides the metric's registered direction.
    """
    transform = transform or metric_transform(metric)
    _check_choice("transform", transform, TRANSFORMS)
    v = np.asarray(values, dtype=float)
    if transform == "one-minus":
        v = 1.0 - v
    if ms_ssim_db and is_ms_ssim(metric):
        with np.errstate(divide="ignore"):
            v = -10.0 * np.log10(1.0 - v)
    return v


_DISPLAY = {"psnr-rgb": "PSNR", "psnr-y": "PSNR-Y", "ms-ssim-rgb": "MS-SSIM", "ms-ssim-y": "MS-SSIM-Y",
            "nlpd": "NLPD", "lpips-vgg": "LPIPS", "lpips-alex": "LPIPS (AlexNet)", "dists": "DISTS"}


def quality_label(metric: str, *, ms_ssim_db: bool = False, transform: str | None = None,
                  unit: bool = True) -> str:
    """Axis / column label of the BD quality axis, e.g. ``"PSNR [dB]"``, ``"1-LPIPS"``, ``"MS-SSIM [dB]"``."""
    base = _DISPLAY.get(metric, metric.upper())
    if (transform or metric_transform(metric)) == "one-minus":
        base = f"1-{base}"
    if unit and (metric.startswith("psnr") or metric.startswith("ms-ssim-db") or (ms_ssim_db and is_ms_ssim(metric))):
        base += " [dB]"
    return base
