"""Many pchip BD values at once, for bootstrap intervals.

Every BD value rdbench prints is computed by the ``bjontegaard`` package through :func:`rdbench.bd.bd`.
A percentile interval needs the same BD on each of 1,000 resampled mean curves per cell; through the
package each costs about 1.6 ms, almost all of it in building scipy's ``PchipInterpolator``, so Table I
spent most of its two minutes there. :func:`pchip_bd` computes the BD of B curve pairs at once in numpy
by the same construction:

- the curve is interpolated on the integration axis (quality for BD-rate, log10-rate for BD-quality),
  the other axis being the value;
- scipy's PCHIP derivatives: at an inner knot the weighted harmonic mean of the two neighbouring
  slopes, at an end the three-point estimate, 0 where it is negative;
- the Hermite cubic of each segment (scipy's ``CubicHermiteSpline`` coefficients) and its exact
  integral over the interval both curves cover; BD-rate is ``(10^mean - 1) * 100``.

It takes only rows whose points are strictly increasing in rate and quality together, which
:func:`rdbench.bd.clean_curve` leaves as they are; every other row is marked ``REFERENCE`` and the
caller computes it with :func:`rdbench.bd.bd`. :func:`bootstrap` does that, and first checks the batch
against the reference on the point estimate of the same cell (tests check it on random curves).
"""

from __future__ import annotations

import warnings
from typing import Callable, Sequence

import numpy as np

from rdbench.bd import BDError

OK, UNDEFINED, REFERENCE = 0, 1, 2  # status of a row: a value; BD refused (overlap); needs rdbench.bd.bd
TOLERANCE = 1e-9  # |batch - reference| allowed on the point estimate, relative to max(1, |value|)


def pchip_bd(anchor_rate, anchor_quality, test_rate, test_quality, *, kind: str = "rate",
             min_overlap: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(values, status) of the BD of each row's test curve against its anchor curve, method pchip.

    Arrays are (B, points) with points in any order; an anchor of one row is used for every row.
    ``status`` is OK (a value), UNDEFINED (overlap on the integration axis ``<= min_overlap``: the
    reference raises :class:`rdbench.bd.BDError`) or REFERENCE (the value is NaN: not a row this
    computes, see the module docstring).
    """
    ar, aq, a_ok = _sorted(anchor_rate, anchor_quality)
    tr, tq, t_ok = _sorted(test_rate, test_quality)
    rows = max(len(ar), len(tr))
    (ar, aq), (tr, tq) = ((np.broadcast_to(v, (rows, v.shape[1])) for v in pair) for pair in ((ar, aq), (tr, tq)))
    with np.errstate(all="ignore"):
        if kind == "rate":
            (ax, ay), (tx, ty) = (aq, np.log10(ar)), (tq, np.log10(tr))
        else:
            (ax, ay), (tx, ty) = (np.log10(ar), aq), (np.log10(tr), tq)
        lo, hi = np.maximum(ax[:, 0], tx[:, 0]), np.minimum(ax[:, -1], tx[:, -1])
        union = np.maximum(ax[:, -1], tx[:, -1]) - np.minimum(ax[:, 0], tx[:, 0])
        frac = np.where(union > 0, np.maximum(hi - lo, 0.0) / union, 0.0)
        mean = (_integral(tx, ty, lo, hi) - _integral(ax, ay, lo, hi)) / (hi - lo)
        values = (10.0 ** mean - 1.0) * 100.0 if kind == "rate" else mean
    ok = a_ok & t_ok
    status = np.where(ok & (frac <= min_overlap), UNDEFINED, np.where(ok & np.isfinite(values), OK, REFERENCE))
    return np.where(status == OK, values, np.nan), status


def bootstrap(reference: Callable[[np.ndarray], float], draws: Sequence[np.ndarray], point: float,
              batch: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None) -> tuple[list[float], int]:
    """(values, failed) of the BD at each weight vector of ``draws``, in order, leaving out failures.

    ``reference(w)`` is :func:`rdbench.bd.bd`'s value on the curves weighted by ``w`` (it raises BDError
    where the BD is undefined: counted in ``failed``); ``batch(W)``, where given, is :func:`pchip_bd` on
    the curves weighted by each row of ``W``; ``point`` is the reference's value at equal weights. When
    the batch does not reproduce ``point`` within TOLERANCE, or cannot compute it, every draw goes to
    the reference.
    """
    if not len(draws):
        return [], 0
    weights = np.asarray(draws, dtype=float)
    values, status = np.full(len(weights), np.nan), np.full(len(weights), REFERENCE)
    if batch is not None:
        n = weights.shape[1]
        check, check_status = batch(np.full((1, n), 1.0 / n))
        if check_status[0] == OK and abs(check[0] - point) <= TOLERANCE * max(1.0, abs(point)):
            values, status = batch(weights)
        elif check_status[0] == OK:
            warnings.warn(f"batched pchip BD {check[0]!r} differs from the reference {point!r}; "
                          "the bootstrap uses the reference for every resample")
    samples, failed = [], 0
    for w, value, s in zip(weights, values, status):
        if s == REFERENCE:
            try:
                value, s = reference(w), OK
            except BDError:
                s = UNDEFINED
        if s == UNDEFINED:
            failed += 1
        else:
            samples.append(float(value))
    return samples, failed


def _sorted(rate, quality) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows sorted by rate, and which rows are strictly increasing in both with positive rates."""
    rate, quality = np.atleast_2d(np.asarray(rate, dtype=float)), np.atleast_2d(np.asarray(quality, dtype=float))
    order = np.argsort(rate, axis=1, kind="stable")
    r, q = np.take_along_axis(rate, order, 1), np.take_along_axis(quality, order, 1)
    ok = (np.isfinite(r).all(1) & np.isfinite(q).all(1) & (r[:, 0] > 0)
          & (np.diff(r, axis=1) > 0).all(1) & (np.diff(q, axis=1) > 0).all(1))
    if r.shape[1] < 2:
        ok[:] = False
    return r, q, ok


def _derivatives(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """scipy's PchipInterpolator derivatives at the knots of rows rising in both x and y.

    Every slope is then positive, so of scipy's rules only these apply: at an inner knot the weighted
    harmonic mean of the two slopes beside it; at an end the three-point estimate, 0 where it is
    negative (scipy's other cases need a zero slope or two of opposite sign).
    """
    h = np.diff(x, axis=1)
    m = np.diff(y, axis=1) / h
    if x.shape[1] == 2:
        return np.concatenate((m, m), axis=1)
    w1, w2 = 2 * h[:, 1:] + h[:, :-1], h[:, 1:] + 2 * h[:, :-1]
    inner = 1.0 / ((w1 / m[:, :-1] + w2 / m[:, 1:]) / (w1 + w2))
    first = ((2 * h[:, 0] + h[:, 1]) * m[:, 0] - h[:, 0] * m[:, 1]) / (h[:, 0] + h[:, 1])
    last = ((2 * h[:, -1] + h[:, -2]) * m[:, -1] - h[:, -1] * m[:, -2]) / (h[:, -1] + h[:, -2])
    return np.concatenate((np.maximum(first, 0.0)[:, None], inner, np.maximum(last, 0.0)[:, None]), axis=1)


def _integral(x: np.ndarray, y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Integral from lo to hi (inside each row's knots) of each row's PCHIP interpolant."""
    d = _derivatives(x, y)
    h = np.diff(x, axis=1)
    slope = np.diff(y, axis=1) / h
    t = (d[:, :-1] + d[:, 1:] - 2 * slope) / h
    c = np.stack((t / h, (slope - d[:, :-1]) / h - t, d[:, :-1], y[:, :-1]))  # c0 s^3 + c1 s^2 + c2 s + c3
    whole = np.concatenate((np.zeros((len(x), 1)), np.cumsum(_antiderivative(c, h), axis=1)), axis=1)
    rows = np.arange(len(x))

    def upto(z):
        k = np.clip((x <= z[:, None]).sum(axis=1) - 1, 0, h.shape[1] - 1)
        return whole[rows, k] + _antiderivative(c[:, rows, k], z - x[rows, k])

    return upto(hi) - upto(lo)


def _antiderivative(c: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Integral from 0 to s (the offset from a segment's first knot) of that segment's cubic."""
    return (((c[0] / 4 * s + c[1] / 3) * s + c[2] / 2) * s + c[3]) * s
