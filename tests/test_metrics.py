"""PSNR, MS-SSIM and NLPD on real Kodak images: identities, monotonicity, reference formulas, small images."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from rdbench.images import load_rgb8
from rdbench.metrics import metrics
from rdbench.metrics.common import ImageTooSmallError
from rdbench.metrics.msssim import WEIGHTS, ReducedScalesWarning, ms_ssim_rgb, scales_for
from rdbench.metrics.nlpd import nlpd
from rdbench.metrics.psnr import PSNR_CAP_DB, psnr_from_mse, psnr_rgb, psnr_y
from helpers import as_tensor, jpeg

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CHEAP = ("psnr-rgb", "psnr-y", "ms-ssim-rgb", "nlpd")


@pytest.fixture(scope="module")
def kodak(kodim):
    return {n: load_rgb8(kodim(n))[0] for n in (3, 13, 23)}


def test_registry_has_every_metric_with_its_direction():
    expected = {"psnr-rgb": True, "psnr-y": True, "ms-ssim-rgb": True, "nlpd": False, "lpips": False, "dists": False}
    assert set(expected) <= set(metrics.names())
    for name, higher in expected.items():
        m = metrics.get(name)
        assert m.name == name and m.higher_is_better is higher
        assert m.bd_transform == ("identity" if higher else "one-minus")


@pytest.mark.parametrize("name", CHEAP)
def test_identical_images_give_the_identity_value(name, kodak):
    identity = {"psnr-rgb": PSNR_CAP_DB, "psnr-y": PSNR_CAP_DB, "ms-ssim-rgb": 1.0, "nlpd": 0.0}[name]
    value = metrics.get(name)(kodak[23], kodak[23].copy())
    assert value == pytest.approx(identity, abs=1e-12)


@pytest.mark.parametrize("name", CHEAP)
def test_quality_falls_with_jpeg_quality_on_kodak(name, kodak):
    m = metrics.get(name)
    for n in (3, 13):
        values = [m(kodak[n], jpeg(kodak[n], q)) for q in (95, 75, 50, 25, 10)]
        quality = values if m.higher_is_better else [-v for v in values]
        assert all(a > b for a, b in zip(quality, quality[1:])), (n, values)


# ------------------------------------------------------------------------------------------ PSNR


def test_psnr_rgb_matches_the_closed_form_for_a_known_mse(kodak):
    ref = kodak[3]
    dist = ref.copy()
    flat = dist.reshape(-1)
    idx = np.flatnonzero(flat < 255)[::97][:5000]  # exactly 5000 samples raised by one code value
    flat[idx] += 1
    mse = 5000 / ref.size
    assert psnr_rgb(ref, dist) == pytest.approx(10 * np.log10(255**2 / mse), abs=1e-9)


def test_psnr_rgb_agrees_with_piq_on_jpeg(kodak):
    import piq

    ref = kodak[13]
    for q in (90, 40):
        dist = jpeg(ref, q)
        assert psnr_rgb(ref, dist) == pytest.approx(piq.psnr(as_tensor(ref), as_tensor(dist)).item(), abs=2e-3)


def test_psnr_y_is_bt709_luma_and_ignores_luma_preserving_changes():
    grey = np.full((32, 48, 3), 100, np.uint8)
    assert psnr_y(grey, grey + 1) == pytest.approx(10 * np.log10(255.0**2), abs=1e-9)  # Y moves by exactly 1
    rgb = np.random.default_rng(1).integers(0, 255, (32, 48, 3), dtype=np.uint8)
    other = rgb.copy()
    other[..., 0] += 1  # R + 1 moves Y' by Kr = 0.2126 (BT.709), not 0.299 (BT.601)
    assert psnr_y(rgb, other) == pytest.approx(10 * np.log10(255.0**2 / 0.2126**2), abs=1e-9)


def test_psnr_cap_is_finite_and_monotonic():
    assert psnr_from_mse(0.0) == PSNR_CAP_DB
    assert psnr_from_mse(1e-12) == PSNR_CAP_DB
    assert psnr_from_mse(1.0) == pytest.approx(48.1308036, abs=1e-6)
    with pytest.raises(ValueError, match="MSE"):
        psnr_from_mse(float("nan"))


# --------------------------------------------------------------------------------------- MS-SSIM


def test_ms_ssim_agrees_with_piq_on_kodak(kodak):
    import piq

    for n in (3, 23):
        for q in (80, 20):
            dist = jpeg(kodak[n], q)
            ours = ms_ssim_rgb(kodak[n], dist)
            theirs = piq.multi_scale_ssim(as_tensor(kodak[n]), as_tensor(dist), data_range=1.0).item()
            assert abs(ours - theirs) < 1e-4, (n, q, ours, theirs)


def test_ms_ssim_agrees_with_compressai_pytorch_msssim(kodak):
    pytorch_msssim = pytest.importorskip("pytorch_msssim")
    dist = jpeg(kodak[13], 30)
    theirs = pytorch_msssim.ms_ssim(as_tensor(kodak[13]), as_tensor(dist), data_range=1.0).item()
    assert ms_ssim_rgb(kodak[13], dist) == pytest.approx(theirs, abs=1e-4)


def test_ms_ssim_odd_sizes_follow_piq(kodak):
    import piq

    ref = np.ascontiguousarray(kodak[23][:201, :333])
    dist = jpeg(ref, 30)
    theirs = piq.multi_scale_ssim(as_tensor(ref), as_tensor(dist), data_range=1.0).item()
    assert abs(ms_ssim_rgb(ref, dist) - theirs) < 1e-4


def test_scales_for_small_images():
    assert scales_for(512, 768) == 5 and scales_for(161, 4000) == 5
    assert scales_for(160, 161) == 4 and scales_for(81, 81) == 4 and scales_for(80, 80) == 3
    assert scales_for(11, 11) == 1 and scales_for(10, 500) == 0


def test_small_images_use_fewer_scales_with_renormalised_weights(kodak):
    import piq

    ref = np.ascontiguousarray(kodak[3][:100, :131])
    dist = jpeg(ref, 25)
    with pytest.warns(ReducedScalesWarning, match="4 of 5 scales"):
        ours = ms_ssim_rgb(ref, dist)
    weights = torch.tensor(WEIGHTS[:4])  # piq renormalises custom weights to sum to 1
    theirs = piq.multi_scale_ssim(as_tensor(ref), as_tensor(dist), data_range=1.0, scale_weights=weights).item()
    assert abs(ours - theirs) < 1e-4


def test_full_size_images_do_not_warn(kodak):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ms_ssim_rgb(kodak[3], jpeg(kodak[3], 50))


@pytest.mark.parametrize("size", [(1, 1), (10, 64)])
def test_ms_ssim_refuses_images_below_the_window(size):
    tiny = np.zeros(size + (3,), np.uint8)
    with pytest.raises(ImageTooSmallError, match=r"at least 11 px"):
        ms_ssim_rgb(tiny, tiny)


# ------------------------------------------------------------------------------------------ NLPD


# Laparra et al. 2016 / Ding et al. 2021 parameters, transcribed here independently of nlpd.py.
SIGMAS = (0.0248, 0.0185, 0.0179, 0.0191, 0.0220, 0.2782)
DN_FILTERS = ([[0, 0.1011, 0], [0.1493, 0, 0.1460], [0, 0.1015, 0]],
              [[0, 0.0757, 0], [0.1986, 0, 0.1846], [0, 0.0837, 0]],
              [[0, 0.0477, 0], [0.2138, 0, 0.2243], [0, 0.0467, 0]],
              [[0, 0, 0], [0.2503, 0, 0.2616], [0, 0, 0]],
              [[0, 0, 0], [0.2598, 0, 0.2552], [0, 0, 0]],
              [[0, 0, 0], [0.2215, 0, 0.0717], [0, 0, 0]])


def _reference_nlpd(ref: np.ndarray, dist: np.ndarray) -> float:
    """An independent float64 NumPy transcription of the NLPD that nlpd.py documents."""
    h = np.array([0.05, 0.25, 0.4, 0.25, 0.05])
    lowpass = np.outer(h, h)

    def filt(img, kernel, pad):  # reflect-pad, then 'valid' correlation, per channel (C x H x W)
        p = np.pad(img, ((0, 0), (pad, pad), (pad, pad)), mode="reflect")
        win = np.lib.stride_tricks.sliding_window_view(p, kernel.shape, axis=(1, 2))
        return np.einsum("chwij,ij->chw", win, kernel)

    def upsample2(img):  # bilinear, align_corners=True, m -> 2m on both axes
        for axis in (1, 2):
            m = img.shape[axis]
            src = np.arange(2 * m) * (m - 1) / (2 * m - 1)
            lo = np.floor(src).astype(int)
            hi = np.minimum(lo + 1, m - 1)
            frac = (src - lo).reshape([-1 if a == axis else 1 for a in range(3)])
            img = np.take(img, lo, axis) * (1 - frac) + np.take(img, hi, axis) * frac
        return img

    def pyramid(img):
        j, out = img.transpose(2, 0, 1).astype(np.float64) / 255, []
        for level in range(6):
            low = filt(j, lowpass, 2)[:, ::2, ::2]
            up = filt(upsample2(low), lowpass, 2)[:, : j.shape[1], : j.shape[2]]
            band = j - up
            energy = filt(np.abs(band), np.array(DN_FILTERS[level]), 1)
            out.append(band / (SIGMAS[level] + energy))
            j = low
        return out

    return float(np.mean([np.sqrt(np.mean((a - b) ** 2)) for a, b in zip(pyramid(ref), pyramid(dist))]))


@pytest.mark.parametrize("shape", [(96, 128), (97, 131)])  # even sizes, and odd ones (nearest-resize path)
def test_nlpd_matches_an_independent_numpy_implementation(kodak, shape):
    ref = np.ascontiguousarray(kodak[13][200:200 + shape[0], 300:300 + shape[1]])
    dist = jpeg(ref, 20)
    assert nlpd(ref, dist) == pytest.approx(_reference_nlpd(ref, dist), rel=1e-5)


def test_nlpd_size_limit():
    with pytest.raises(ImageTooSmallError, match="65 px"):
        nlpd(np.zeros((64, 200, 3), np.uint8), np.zeros((64, 200, 3), np.uint8))
    rng = np.random.default_rng(0)
    a, b = (rng.integers(0, 256, (65, 65, 3), dtype=np.uint8) for _ in range(2))
    assert nlpd(a, b) > 0


# ------------------------------------------------------------------------------------------- CLI


def test_cli_metric_prints_the_value_and_lists_metrics(kodak, tmp_path, capsys):
    from rdbench.cli import main
    from rdbench.images import write_png

    ref = np.ascontiguousarray(kodak[23][:128, :160])
    dist = jpeg(ref, 30)
    write_png(tmp_path / "ref.png", ref)
    write_png(tmp_path / "dist.png", dist)
    assert main(["metric", "psnr-rgb", str(tmp_path / "ref.png"), str(tmp_path / "dist.png")]) == 0
    assert float(capsys.readouterr().out) == pytest.approx(psnr_rgb(ref, dist), abs=1e-6)
    assert main(["metric", "--list"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in ("psnr-rgb", "ms-ssim-rgb", "nlpd", "lpips", "dists"))
    assert main(["metric", "psnr-rgb", str(tmp_path / "ref.png"), str(tmp_path / "dist.png"),
                 "--variant", "vgg"]) == 1
    assert "has no variant 'vgg' (variants: none)" in capsys.readouterr().err
