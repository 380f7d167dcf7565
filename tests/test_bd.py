"""Bjøntegaard delta: properties, agreement with the bjontegaard package and VCEG-M33, cleaning, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.interpolate import PchipInterpolator

import bjontegaard
from rdbench.bd import (METHODS, BDError, bd, bd_quality, bd_rate, clean_curve, clip_rate, metric_transform,
                        quality_label, quality_transform)

# The example curves of the bjontegaard package (its README and example_usage.py): x265 presets, kbps / dB.
EXAMPLES = {
    "test1": ([9487.76, 4593.60, 2486.44, 1358.24], [40.037, 38.615, 36.845, 34.851],
              [9787.80, 4469.00, 2451.52, 1356.24], [40.121, 38.651, 36.970, 34.987]),
    "test2-high-rates": ([82472.76, 26875.24, 9487.76, 4593.6], [43.825, 41.404, 40.037, 38.615],
                         [99896.96, 33952.04, 9787.8, 4469.0], [44.731, 41.875, 40.121, 38.651]),
    "test3-six-points": ([82472.76, 26875.24, 9487.76, 4593.6, 3600, 2900],
                         [43.825, 41.404, 40.037, 38.615, 36.5, 35.1],
                         [99896.96, 33952.04, 9787.8, 4469.0, 4040, 3300], [44.731, 41.875, 40.121, 38.651, 37, 36.5]),
}
# What bjontegaard 1.3.0 computes for them (BD-rate %, BD-PSNR dB); pinned so an upgrade that changes
# the numbers is noticed.
BJONTEGAARD_1_3_0 = {
    ("test1", "cubic"): (-4.420462706125383, 0.12040941911451103),
    ("test1", "pchip"): (-4.417485350589045, 0.11969278542479489),
    ("test1", "akima"): (-4.425245156997493, 0.11940927028529469),
    ("test2-high-rates", "cubic"): (-4.699437548068142, 0.09540440289143115),
    ("test2-high-rates", "pchip"): (-4.47218200276197, 0.08887484704747745),
    ("test2-high-rates", "akima"): (-4.0857609404152395, 0.08990284924945707),
    ("test3-six-points", "cubic"): (-0.6392886208794191, 0.10358085154995482),
    ("test3-six-points", "pchip"): (-2.9528024116427964, 0.08953590194998828),
    ("test3-six-points", "akima"): (-2.52692018696532, 0.050889305024889205),
}
# A real-looking anchor: BPG's published Kodak curve (CompressAI bpg_444_x265_ycbcr.json, q = 47..22).
BPP = np.array([0.068, 0.161, 0.352, 0.685, 1.200, 1.930])
PSNR = np.array([26.20, 28.68, 31.59, 34.86, 38.26, 41.48])


@pytest.mark.parametrize("method", METHODS)
def test_identical_curves_give_zero(method):
    assert bd_rate(BPP, PSNR, BPP, PSNR, method) == pytest.approx(0.0, abs=1e-9)
    assert bd_quality(BPP, PSNR, BPP, PSNR, method) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("factor,expected", [(0.5, -50.0), (0.9, -10.0), (2.0, 100.0)])
def test_scaling_every_test_rate(method, factor, expected):
    result = bd(BPP, PSNR, BPP * factor, PSNR, method=method)
    assert result.value == pytest.approx(expected, abs=1e-6)
    assert result.overlap == pytest.approx(1.0) and result.method == method and result.kind == "rate"


@pytest.mark.parametrize("method", METHODS)
def test_bd_quality_of_a_shifted_curve(method):
    assert bd_quality(BPP, PSNR, BPP, PSNR + 1.25, method) == pytest.approx(1.25, abs=1e-9)


@pytest.mark.parametrize("case,method", sorted(BJONTEGAARD_1_3_0))
def test_bjontegaard_example_curves(case, method):
    ra, qa, rt, qt = EXAMPLES[case]
    expected_rate, expected_psnr = BJONTEGAARD_1_3_0[(case, method)]
    assert bd_rate(ra, qa, rt, qt, method) == pytest.approx(expected_rate, rel=1e-9)
    assert bd_quality(ra, qa, rt, qt, method) == pytest.approx(expected_psnr, rel=1e-9)
    assert bd_rate(ra, qa, rt, qt, method) == pytest.approx(bjontegaard.bd_rate(ra, qa, rt, qt, method), rel=1e-12)


def _vceg_m33_bd_rate(ra, qa, rt, qt):
    """Bjøntegaard's VCEG-M33 formula, written out: cubic fit of ln(rate) over PSNR, integrated."""
    pa, pt = np.polyfit(qa, np.log(ra), 3), np.polyfit(qt, np.log(rt), 3)
    lo, hi = max(min(qa), min(qt)), min(max(qa), max(qt))
    ia, it = np.polyint(pa), np.polyint(pt)
    avg = ((np.polyval(it, hi) - np.polyval(it, lo)) - (np.polyval(ia, hi) - np.polyval(ia, lo))) / (hi - lo)
    return (np.exp(avg) - 1) * 100


def _pchip_bd_rate(ra, qa, rt, qt):
    lo, hi = max(min(qa), min(qt)), min(max(qa), max(qt))
    fa = PchipInterpolator(*zip(*sorted(zip(qa, np.log10(ra)))))
    ft = PchipInterpolator(*zip(*sorted(zip(qt, np.log10(rt)))))
    return (10 ** ((ft.integrate(lo, hi) - fa.integrate(lo, hi)) / (hi - lo)) - 1) * 100


@pytest.mark.parametrize("case", sorted(EXAMPLES))
def test_agrees_with_independent_formulas(case):
    args = EXAMPLES[case]
    assert bd_rate(*args, method="cubic") == pytest.approx(_vceg_m33_bd_rate(*args), rel=1e-7)
    assert bd_rate(*args, method="pchip") == pytest.approx(_pchip_bd_rate(*args), rel=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_unsorted_input_gives_the_sorted_result(method):
    ra, qa, rt, qt = map(np.asarray, EXAMPLES["test3-six-points"])
    expected = bd_rate(ra, qa, rt, qt, method)
    rng = np.random.default_rng(0)
    for _ in range(5):
        pa, pt = rng.permutation(len(ra)), rng.permutation(len(rt))
        assert bd_rate(ra[pa], qa[pa], rt[pt], qt[pt], method) == pytest.approx(expected, rel=1e-12)


def test_duplicates_and_dominated_points_are_dropped_and_reported():
    ra, qa, rt, qt = map(list, EXAMPLES["test1"])
    clean = bd(ra, qa, rt, qt)
    # a repeated point, a point with the same rate and lower quality, one costing more for less quality
    messy = bd(ra, qa, rt + [rt[1], rt[1], rt[0] * 1.1], qt + [qt[1], qt[1] - 0.5, qt[0] - 0.01])
    assert messy.value == pytest.approx(clean.value, rel=1e-12)
    assert clean.notes == () and any("3 dominated" in n for n in messy.notes)
    curve = clean_curve([1, 2, 2, 3, 4, 0.5, np.nan], [30, 32, 33, 31, 35, 29, 40])
    assert curve.rate.tolist() == [0.5, 1, 2, 4] and curve.quality.tolist() == [29, 30, 33, 35]
    assert (curve.dropped_nonfinite, curve.dropped_dominated) == (1, 2)


def test_non_finite_points_are_dropped():
    result = bd(BPP, PSNR, np.append(BPP, 3.0), np.append(PSNR, np.inf), method="pchip")
    assert result.value == pytest.approx(0.0, abs=1e-9) and "1 non-finite" in result.notes[0]


def test_one_test_point_is_an_error():
    for method in METHODS:
        with pytest.raises(BDError, match=r"test curve 'test' has 1 usable point.*needs at least"):
            bd_rate(BPP, PSNR, BPP[2:3], PSNR[2:3], method)


def test_cubic_needs_four_points_and_says_what_to_do():
    with pytest.raises(BDError, match=r"needs at least 4.*method='pchip' or 'akima'"):
        bd_rate(BPP, PSNR, BPP[:3] * 0.5, PSNR[:3], "cubic")
    assert bd_rate(BPP[:3], PSNR[:3], BPP[:3] * 0.5, PSNR[:3], "pchip") == pytest.approx(-50.0)
    assert bd_rate(BPP[:2], PSNR[:2], BPP[:2] * 0.5, PSNR[:2], "akima") == pytest.approx(-50.0)


def test_disjoint_curves_are_an_error_never_a_number():
    with pytest.raises(BDError, match=r"BD-rate is undefined: the curves do not overlap.*min_overlap"):
        bd(BPP, PSNR, BPP, PSNR + 20)
    with pytest.raises(BDError, match=r"BD-quality is undefined"):
        bd(BPP, PSNR, BPP * 100, PSNR, kind="quality")
    # touching at a single quality value is no overlap either
    with pytest.raises(BDError, match="do not overlap"):
        bd(BPP, PSNR, BPP, PSNR + (PSNR[-1] - PSNR[0]))


def test_partial_overlap_is_reported_and_min_overlap_enforced():
    shift = 5.0  # test covers 31.2 .. 46.48, anchor 26.2 .. 41.48: common 10.28 of 20.28
    result = bd(BPP, PSNR, BPP, PSNR + shift)
    assert result.overlap == pytest.approx((PSNR[-1] - PSNR[0] - shift) / (PSNR[-1] - PSNR[0] + shift))
    assert result.interval == pytest.approx((PSNR[0] + shift, PSNR[-1]))
    share = (PSNR[-1] - PSNR[0] - shift) / (PSNR[-1] - PSNR[0])
    assert result.shares == pytest.approx((share, share))  # both curves span the same 15.28 dB
    assert result.rate_interval == pytest.approx((BPP[0], BPP[-1]))
    narrow = bd(BPP, PSNR, BPP[2:4], PSNR[2:4] + 0.5, method="pchip")  # inside the anchor's range
    assert narrow.shares[1] == pytest.approx(1.0) and narrow.shares[0] < 0.25
    assert result.value < 0  # more quality at every rate: fewer bits for the same quality
    with pytest.raises(BDError, match=r"overlap only 50\.69%.*above min_overlap=0.75.*lower min_overlap"):
        bd(BPP, PSNR, BPP, PSNR + shift, min_overlap=0.75)


def test_bad_settings_and_values_name_the_fix():
    with pytest.raises(BDError, match=r"method='spline' is not one of 'pchip', 'cubic', 'akima'"):
        bd_rate(BPP, PSNR, BPP, PSNR, "spline")
    with pytest.raises(BDError, match=r"rates must be > 0"):
        bd_rate(BPP - 0.1, PSNR, BPP, PSNR)
    with pytest.raises(BDError, match=r"6 rates but 5 quality values"):
        bd_rate(BPP, PSNR[:5], BPP, PSNR)


def test_quality_transforms():
    assert metric_transform("psnr-rgb") == "identity" and metric_transform("ms-ssim-rgb") == "identity"
    for name in ("nlpd", "lpips-vgg", "lpips-alex", "dists"):
        assert metric_transform(name) == "one-minus"
    np.testing.assert_allclose(quality_transform("lpips-vgg", [0.3, 0.25]), [0.7, 0.75])
    np.testing.assert_allclose(quality_transform("ms-ssim-rgb", [0.9, 0.99], ms_ssim_db=True), [10.0, 20.0])
    np.testing.assert_allclose(quality_transform("ms-ssim-rgb", [0.9, 0.99]), [0.9, 0.99])
    np.testing.assert_allclose(quality_transform("psnr-rgb", [30.0], ms_ssim_db=True), [30.0])
    assert quality_label("lpips-vgg") == "1-LPIPS" and quality_label("nlpd", unit=False) == "1-NLPD"
    assert quality_label("ms-ssim-rgb", ms_ssim_db=True) == "MS-SSIM [dB]"
    with pytest.raises(BDError, match=r"metric 'sharpness' is not registered.*transform='identity'"):
        metric_transform("sharpness")


def test_lower_is_better_metric_through_the_transform():
    lpips = np.array([0.52, 0.41, 0.30, 0.21, 0.14, 0.09])  # falls as the rate rises
    q = quality_transform("lpips-vgg", lpips)
    assert bd_rate(BPP, q, BPP * 0.5, q) == pytest.approx(-50.0)
    # on the raw, falling values every point but the first would be "dominated": the transform matters
    with pytest.raises(BDError, match="1 usable point"):
        bd_rate(BPP, lpips, BPP * 0.5, lpips)


def test_every_method_on_every_permutation_of_a_small_curve():
    qa = PSNR[:4]
    for perm in itertools.permutations(range(4)):
        p = list(perm)
        for method in METHODS:
            assert bd_rate(BPP[:4][p], qa[p], BPP[:4][p] * 0.9, qa[p], method) == pytest.approx(-10.0)


# --- rate range -------------------------------------------------------------------------------------

def test_clipping_to_a_rate_range_interpolates_the_ends():
    curve = clean_curve(BPP, PSNR)
    clipped = clip_rate(curve, 0.1, 1.0)
    assert clipped.rate.tolist() == [0.1, *BPP[(BPP > 0.1) & (BPP < 1.0)], 1.0]
    f = PchipInterpolator(np.log10(BPP), PSNR)
    assert clipped.quality[[0, -1]] == pytest.approx(f(np.log10([0.1, 1.0])))
    assert clip_rate(curve, 0.01, 5.0).rate.tolist() == BPP.tolist()  # a range wider than the curve: unchanged
    with pytest.raises(BDError, match=r"outside rate_range \[3, 4\]: widen rate_range"):
        clip_rate(curve, 3.0, 4.0)
    with pytest.raises(BDError, match=r"rate_range must be \[lo, hi\] bpp with 0 < lo < hi"):
        clip_rate(curve, 0.5, 0.2)


@pytest.mark.parametrize("method", ["pchip", "akima"])
def test_rate_range_restricts_the_bd_to_it(method):
    # the test codec saves 50 % below 0.4 bpp and nothing above: "at low bitrates" it is -50 %
    test_rate = np.where(BPP < 0.4, BPP * 0.5, BPP)
    low = bd(BPP, PSNR, test_rate, PSNR, kind="quality", method=method, rate_range=(0.07, 0.3))
    full = bd(BPP, PSNR, test_rate, PSNR, kind="quality", method=method)
    assert low.value > full.value > 0 and low.rate_interval == pytest.approx((0.07, 0.3))
    scaled = bd(BPP, PSNR, BPP * 0.9, PSNR, method=method, rate_range=(0.1, 1.0))
    assert scaled.value == pytest.approx(-10.0, abs=0.05)  # the clipped ends lie on the same interpolant

