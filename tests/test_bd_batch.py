"""The batched pchip BD of bootstrap resamples (rdbench.bd_batch) against the reference, rdbench.bd.bd."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import rdbench.report.compare as compare_module
from rdbench.bd import BDError, bd
from rdbench.bd_batch import OK, REFERENCE, UNDEFINED, bootstrap, pchip_bd
from rdbench.report.anchored import measured_vs_published
from rdbench.report.compare import BDSettings, compare
from rdbench.report.published import PublishedCurve


def _random_curve(rng, points: int) -> tuple[np.ndarray, np.ndarray]:
    rate = np.sort(rng.uniform(0.03, 2.0, points))
    quality = np.sort(rng.uniform(20.0, 40.0, points))
    return rng.permutation(rate) if rng.random() < 0.2 else rate, quality


@pytest.mark.parametrize("kind", ["rate", "quality"])
def test_pchip_bd_is_the_reference_on_random_curves(kind):
    """Every row the batch computes equals rdbench.bd.bd (the bjontegaard package) to 1e-10; a row it
    calls undefined is one the reference refuses; it never computes a row the reference refuses."""
    rng = np.random.default_rng(0)
    counts = {OK: 0, UNDEFINED: 0, REFERENCE: 0}
    for _ in range(400):
        (ar, aq), (tr, tq) = _random_curve(rng, rng.integers(2, 9)), _random_curve(rng, rng.integers(2, 9))
        min_overlap = float(rng.choice([0.0, 0.3]))
        values, status = pchip_bd(ar[None], aq[None], tr[None], tq[None], kind=kind, min_overlap=min_overlap)
        counts[int(status[0])] += 1
        try:
            reference = bd(ar, aq, tr, tq, kind=kind, min_overlap=min_overlap).value
        except BDError:
            assert status[0] != OK
            continue
        assert status[0] != UNDEFINED
        if status[0] == OK:
            assert values[0] == pytest.approx(reference, rel=1e-10, abs=1e-10)
    assert min(counts.values()) > 20, counts  # every branch was exercised


def test_rows_the_cleaning_would_change_go_to_the_reference():
    rate, quality = np.array([[0.1, 0.2, 0.4, 0.8]]), np.array([[28.0, 31.0, 33.0, 35.0]])
    dominated = np.array([[28.0, 31.0, 30.0, 35.0]])  # the third point is worse than the second
    tie = np.array([[0.1, 0.2, 0.2, 0.8]])
    nonpositive = np.array([[0.0, 0.2, 0.4, 0.8]])
    inf = np.array([[28.0, 31.0, 33.0, np.inf]])
    anchor_r, anchor_q = rate * 1.1, quality - 0.5
    for r, q in ((rate, dominated), (tie, quality), (nonpositive, quality), (rate, inf)):
        _, status = pchip_bd(anchor_r, anchor_q, r, q)
        assert status.tolist() == [REFERENCE]
    values, status = pchip_bd(anchor_r, anchor_q, np.repeat(rate, 3, 0), np.repeat(quality, 3, 0))
    assert status.tolist() == [OK] * 3  # a one-row anchor serves every row
    assert values == pytest.approx([bd(anchor_r[0], anchor_q[0], rate[0], quality[0]).value] * 3, rel=1e-12)


def test_bootstrap_uses_the_reference_when_the_batch_disagrees_on_the_point_estimate():
    rng = np.random.default_rng(1)
    curves = rng.uniform(0.9, 1.1, (4, 5))  # weights -> a test curve scaled per image
    base = np.array([0.1, 0.2, 0.4, 0.8])
    anchor_r, anchor_q = np.array([0.12, 0.25, 0.5, 1.0]), np.array([28.0, 31.0, 33.0, 35.0])
    quality = np.array([28.5, 31.2, 33.4, 35.1])

    def weighted(w):  # one weight vector -> (4,) rates; a matrix of them -> (B, 4)
        return (w @ curves.T) * base

    def reference(w):
        return bd(anchor_r, anchor_q, weighted(w), quality).value

    def batch(weights, offset=0.0):
        values, status = pchip_bd(anchor_r[None], anchor_q[None], weighted(weights), quality[None])
        return values + offset, status

    draws = [np.bincount(rng.integers(0, 5, 5), minlength=5) / 5 for _ in range(30)]
    point = reference(np.full(5, 0.2))
    plain, failed = bootstrap(reference, draws, point)
    assert failed == 0 and plain == [reference(w) for w in draws]
    batched, _ = bootstrap(reference, draws, point, batch)
    assert batched == pytest.approx(plain, rel=1e-10) and batched != plain  # computed, not copied
    with pytest.warns(UserWarning, match="differs from the reference"):
        wrong, _ = bootstrap(reference, draws, point, lambda w: batch(w, offset=1.0))
    assert wrong == plain
    assert bootstrap(reference, [], point, batch) == ([], 0)


def _rd(rng, images: int = 12) -> pd.DataFrame:
    """Two codecs on one dataset; the test codec's curves barely overlap the anchor's on some images."""
    rows = []
    for codec, rate_scale, shift in (("anchor", 1.0, 0.0), ("test", 0.8, 12.0)):
        for k, bpp in enumerate((0.1, 0.2, 0.4, 0.8, 1.2)):
            for i in range(images):
                r = bpp * rate_scale * rng.uniform(0.7, 1.3)
                rows.append({"dataset": "d", "codec": codec, "point": str(k), "image": f"im{i:02d}", "bpp": r,
                             "psnr-rgb": 27 + 4 * np.log2(r / 0.1) + shift * (i % 3 == 0) + rng.normal(0, 0.3)})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("kind", ["rate", "quality"])
def test_compare_interval_is_the_reference_interval(kind, monkeypatch):
    """compare()'s bootstrap interval and failure count with the batch equal those of the reference loop,
    including resamples on which the BD is undefined (min_overlap)."""
    df = _rd(np.random.default_rng(2))
    settings = BDSettings(bootstrap=300, seed=3, min_overlap=0.5 if kind == "rate" else 0.0, small_overlap=0.9)
    batched = compare(df, "anchor", "test", "psnr-rgb", settings, kind=kind)
    monkeypatch.setattr(compare_module, "batchable", lambda s: False)
    reference = compare(df, "anchor", "test", "psnr-rgb", settings, kind=kind)
    assert batched.value == reference.value
    assert batched.ci == pytest.approx(reference.ci, rel=1e-10)
    assert batched.bootstrap_failed == reference.bootstrap_failed
    if kind == "rate":
        assert 0 < reference.bootstrap_failed < 300  # the undefined branch was exercised


def test_published_anchor_interval_is_the_reference_interval(monkeypatch):
    import rdbench.report.anchored as anchored

    df = _rd(np.random.default_rng(4))
    published = PublishedCurve("BPG", "bpg", "published BPG", "test", np.array([0.11, 0.21, 0.45, 0.9, 1.4, 1.3]),
                               {"psnr-rgb": np.array([27.5, 31.0, 35.2, 39.0, 41.5, 41.0])})  # a dominated last point
    settings = BDSettings(bootstrap=200, seed=5)
    batched = measured_vs_published(df, published, "test", "psnr-rgb", settings)
    monkeypatch.setattr(anchored, "batchable", lambda s: False)
    reference = measured_vs_published(df, published, "test", "psnr-rgb", settings)
    assert batched.value == reference.value and batched.ci == pytest.approx(reference.ci, rel=1e-10)
